//go:build go1.25

package std

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// alarm collects every Suspect or Dead event any watched node publishes
// about a member in live.
type alarm struct {
	mu   sync.Mutex
	live map[string]bool
	seen []string
	wg   sync.WaitGroup
}

func newAlarm() *alarm { return &alarm{live: map[string]bool{}} }

// watch subscribes to n's events until n closes, and marks n live.
func (a *alarm) watch(n *Node) {
	ch, _ := n.Subscribe() // closed by n.Close
	a.mu.Lock()
	a.live[n.Addr()] = true
	a.mu.Unlock()
	at := n.LocalNode().NodeID
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for e := range ch {
			m := e.Member
			if m == nil || (m.To != core.StatusSuspect && m.To != core.StatusDead) {
				continue
			}
			a.mu.Lock()
			if a.live[m.Record.Authority] {
				a.seen = append(a.seen, fmt.Sprintf("%s saw %s (%s) %s at incarnation %d", at, m.Record.NodeID, m.Record.Authority, m.To, m.Record.Incarnation))
			}
			a.mu.Unlock()
		}
	}()
}

func (a *alarm) events() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

// These tests run clusters in virtual time (testing/synctest) on an
// in-memory network (memnet_test.go), through the real transport: keyrings,
// labels and the inbound queue are the ones UDP nodes use.

// trafficLimit bounds, in virtual time, how long a cluster at the local
// preset takes to exchange a few dozen datagrams per node.
const trafficLimit = 30 * time.Second

// startWatchedCluster starts size nodes of net from cfg (node i gets ID
// prefix+i, seeded with node 0), watched by al, and waits until they
// converge. Call it inside a bubble.
func startWatchedCluster(t *testing.T, net *memNetwork, al *alarm, prefix string, size int, cfg func(i int) Config) []*Node {
	t.Helper()
	var nodes []*Node
	for i := range size {
		c := cfg(i)
		c.Core.NodeID = fmt.Sprintf("%s%d", prefix, i)
		if c.Transport.BindAddr == "" {
			c.Transport.BindAddr = "127.0.0.1:0"
		}
		if i > 0 {
			c.Seeds = append(c.Seeds, nodes[0].Addr())
		}
		n := startMemNode(t, net, c)
		if al != nil {
			al.watch(n)
		}
		nodes = append(nodes, n)
	}
	convergeWithin(t, convergeLimit, nodes)
	return nodes
}

// received returns how many datagrams each node has read so far.
func received(nodes []*Node) []uint64 {
	out := make([]uint64, len(nodes))
	for i, n := range nodes {
		out[i] = n.Stats().Transport.DatagramsReceived
	}
	return out
}

// waitTraffic waits, in virtual time, until every node has read at least k
// more datagrams than it had: the cluster has been talking for a while.
func waitTraffic(t *testing.T, nodes []*Node, k uint64) {
	t.Helper()
	before := received(nodes)
	within(t, trafficLimit, 10*time.Millisecond, func() bool {
		for i, n := range received(nodes) {
			if n < before[i]+k {
				return false
			}
		}
		return true
	}, "the cluster went quiet")
}

// TestLiveKeyRotation rotates the key of a running five-node cluster the
// documented way (install the new key everywhere, make it primary node by
// node, remove the old key everywhere), and checks that no member is ever
// suspected, that no datagram fails authentication on the way, and that the
// old key is refused at the end.
func TestLiveKeyRotation(t *testing.T) {
	inBubble(t, testLiveKeyRotation)
}

func testLiveKeyRotation(t *testing.T) {
	net := newMemNetwork()
	oldKey, newKey := testKey(1), testKey(2)
	al := newAlarm()
	var rings []*Keyring
	nodes := startWatchedCluster(t, net, al, "r", 5, func(int) Config {
		c := localConfig("", "127.0.0.1:0")
		c.Transport.Keyring = mustKeyring(t, oldKey)
		rings = append(rings, c.Transport.Keyring)
		return c
	})
	waitTraffic(t, nodes, 20)

	for _, k := range rings {
		require.NoError(t, k.AddKey(newKey))
	}
	waitTraffic(t, nodes, 20)
	for _, k := range rings { // one node at a time: the cluster is mixed
		require.NoError(t, k.UseKey(newKey))
		waitTraffic(t, nodes, 20)
	}
	for _, k := range rings {
		require.NoError(t, k.RemoveKey(oldKey))
		waitTraffic(t, nodes, 10)
	}
	waitTraffic(t, nodes, 40)

	for i, n := range nodes {
		assert.Equal(t, [][]byte{newKey}, rings[i].Keys())
		s := n.Stats().Transport
		assert.Zero(t, s.DroppedAuth, "%s dropped datagrams during the rotation", n.LocalNode().NodeID)
		for _, o := range nodes {
			assert.Equal(t, core.StatusUp, statusOf(n, o.Addr()))
		}
	}
	assert.Empty(t, al.events(), "members suspected during the rotation")

	// A node still on the old key cannot get in.
	c := localConfig("stale", "127.0.0.1:0", nodes[0].Addr())
	c.Transport.Keyring = mustKeyring(t, oldKey)
	stale := startMemNode(t, net, c)
	within(t, trafficLimit, 10*time.Millisecond, func() bool { return nodes[0].Stats().Transport.DroppedAuth > 0 },
		"the stale node's join was not dropped")
	assert.Equal(t, core.StatusJoining, stale.LocalNode().Status)
	assert.Zero(t, statusOf(nodes[0], stale.Addr()))
}

// TestClustersWithDifferentLabelsNeverMerge runs two clusters on one host,
// each with one node told to join the other cluster too, with and without
// keyrings (even the same key): they stay apart and each counts the other's
// datagrams as foreign.
func TestClustersWithDifferentLabelsNeverMerge(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyring=%v", keyed), func(t *testing.T) { inBubble(t, func(t *testing.T) { testLabels(t, keyed) }) })
	}
}

func testLabels(t *testing.T, keyed bool) {
	net := newMemNetwork()
	cluster := func(label string) func(int) Config {
		return func(int) Config {
			c := localConfig("", "127.0.0.1:0")
			c.Transport.Label = label
			if keyed {
				c.Transport.Keyring = mustKeyring(t, testKey(9)) // the same key: the label still separates
			}
			return c
		}
	}
	blue := startWatchedCluster(t, net, nil, "blue", 3, cluster("blue"))
	green := startWatchedCluster(t, net, nil, "green", 3, cluster("green"))
	// Misconfigured seeds: each side keeps asking the other to join.
	require.NoError(t, blue[1].Join(t.Context(), green[2].Addr()))
	require.NoError(t, green[1].Join(t.Context(), blue[2].Addr()))

	within(t, trafficLimit, 10*time.Millisecond, func() bool {
		return blue[2].Stats().Transport.DroppedWrongLabel > 0 && green[2].Stats().Transport.DroppedWrongLabel > 0
	}, "foreign datagrams not counted: blue %+v, green %+v", blue[2].Stats().Transport, green[2].Stats().Transport)
	waitTraffic(t, append(blue, green...), 20)
	for _, side := range [][]*Node{blue, green} {
		for _, n := range side {
			assert.Len(t, n.Members(), 3, "%s: %s", n.LocalNode().NodeID, views(side))
			assert.Zero(t, n.Stats().Transport.DroppedAuth, "foreign datagrams are counted by label, not as forgeries")
		}
	}
}

// floodDatagrams returns a mix of hostile datagrams for a node of cluster
// label "test": random bytes, and well-formed envelopes with the right label
// whose content is junk (invalid or oversized records, impossible counts,
// messages from made-up senders).
func floodDatagrams(t *testing.T, victim string, rng *rand.Rand) [][]byte {
	var out [][]byte
	for range 64 { // random bytes, some with the right header
		b := make([]byte, 1+rng.IntN(defaultDatagramBytes))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if rng.IntN(2) == 0 && len(b) > 8 {
			copy(b, []byte{'h', 's', wireVersion, 4, 't', 'e', 's', 't'})
		}
		out = append(out, b)
	}
	fake := func() string {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + rng.IntN(200))}), uint16(1+rng.IntN(60000))).String()
	}
	env := func(m core.Message) []byte { return encodeEnvelopeMust(t, "test", m) }
	for range 64 {
		from := fake()
		rec := core.NodeRecord{NodeID: fmt.Sprint("junk", rng.Uint32()), Authority: fake(), Status: core.StatusUp, Incarnation: rng.Uint64()}
		switch rng.IntN(7) {
		case 0: // a record without a node ID: the whole message is refused
			rec.NodeID = ""
			out = append(out, env(core.Message{Kind: core.MessageGossip, From: from, FromID: "x", Entries: []core.NodeRecord{rec}}))
		case 1: // metadata over the limit: refused by the decoder
			rec.Meta = make([]byte, 1000)
			out = append(out, env(core.Message{Kind: core.MessageGossip, From: from, FromID: "x", Entries: []core.NodeRecord{rec}}))
		case 2: // a heartbeat from nobody
			out = append(out, env(core.Message{Kind: core.MessageHeartbeat, From: from, FromID: "x", Seq: rng.Uint64()}))
		case 3: // tombstones of authorities nobody knows
			rec.Status = core.StatusDead
			out = append(out, env(core.Message{Kind: core.MessageGossip, From: from, FromID: "x", Entries: []core.NodeRecord{rec, rec, rec}}))
		case 4: // a digest of an impossible size
			out = append(out, env(core.Message{Kind: core.MessageDigest, From: from, FromID: "x", Digest: make([]uint64, 3)}))
		case 5: // an entry count far beyond the datagram
			b := env(core.Message{Kind: core.MessageGossip, From: from, FromID: "x"})
			b = b[:len(b)-3] // drop entries, digest, want
			b = append(b, 0xdd)
			b = binary.BigEndian.AppendUint32(b, 1<<31)
			out = append(out, b)
		case 6: // a message claiming to come from the victim itself
			out = append(out, env(core.Message{Kind: core.MessageHeartbeat, From: victim, FromID: "impostor", Seq: 1}))
		}
	}
	return out
}

// TestFloodDoesNotCauseFalseSuspicion floods one member of a five-node
// cluster with hostile datagrams from one source, in bursts that overflow
// its socket, for four seconds of virtual time. No live member may be
// suspected, at the local preset's detector, the node keeps serving the
// cluster, and memory stays bounded. With a keyring, the same flood is
// dropped as unauthenticated.
func TestFloodDoesNotCauseFalseSuspicion(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a node for seconds")
	}
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyring=%v", keyed), func(t *testing.T) { inBubble(t, func(t *testing.T) { testFlood(t, keyed) }) })
	}
}

// The flood sends floodBurst datagrams at once every floodEvery of virtual
// time: twice what a socket holds unread (memSocketBuffer), so the victim's
// socket overflows as it would under a real flood, at 25,600 a second:
// when this test flooded a real socket on loopback as fast as it could, the
// victim read 8,600 to 36,700 a second (go test -race -run TestFlood -v,
// before the test moved to virtual time).
const (
	floodBurst = 2 * memSocketBuffer
	floodEvery = 20 * time.Millisecond
)

func testFlood(t *testing.T, keyed bool) {
	net := newMemNetwork()
	al := newAlarm()
	nodes := startWatchedCluster(t, net, al, "f", 5, func(int) Config {
		c := localConfig("", "127.0.0.1:0")
		c.Core.MaxMembers = 64
		if keyed {
			c.Transport.Keyring = mustKeyring(t, testKey(3))
		}
		return c
	})
	victim := nodes[0]
	waitTraffic(t, nodes, 20)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapAlloc

	rng := rand.New(rand.NewPCG(1, 2))
	junk := floodDatagrams(t, victim.Addr(), rng)
	const flooder = "127.0.0.1:9" // one source, as from one socket

	var sent atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			net.inject(flooder, victim.Addr(), junk[i%len(junk)])
			sent.Add(1)
			if i%floodBurst == floodBurst-1 {
				time.Sleep(floodEvery) // the flood's pace, in virtual time
			}
		}
	}()

	const floodFor = 4 * time.Second
	var peak uint64
	start := time.Now()
	before := victim.Stats()
	sampler := time.NewTicker(100 * time.Millisecond)
	for time.Since(start) < floodFor {
		<-sampler.C
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
		tr := victim.transport.(*udpTransport)
		tr.inMu.Lock()
		queued := len(tr.in)
		tr.inMu.Unlock()
		assert.LessOrEqual(t, queued, tr.inCap)
	}
	sampler.Stop()
	close(stop)
	<-done
	after := victim.Stats()

	// The cluster keeps talking after the flood, and nobody was suspected.
	waitTraffic(t, nodes, 20)
	for _, n := range nodes {
		for _, o := range nodes {
			assert.Equal(t, core.StatusUp, statusOf(n, o.Addr()), "%s's view of %s", n.LocalNode().NodeID, o.LocalNode().NodeID)
		}
		assert.LessOrEqual(t, len(n.Records()), 64, "MaxMembers bounds the table")
	}
	assert.Empty(t, al.events(), "false suspicions under a flood")

	floodRecv := after.Transport.DatagramsReceived - before.Transport.DatagramsReceived
	t.Logf("flood: %d datagrams sent, %d lost to a full socket, %d read by the victim (%.0f/s); dropped: auth %d, decode %d, inbound-full %d, fair-share %d; coordinator rejected %d; heap %d KiB -> peak %d KiB",
		sent.Load(), net.overflows.Load(), floodRecv, float64(floodRecv)/floodFor.Seconds(),
		after.Transport.DroppedAuth-before.Transport.DroppedAuth,
		after.Transport.DroppedDecodeError-before.Transport.DroppedDecodeError,
		after.Transport.DroppedInboundFull-before.Transport.DroppedInboundFull,
		after.Transport.DroppedFairShare-before.Transport.DroppedFairShare,
		after.Coordinator.MessagesRejected-before.Coordinator.MessagesRejected, baseline>>10, peak>>10)
	assert.Positive(t, floodRecv, "the flood reached the victim")
	if keyed {
		assert.Positive(t, after.Transport.DroppedAuth-before.Transport.DroppedAuth)
		assert.Equal(t, before.Transport.DroppedDecodeError, after.Transport.DroppedDecodeError, "nothing unauthenticated is decoded")
	} else {
		assert.Positive(t, after.Transport.DroppedDecodeError-before.Transport.DroppedDecodeError)
		assert.Positive(t, after.Coordinator.MessagesRejected-before.Coordinator.MessagesRejected)
	}

	// Memory: the flood may cost queues and buffers, all bounded, never
	// memory proportional to what was sent. 64 MiB is far above what the
	// bounded structures can hold and far below what a leak of a few
	// hundred thousand datagrams would take.
	assert.Less(t, peak, baseline+64<<20, "heap grew from %d to %d bytes during the flood", baseline, peak)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	assert.Less(t, ms.HeapAlloc, baseline+16<<20, "heap after the flood: %d bytes, baseline %d", ms.HeapAlloc, baseline)
}

// TestForgeriesNeedTheKey sends a running cluster forged datagrams from an
// address outside it: a fake member's join request, and gossip declaring a
// live member Dead. Without a keyring they land (the cluster is open to
// anyone on the network); with one they are dropped as unauthenticated and
// change nothing.
func TestForgeriesNeedTheKey(t *testing.T) {
	for _, keyed := range []bool{false, true} {
		t.Run(fmt.Sprintf("keyring=%v", keyed), func(t *testing.T) { inBubble(t, func(t *testing.T) { testForgeries(t, keyed) }) })
	}
}

func testForgeries(t *testing.T, keyed bool) {
	net := newMemNetwork()
	al := newAlarm()
	nodes := startWatchedCluster(t, net, al, "k", 3, func(int) Config {
		c := localConfig("", "127.0.0.1:0")
		if keyed {
			c.Transport.Keyring = mustKeyring(t, testKey(5))
		}
		return c
	})
	target, victim := nodes[0], nodes[1]
	const fake = "127.0.0.1:9"
	held := victim.LocalNode()
	held.Status = core.StatusDead
	forged := [][]byte{
		encodeEnvelopeMust(t, "test", core.Message{Kind: core.MessageJoinRequest, From: fake, FromID: "mallory",
			Entries: []core.NodeRecord{{NodeID: "mallory", Authority: fake, Status: core.StatusJoining, Incarnation: 1}}}),
		encodeEnvelopeMust(t, "test", core.Message{Kind: core.MessageGossip, From: fake, FromID: "mallory",
			Entries: []core.NodeRecord{held}}),
	}
	for _, d := range forged {
		net.inject("127.0.0.1:6666", target.Addr(), d)
	}
	if !keyed {
		within(t, trafficLimit, 10*time.Millisecond, func() bool { return statusOf(target, fake) == core.StatusUp },
			"the fake member was not admitted: %s", views(nodes))
		within(t, trafficLimit, 10*time.Millisecond, func() bool { return len(al.events()) > 0 }, "the forged death went unnoticed")
		return
	}
	within(t, trafficLimit, 10*time.Millisecond, func() bool { return target.Stats().Transport.DroppedAuth >= 2 },
		"forgeries not dropped: %+v", target.Stats().Transport)
	waitTraffic(t, nodes, 20)
	assert.Zero(t, statusOf(target, fake), "the fake member got in")
	assert.Empty(t, al.events())
	assert.Equal(t, core.StatusUp, statusOf(target, victim.Addr()))
}
