#!/usr/bin/env bash
# Bounded fault exploration for CI: the fault explorer (core/sim's Explore,
# run by hearsay-sim -scenario explore) plays a fixed range of seeds at 20 and
# at 30 nodes; any invariant violated fails the job. Each failing seed is
# printed with its violations, its fault schedule and the command that replays
# it; the first one is also shrunk to a minimal schedule with its own replay
# command (-keep). The seeds are fixed, so a new failure comes from a change.
#
#   bash tools/ci/explore.sh                           # the CI range
#   SEEDS20=10000 SEEDS30=0 bash tools/ci/explore.sh   # longer, by hand
#   FIRST=5001 bash tools/ci/explore.sh                # another range
#
# Cost: about 0.03 s of CPU per seed at 20 nodes and 0.07 s at 30 on one
# core of the CI machine (2 cores), so the default range (600 + 300 seeds)
# is about 40 s of CPU, run two seeds at a time.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
seeds20="${SEEDS20:-600}"
seeds30="${SEEDS30:-300}"
first="${FIRST:-1}"
parallel="${PARALLEL:-2}"

bin="$(mktemp -d)/hearsay-sim"
trap 'rm -rf "$(dirname "$bin")"' EXIT
(cd tools && GOWORK=off go build -o "$bin" ./cmd/hearsay-sim)

status=0
for run in "20 $seeds20" "30 $seeds30"; do
	read -r nodes seeds <<<"$run"
	if [ "$seeds" -gt 0 ]; then
		echo "== explore: $seeds seeds from $first at $nodes nodes"
		"$bin" -scenario explore -nodes "$nodes" -seeds "$seeds" -seed "$first" -parallel "$parallel" -shrink 1 || status=1
	fi
done
exit "$status"
