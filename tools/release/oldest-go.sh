#!/usr/bin/env bash
# Checks that each module's `go` line is the oldest Go release its code (with
# its tests and its dependencies at the required versions) builds and passes
# its tests with. For each module it
#
#   1. vets and tests the module with exactly the toolchain its go line names
#      (GOTOOLCHAIN=go1.X.Y, GOWORK=off): the line is high enough;
#   2. lowers the go line to the previous minor release (go1.(X-1).0) in a
#      copy of the repository and vets the module with that toolchain: this
#      must fail, and the script prints why (an API or language feature of a
#      newer release, or a dependency whose own go line is newer). If it
#      passes, the go line is higher than the code needs and the script fails.
#
# The go command downloads each toolchain through the module proxy the first
# time (about 70 MB each, then cached). Run it before a release
# (docs/RELEASING.md) and after raising a go line; it is not part of .ci/run
# because of those downloads. `go vet` (run by CI) already fails when code uses
# a standard-library API newer than the go line (its stdversion check), so the
# line cannot silently become too low; this script also finds it too high.
#
#   bash tools/release/oldest-go.sh              # core std examples tools
#   bash tools/release/oldest-go.sh core std     # some of them
#   TESTS=0 bash tools/release/oldest-go.sh      # step 1 vets only (faster)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
export GOWORK=off
unset GOTOOLCHAIN

modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(core std examples tools)
run_tests="${TESTS:-1}"

scratch=$(mktemp -d /tmp/hearsay-oldest-go.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

failed=0
for m in "${modules[@]}"; do
	line=$(awk '$1 == "go" { print $2; exit }' "$m/go.mod")
	if ! [[ "$line" =~ ^1\.([0-9]+)\.([0-9]+)$ ]]; then
		echo "$m: go line '$line' is not of the form 1.N.P"; failed=1; continue
	fi
	minor=${BASH_REMATCH[1]}
	previous="1.$((minor - 1)).0"

	echo "== $m: go $line — vet$([ "$run_tests" = 1 ] && echo ' and tests') with go$line"
	if ! (cd "$m" && GOTOOLCHAIN="go$line" nice go vet ./... &&
		{ [ "$run_tests" != 1 ] || GOTOOLCHAIN="go$line" nice go test -count=1 ./...; }); then
		echo "$m: FAILS with go$line, the release its go line names"; failed=1; continue
	fi

	echo "== $m: with its go line lowered to $previous, go$previous must fail"
	copy="$scratch/$m-$previous"
	mkdir -p "$copy"
	# The whole tree: a module's replace directives point at its siblings.
	tar -C . --exclude=.git -cf - . | tar -C "$copy" -xf -
	(cd "$copy/$m" && sed -i "s/^go .*/go $previous/" go.mod)
	if out=$(cd "$copy/$m" && GOFLAGS=-mod=mod GOTOOLCHAIN="go$previous" nice go vet ./... 2>&1); then
		echo "$m: builds and vets with go$previous: its go line $line is higher than it needs"; failed=1
	else
		echo "$m: needs go $line; go$previous fails:"
		echo "$out" | grep -v '^go: downloading' | head -5 | sed 's/^/    /'
	fi
	rm -rf "$copy"
done
exit "$failed"
