package main

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingRelay forwards every datagram sent to its address on to a
// target, and keeps a copy of those from one source: an agent advertises
// the relay's address, and the relay sees what is sent to that agent, as
// an attacker on the path would.
type recordingRelay struct {
	conn *net.UDPConn
	done chan struct{}

	mu       sync.Mutex
	target   netip.AddrPort
	source   netip.AddrPort
	captured [][]byte
}

func newRecordingRelay(t *testing.T) *recordingRelay {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &recordingRelay{conn: conn, done: make(chan struct{})}
	go r.run()
	t.Cleanup(func() {
		conn.Close()
		<-r.done
	})
	return r
}

func (r *recordingRelay) addr() string { return r.conn.LocalAddr().String() }

func (r *recordingRelay) run() {
	defer close(r.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		r.mu.Lock()
		target := r.target
		if from == r.source {
			r.captured = append(r.captured, append([]byte(nil), buf[:n]...))
		}
		r.mu.Unlock()
		if target.IsValid() {
			_, _ = r.conn.WriteToUDPAddrPort(buf[:n], target)
		}
	}
}

// forward sends what arrives on to target, and keeps what source sends.
func (r *recordingRelay) forward(target, source string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = netip.MustParseAddrPort(target)
	r.source = netip.MustParseAddrPort(source)
}

// take returns what was captured so far and stops capturing.
func (r *recordingRelay) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.captured
	r.captured, r.source = nil, netip.AddrPort{}
	return out
}

// metric reads one unlabelled counter of an agent's /metrics.
func metric(t *testing.T, a *testAgent, name string) uint64 {
	t.Helper()
	_, _, body := get(t, "http://"+a.http, "/metrics")
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("/metrics %s: %v", name, err)
			}
			return uint64(f)
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// TestReplayedPreviousLifeCannotTouchTheRestartedAgent captures, on a
// cluster with a keyring, every sealed datagram agent b sends to agent a
// during its first life, graceful leave included. b is then restarted
// under the same --name at the same address, and joins an agent that never
// knew its first life (as after the first life's tombstone was pruned).
// Replaying the whole capture to that agent must not make b appear to
// leave, nor change its record: the new life is another instance (a fresh
// node ID) that starts above every incarnation of the old one.
func TestReplayedPreviousLifeCannotTouchTheRestartedAgent(t *testing.T) {
	keyring := writeKeyring(t, b64Key(7)+"\n", 0o600)
	relay := newRecordingRelay(t)
	bAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(freeUDPPort(t)))
	common := []string{"--keyring", keyring, "--label", "replay-test"}

	// startA starts an agent named a behind the relay: it advertises the
	// relay's address, which forwards to it, and b sends to it there.
	var aAddr string // where a binds
	startA := func() *testAgent {
		aAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(freeUDPPort(t)))
		relay.forward(aAddr, bAddr)
		return startAgent(t, "a", append([]string{"--bind", aAddr, "--advertise", relay.addr()}, common...)...)
	}
	startB := func() *testAgent {
		return startAgent(t, "b", append([]string{"--bind", bAddr, "--join", relay.addr()}, common...)...)
	}
	bothUp := func(a, b *testAgent) {
		t.Helper()
		for _, v := range []*testAgent{a, b} {
			waitFor(t, v.name+" sees a and b up", 10*time.Second, func() (bool, string) {
				st, body := statuses(t, v)
				return len(st) == 2 && st[relay.addr()] == "up" && st[bAddr] == "up", body
			})
		}
	}

	// b's first life, captured, ends with a graceful leave.
	a := startA()
	b := startB()
	bothUp(a, b)
	old := b.node.LocalNode()
	if code := b.stop(t); code != exitOK {
		t.Fatalf("b's first life exited %d:\n%s", code, b.stderr.String())
	}
	waitFor(t, "a sees b's first life removed", 10*time.Second, func() (bool, string) {
		st, body := statuses(t, a)
		return st[bAddr] == "removed", body + "\nb's log:\n" + b.stderr.String()
	})
	captured := relay.take()
	if code := a.stop(t); code != exitOK {
		t.Fatalf("a exited %d:\n%s", code, a.stderr.String())
	}
	// The first life left at an incarnation one above its start; the
	// second starts above it once that many seconds have passed.
	left := b.node.LocalNode().Incarnation
	waitFor(t, "the clock passes the first life's last incarnation", 10*time.Second, func() (bool, string) {
		return initialIncarnation(time.Now()) > left, fmt.Sprintf("first life left at %d", left)
	})

	// b's second life joins a new a, which never held its first life.
	a = startA()
	b = startB()
	bothUp(a, b)
	now := b.node.LocalNode()
	if now.NodeID == old.NodeID || !instanceIDPattern.MatchString(now.NodeID) {
		t.Fatalf("b's second life has node ID %q, its first %q: want a fresh one", now.NodeID, old.NodeID)
	}
	if now.Incarnation <= left {
		t.Fatalf("b's second life starts at incarnation %d, its first left at %d: want above", now.Incarnation, left)
	}

	// Replay the first life's datagrams straight to a, in order.
	replayer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer replayer.Close()
	to := net.UDPAddrFromAddrPort(netip.MustParseAddrPort(aAddr))
	received := metric(t, a, "hearsay_messages_received_total")
	for _, d := range captured {
		if _, err := replayer.WriteToUDP(d, to); err != nil {
			t.Fatal(err)
		}
	}
	// Once a has read them all and stepped twice more, it has handled them.
	waitFor(t, "a read the replayed datagrams", 10*time.Second, func() (bool, string) {
		got := metric(t, a, "hearsay_messages_received_total")
		return got >= received+uint64(len(captured)), fmt.Sprintf("%d received, want %d more than %d", got, len(captured), received)
	})
	ticks := metric(t, a, "hearsay_ticks_total")
	waitFor(t, "a stepped twice", 10*time.Second, func() (bool, string) {
		got := metric(t, a, "hearsay_ticks_total")
		return got >= ticks+2, fmt.Sprintf("%d ticks", got)
	})

	if len(captured) < 3 {
		t.Fatalf("captured %d datagrams of b's first life; the relay did not see its traffic", len(captured))
	}
	gone := regexp.MustCompile(`msg=member name=b .*authority=` + regexp.QuoteMeta(bAddr) + ` .*to=(removed|leaving|dead|suspect)`)
	logA := a.stderr.String()
	if m := gone.FindString(logA); m != "" {
		t.Errorf("after the replay of %d datagrams of b's first life, a logged %q:\n%s", len(captured), m, logA)
	}
	st, body := statuses(t, a)
	if st[bAddr] != "up" {
		t.Errorf("after the replay, a holds b %q: %s", st[bAddr], body)
	}
	if got := b.node.LocalNode(); got.NodeID != now.NodeID || got.Incarnation != now.Incarnation {
		t.Errorf("after the replay, b is %s at incarnation %d, was %s at %d: the replay reached its record",
			got.NodeID, got.Incarnation, now.NodeID, now.Incarnation)
	}
}

func TestInitialIncarnation(t *testing.T) {
	for _, tt := range []struct {
		at   time.Time
		want uint64
	}{
		{incarnationEpoch.Add(-time.Hour), 1},
		{incarnationEpoch, 1},
		{incarnationEpoch.Add(1500 * time.Millisecond), 1},
		{incarnationEpoch.Add(2 * time.Second), 2},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 218246400},
	} {
		if got := initialIncarnation(tt.at); got != tt.want {
			t.Errorf("initialIncarnation(%v) = %d, want %d", tt.at, got, tt.want)
		}
	}
}
