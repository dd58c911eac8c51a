#!/usr/bin/env bash
# Multi-host test of the hearsay agent on a real (virtual) network.
#
# Five network namespaces (hs-n1..hs-n5, 198.18.0.1-5/24) and an observer
# (hs-obs, 198.18.0.250) are joined by a bridge that lives in its own
# namespace (hs-br), so nothing touches the host's interfaces. One agent runs
# in each node namespace; every check reads the agents' HTTP API from the
# observer with hscheck. Checks, in order:
#   1. every agent answers /healthz;
#   2. all five converge: each view shows the five members Up; /metrics
#      and the live page answer;
#   3. a host whose link is cut is marked Dead by the other four;
#   4. the cut host hears nothing, so it accuses no one (its local health
#      rises instead); when its link is restored it rejoins and all five
#      are Up;
#   5. an agent killed with SIGKILL is marked Dead by the others; restarted
#      with the same --name at the same address (a new instance: fresh node
#      ID, first incarnation from the clock), it is Up in every view;
#   6. an agent sent SIGTERM exits 0 and is Removed in the others' views.
#
# Requires root and `ip netns`; without them it says so and fails. Every wait
# is bounded (HS_WAIT seconds, 60 by default); a trap removes the namespaces
# and processes however the script ends. Addresses: 198.18.0.0/24 only.
#
# Usage: bash tools/netns/multihost.sh   (from anywhere; run by tools/ci/extra.sh)
# Env: HS_PRESET (lan by default), HS_WAIT (60).
set -uo pipefail

cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"

PRESET="${HS_PRESET:-lan}"
WAIT="${HS_WAIT:-60}"
N=5
NET=198.18.0
OBS_IP=$NET.250
GOSSIP_PORT=7946
HTTP_PORT=8946
NODES=(hs-n1 hs-n2 hs-n3 hs-n4 hs-n5)
ALL_NS=(hs-br hs-obs "${NODES[@]}")

say() { printf '[multihost %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "FAIL: $*"; exit 1; }

# --- preconditions -----------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	die "must run as root to create network namespaces (running as uid $(id -u)); the multi-host test did NOT run"
fi
need_install=()
command -v ip >/dev/null 2>&1 || need_install+=(iproute2)
command -v curl >/dev/null 2>&1 || need_install+=(curl)
if [ ${#need_install[@]} -gt 0 ]; then
	say "installing ${need_install[*]}"
	export DEBIAN_FRONTEND=noninteractive
	(apt-get update -qq && apt-get install -y -qq "${need_install[@]}") >/dev/null ||
		die "could not install ${need_install[*]}"
fi
command -v go >/dev/null 2>&1 || die "go is not on PATH"

# --- cleanup -----------------------------------------------------------------
WORK=$(mktemp -d /tmp/hs-multihost.XXXXXX)
declare -A PID=()

kill_ns_procs() { # $1: namespace; kills what still runs inside it
	local pids
	pids=$(ip netns pids "$1" 2>/dev/null || true)
	if [ -n "$pids" ]; then kill -9 $pids 2>/dev/null || true; fi
}

remove_topology() {
	local ns
	for ns in "${ALL_NS[@]}"; do
		if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$ns"; then
			kill_ns_procs "$ns"
			ip netns del "$ns" 2>/dev/null || true
		fi
	done
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	for p in "${PID[@]}"; do
		{ kill -9 "$p" && wait "$p"; } 2>/dev/null || true
	done
	remove_topology
	if [ "$rc" -ne 0 ] && [ -d "$WORK" ]; then
		for i in $(seq 1 $N); do
			if [ -f "$WORK/n$i.log" ]; then
				say "last lines of agent n$i's log:"
				tail -n 15 "$WORK/n$i.log" | sed 's/^/    /'
			fi
		done
	fi
	rm -rf "$WORK"
	say "cleaned up namespaces ${ALL_NS[*]}"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stale leftovers of an earlier run (only our own names, prefix hs-).
remove_topology

if ! ip netns add hs-br 2>"$WORK/netns.err"; then
	die "ip netns is unavailable here ($(cat "$WORK/netns.err")); the multi-host test did NOT run"
fi

# --- build -------------------------------------------------------------------
say "building the agent and the checker"
(cd tools && GOWORK=off go build -o "$WORK/hearsay" ./cmd/hearsay && GOWORK=off go build -o "$WORK/hscheck" ./netns/hscheck) ||
	die "build failed"

# --- topology ----------------------------------------------------------------
say "creating namespaces ${ALL_NS[*]} on bridge br0 (in hs-br), $NET.0/24"
setup() {
	ip -n hs-br link add br0 type bridge &&
		ip -n hs-br link set br0 up &&
		ip -n hs-br link set lo up || return 1
	local i ns
	attach() { # $1 namespace, $2 bridge-side port name, $3 address
		ip netns add "$1" &&
			ip link add eth0 netns "$1" type veth peer name "$2" netns hs-br &&
			ip -n hs-br link set "$2" master br0 &&
			ip -n hs-br link set "$2" up &&
			ip -n "$1" addr add "$3/24" dev eth0 &&
			ip -n "$1" link set eth0 up &&
			ip -n "$1" link set lo up
	}
	for i in $(seq 1 $N); do
		attach "hs-n$i" "p$i" "$NET.$i" || return 1
	done
	attach hs-obs pobs "$OBS_IP"
}
setup || die "could not create the namespaces"

# Every node can reach every other before the agents start (bounded ping-free
# check: the neighbour table fills on the first datagrams anyway).
ip netns exec hs-obs ip route get "$NET.1" >/dev/null || die "no route from the observer to $NET.1"

# --- agents ------------------------------------------------------------------
gossip() { echo "$NET.$1:$GOSSIP_PORT"; }
httpaddr() { echo "$NET.$1:$HTTP_PORT"; }

start_agent() { # $1 index
	local i=$1 seeds="" j
	for j in 1 2; do
		if [ "$j" != "$i" ]; then seeds="${seeds:+$seeds,}$(gossip "$j")"; fi
	done
	ip netns exec "hs-n$i" "$WORK/hearsay" agent --name "n$i" --bind "$(gossip "$i")" \
		--http "$(httpaddr "$i")" --join "$seeds" --preset "$PRESET" --label hs-multihost \
		>"$WORK/n$i.log" 2>&1 &
	PID[$i]=$!
}

say "starting $N agents (preset $PRESET)"
for i in $(seq 1 $N); do start_agent "$i"; done

FAILED=0
check() { # $1 description, rest: hscheck flags
	local what=$1
	shift
	say "check: $what"
	if ! ip netns exec hs-obs "$WORK/hscheck" -timeout "${WAIT}s" -what "$what" "$@"; then
		FAILED=$((FAILED + 1))
		return 1
	fi
}
views() { # indexes → comma-separated HTTP addresses
	local out="" i
	for i in "$@"; do out="${out:+$out,}$(httpaddr "$i")"; done
	echo "$out"
}
expect_all() { # $1 status, rest: indexes → -expect flags
	local st=$1 i
	shift
	for i in "$@"; do printf -- '-expect\n%s=%s\n' "$(gossip "$i")" "$st"; done
}

# 1. healthz
say "check: every agent answers /healthz (bounded ${WAIT}s)"
for i in $(seq 1 $N); do
	ok=0
	deadline=$((SECONDS + WAIT))
	while [ $SECONDS -lt $deadline ]; do
		if body=$(ip netns exec hs-obs curl -sf --max-time 2 "http://$(httpaddr "$i")/healthz"); then
			ok=1
			break
		fi
		if ! kill -0 "${PID[$i]}" 2>/dev/null; then break; fi
		sleep 0.25
	done
	if [ $ok -eq 1 ]; then
		say "PASS n$i /healthz: $body"
	else
		say "FAIL n$i /healthz did not answer"
		FAILED=$((FAILED + 1))
	fi
done
[ $FAILED -eq 0 ] || die "agents did not start"

# 2. converge
mapfile -t up_all < <(expect_all up 1 2 3 4 5)
check "all five converge: every view shows n1..n5 up" -views "$(views 1 2 3 4 5)" -count 5 "${up_all[@]}" ||
	die "the cluster did not converge; later checks depend on it"

say "check: /metrics and the live page of n1"
metrics=$(ip netns exec hs-obs curl -sf --max-time 5 "http://$(httpaddr 1)/metrics" || true)
if grep -qx 'hearsay_members{status="up"} 5' <<<"$metrics" && grep -q '^hearsay_messages_sent_total [1-9]' <<<"$metrics"; then
	say "PASS /metrics: $(grep -E '^hearsay_(members\{status="up"\}|messages_sent_total|messages_received_total|bytes_sent_total) ' <<<"$metrics" | tr '\n' ' ')"
else
	say "FAIL /metrics lacks hearsay_members{status=\"up\"} 5 or sent messages"
	FAILED=$((FAILED + 1))
fi
page=$(ip netns exec hs-obs curl -sf --max-time 5 "http://$(httpaddr 1)/" || true)
if grep -q "<title>hearsay cluster</title>" <<<"$page"; then
	say "PASS live page / is served"
else
	say "FAIL live page / is not served"
	FAILED=$((FAILED + 1))
fi

# 3. cut n3's link
say "cutting n3's link (p3 down on the bridge)"
ip -n hs-br link set p3 down
mapfile -t others_up < <(expect_all up 1 2 4 5)
check "n3 is marked dead by n1, n2, n4, n5 after its link is cut" -views "$(views 1 2 4 5)" \
	-expect "$(gossip 3)=dead" "${others_up[@]}"
say "check (inside hs-n3): n3, cut off, hears nothing and accuses no one; its local health shows the fault"
# A node that hears nothing cannot tell its own isolation from the death of
# everyone else, so it suspects no one (Lifeguard); its local-health score
# rises instead. Wait for the score, then check the view and the counter.
health=""
for _ in $(seq 1 "$WAIT"); do
	health=$(ip netns exec hs-n3 curl -sf --max-time 2 "http://$(httpaddr 3)/metrics" | awk '$1 == "hearsay_local_health" {print $2}' || true)
	[ -n "$health" ] && [ "$health" != 0 ] && break
	sleep 1 # polling a real process's HTTP API, once a second, up to HS_WAIT
done
raised=$(ip netns exec hs-n3 curl -sf --max-time 2 "http://$(httpaddr 3)/metrics" | awk '$1 == "hearsay_suspicions_raised_total" {print $2}' || true)
if [ -n "$health" ] && [ "$health" != 0 ] && [ "$raised" = 0 ]; then
	say "PASS n3 cut off: local health $health, suspicions raised $raised"
else
	say "FAIL n3 cut off: local health '${health}' (want > 0), suspicions raised '${raised}' (want 0)"
	FAILED=$((FAILED + 1))
fi
mapfile -t n3_sees_up < <(expect_all up 1 2 3 4 5)
if ! ip netns exec hs-n3 "$WORK/hscheck" -timeout 5s -what "n3, cut off, still holds every member up" \
	-views "$(httpaddr 3)" -count 5 "${n3_sees_up[@]}"; then
	FAILED=$((FAILED + 1))
fi

# 4. restore n3's link: partition heal
say "restoring n3's link (p3 up)"
ip -n hs-br link set p3 up
check "after the link is restored n3 rejoins: every view shows n1..n5 up" -views "$(views 1 2 3 4 5)" \
	-count 5 "${up_all[@]}"

# 5. SIGKILL n4
say "killing n4 with SIGKILL (pid ${PID[4]})"
kill -9 "${PID[4]}"
wait "${PID[4]}" 2>/dev/null
unset 'PID[4]'
mapfile -t up_1235 < <(expect_all up 1 2 3 5)
check "n4 (SIGKILL) is marked dead by n1, n2, n3, n5" -views "$(views 1 2 3 5)" \
	-expect "$(gossip 4)=dead" "${up_1235[@]}"

# 5b. restart n4 under the same name: the new process must out-rank its old
# life's tombstone (and quarantine) and be Up everywhere.
say "restarting n4 with the same --name at the same address"
start_agent 4
check "the restarted n4 is up in every view (n1..n5)" -views "$(views 1 2 3 4 5)" \
	-count 5 "${up_all[@]}"

# 6. SIGTERM n5
say "sending SIGTERM to n5 (pid ${PID[5]})"
kill -TERM "${PID[5]}"
rc5=""
deadline=$((SECONDS + WAIT))
while [ $SECONDS -lt $deadline ]; do
	if ! kill -0 "${PID[5]}" 2>/dev/null; then
		wait "${PID[5]}"
		rc5=$?
		break
	fi
	sleep 0.1
done
if [ "$rc5" = "0" ]; then
	say "PASS n5 exited 0 after SIGTERM"
	unset 'PID[5]'
else
	say "FAIL n5 after SIGTERM: exit status '${rc5:-still running after ${WAIT}s}'"
	FAILED=$((FAILED + 1))
fi
mapfile -t up_1234 < <(expect_all up 1 2 3 4)
check "n5 (SIGTERM) is removed in the views of n1, n2, n3, n4" -views "$(views 1 2 3 4)" \
	-expect "$(gossip 5)=removed" "${up_1234[@]}"

say "members table of n1 (hearsay members):"
ip netns exec hs-obs "$WORK/hearsay" members --http "$(httpaddr 1)" | sed 's/^/    /'

if [ $FAILED -ne 0 ]; then
	die "$FAILED check(s) failed"
fi
say "PASS: all multi-host checks passed"
