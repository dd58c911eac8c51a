#!/bin/bash
# side-by-side.sh SECONDS N LABEL=KIND:BIN... compares the idle CPU of agent
# builds under the same machine load: it starts one cluster of N agents per
# LABEL at the same time (KIND hearsay: `BIN agent ... --preset lan`; KIND
# memberlist: tools/cmd/memberlist-agent), each on its own loopback address
# (127.0.0.101, .102, ...; ports 27000+), waits 10 s for them to join, then
# prints each cluster's CPU (utime+stime from /proc) in ms per member per
# minute and its context switches per member per second over SECONDS, and
# stops the agents. hearsay-bench runs the libraries one after the other,
# so the machine's load moves between them; here every build sees the same.
#
#   go build -o /tmp/a ./tools/cmd/hearsay   # at each commit to compare
#   go build -o /tmp/ml ./tools/cmd/memberlist-agent
#   bash tools/cmd/hearsay-bench/side-by-side.sh 60 8 before=hearsay:/tmp/a after=hearsay:/tmp/b ml=memberlist:/tmp/ml
set -u
secs=$1 n=$2
shift 2
logs=$(mktemp -d)
declare -A pids
k=0
for spec in "$@"; do
	label=${spec%%=*} rest=${spec#*=}
	kind=${rest%%:*} bin=${rest#*:}
	k=$((k + 1))
	ip=127.0.0.$((100 + k))
	list=""
	for i in $(seq 0 $((n - 1))); do
		if [ "$kind" = hearsay ]; then
			a=(agent --name "$label-$i" --bind "$ip:$((27000 + i))" --http 127.0.0.1:0 --preset lan)
		else
			a=(--name "$label-$i" --bind "$ip:$((27000 + i))" --http 127.0.0.1:0)
		fi
		[ "$i" -gt 0 ] && a+=(--join "$ip:27000")
		"$bin" "${a[@]}" >/dev/null 2>"$logs/$label-$i.log" &
		list="$list $!"
		[ "$i" -eq 0 ] && sleep 0.3 # the seed binds first
	done
	pids[$label]=$list
done
sleep 10
cpu() { local t=0 p; for p in $1; do set -- $(cut -d' ' -f14,15 "/proc/$p/stat"); t=$((t + $1 + $2)); done; echo $t; }
switches() {
	local p
	for p in $1; do cat /proc/"$p"/task/*/status; done 2>/dev/null |
		awk '/^voluntary_ctxt_switches|^nonvoluntary_ctxt_switches/ { s += $2 } END { print s }'
}
declare -A c0 s0
for l in "${!pids[@]}"; do c0[$l]=$(cpu "${pids[$l]}") s0[$l]=$(switches "${pids[$l]}"); done
t0=$(date +%s.%N)
sleep "$secs"
t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
for l in $(printf '%s\n' "${!pids[@]}" | sort); do
	c1=$(cpu "${pids[$l]}") s1=$(switches "${pids[$l]}")
	awk -v l="$l" -v c="$((c1 - ${c0[$l]}))" -v s="$((s1 - ${s0[$l]}))" -v hz="$hz" -v n="$n" -v w="$(echo "$t1 - $t0" | bc)" \
		'BEGIN { printf "%s %.1f cpu-ms/member/min %.1f ctxsw/member/s\n", l, c / hz * 1000 / n / (w / 60), s / n / w }'
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg); agent logs in $logs"
for l in "${!pids[@]}"; do kill ${pids[$l]}; done
wait 2>/dev/null
