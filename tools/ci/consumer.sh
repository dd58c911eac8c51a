#!/usr/bin/env bash
# The consumer check: hearsay's published modules work for an outside module
# exactly as they will once tagged. It
#
#   1. builds a file-based module proxy from the working tree
#      (tools/release/modproxy: core and std zipped at the versions the
#      repository's go.mod files require, plus the third-party modules std
#      needs, copied from the module cache);
#   2. in a directory outside the repository, with GOWORK=off, that proxy as
#      the only GOPROXY and a module cache of its own, builds and runs two
#      consumers:
#        - member: the Go program of README.md's "## Use it" section, taken
#          from the README as written. It starts a node on 127.0.0.1, is
#          interrupted, leaves gracefully and exits 0;
#        - transport: examples/custom-transport/main.go, a custom transport
#          that imports core alone. Its go.sum must list no module but core.
#
# Our modules are not published, so GONOSUMDB keeps their checksums from
# being looked up in the checksum database. The third-party ones are checked
# against std/go.sum, which seeds the member's go.sum (the same hashes a
# user gets from sum.golang.org): nothing is looked up on the network.
#
#   bash tools/ci/consumer.sh        # from anywhere; run by .ci/run
# Env: KEEP=1 keeps the scratch directory and says where it is.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
export PATH="$PATH:/usr/local/go/bin"

scratch=$(mktemp -d /tmp/hearsay-consumer.XXXXXX)
member_pid=
cleanup() {
	if [ -n "$member_pid" ]; then kill "$member_pid" 2>/dev/null || true; fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "consumer: scratch kept in $scratch"
	else
		chmod -R u+w "$scratch" 2>/dev/null || true # the module cache is read-only
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT
fail() { echo "consumer: FAIL: $*" >&2; exit 1; }

echo "consumer: building the module proxy"
go run ./tools/release/modproxy -out "$scratch/proxy" >"$scratch/published"
cat "$scratch/published"
core_path=github.com/hearsay-go/hearsay/core
std_path=github.com/hearsay-go/hearsay/std
core_version=$(awk -v p="$core_path" '$1 == p { print $2 }' "$scratch/published")
std_version=$(awk -v p="$std_path" '$1 == p { print $2 }' "$scratch/published")
[ -n "$core_version" ] && [ -n "$std_version" ] || fail "the proxy does not serve both core and std"

# The README's program: the first Go block under "## Use it".
awk '
	/^## / { in_section = ($0 == "## Use it") }
	in_section && !done && /^```go$/ { in_block = 1; next }
	in_block && /^```$/ { in_block = 0; done = 1 }
	in_block { print }
' README.md >"$scratch/member.go"
[ -s "$scratch/member.go" ] || fail 'README.md has no ```go block under "## Use it"'
unformatted=$(gofmt -l "$scratch/member.go")
[ -z "$unformatted" ] || fail "README.md's program is not gofmt-formatted:$(echo; gofmt -d "$scratch/member.go")"
cp examples/custom-transport/main.go "$scratch/transport.go"

export GOWORK=off GOFLAGS="-mod=mod -trimpath" GOTOOLCHAIN=local
export GOPROXY="file://$scratch/proxy" GONOSUMDB=github.com/hearsay-go/hearsay
export GOMODCACHE="$scratch/modcache" # never the shared cache: versions are reused with new contents
export GOPATH="$scratch/gopath"

echo "consumer: member (README's std program) at $std_path@$std_version"
mkdir "$scratch/member"
cd "$scratch/member"
mv ../member.go main.go
go mod init example.com/member >/dev/null 2>&1
cp "$repo/std/go.sum" go.sum
go get "$std_path@$std_version"
go mod tidy
go build -o member .
grep -q "^	$core_path $core_version // indirect$" go.mod ||
	fail "member's go.mod does not require $core_path $core_version:$(echo; cat go.mod)"

./member 127.0.0.1:0 >out 2>&1 &
member_pid=$!
deadline=$((SECONDS + 30))
until grep -q '^member .* at 127\.0\.0\.1:[0-9]*$' out; do
	kill -0 "$member_pid" 2>/dev/null || fail "member exited before it started:$(echo; cat out)"
	[ $SECONDS -lt $deadline ] || fail "member did not say it started within 30 s:$(echo; cat out)"
	sleep 0.1
done
kill -INT "$member_pid"
rc=0
wait "$member_pid" || rc=$?
member_pid=
cat out
[ "$rc" = 0 ] || fail "member exited $rc after SIGINT"
grep -q '^last view: .* 127\.0\.0\.1:[0-9]* up$' out || fail "member's last view does not show itself up"
[ "$(tail -n 1 out)" = left ] || fail "member did not leave"

echo "consumer: transport (examples/custom-transport, core alone) at $core_path@$core_version"
mkdir "$scratch/transport"
cd "$scratch/transport"
mv ../transport.go main.go
go mod init example.com/transport >/dev/null 2>&1
go get "$core_path@$core_version"
go mod tidy
go build -o transport .
./transport >out || fail "transport exited $?:$(echo; cat out)"
[ -s out ] || fail "transport printed nothing"
others=$(awk -v p="$core_path" '$1 != p { print $1 }' go.sum | sort -u)
[ -z "$others" ] || fail "transport's go.sum lists modules other than core: $others"
grep -q "^$core_path $core_version h1:" go.sum || fail "transport's go.sum lacks $core_path $core_version"
echo "consumer: transport ran ($(wc -l <out) lines); go.sum lists core alone"
echo "consumer: OK"
