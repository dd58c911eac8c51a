#!/usr/bin/env bash
# Bounded fuzzing for CI: every fuzz target of the repository runs for a short,
# fixed time (FUZZTIME each, default 15s: four targets and their builds stay within about 90 s), in
# its own module with GOWORK=off. Plain `go test` already runs each target's
# checked-in corpus (testdata/fuzz); this explores beyond it. A failure leaves
# the failing input under testdata/fuzz/<Target>/: fix the bug and commit the
# input as a corpus entry.
#
#   bash tools/ci/fuzz.sh              # all targets
#   FUZZTIME=2m bash tools/ci/fuzz.sh  # longer, by hand
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
fuzztime="${FUZZTIME:-15s}"

# module  package  target
targets=(
	"core . FuzzMerge"
	"core . FuzzCoordinatorInbound"
	"std . FuzzDecode"
	"std . FuzzOpen"
)

for t in "${targets[@]}"; do
	read -r module pkg target <<<"$t"
	echo "== fuzz $module/$pkg $target for $fuzztime"
	(cd "$module" && GOWORK=off go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg")
done
