package std

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// probeSocket is a UDP socket on loopback that counts what it sends and
// receives, and keeps what it receives.
type probeSocket struct {
	t          *testing.T
	conn       *net.UDPConn
	sent, recv int
	got        [][]byte
}

func newProbeSocket(t *testing.T) *probeSocket {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return &probeSocket{t: t, conn: conn}
}

func (p *probeSocket) addr() string { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort().String() }

// send sends b to the node at to.
func (p *probeSocket) send(to string, b []byte) {
	addr, err := net.ResolveUDPAddr("udp4", to)
	require.NoError(p.t, err)
	n, err := p.conn.WriteToUDP(b, addr)
	require.NoError(p.t, err)
	p.sent += n
}

// drain reads every datagram already queued on the socket (a deadline
// already passed would fail the read before it looks at the queue: the
// deadline is a moment away, so the last read is the only one that waits).
func (p *probeSocket) drain() {
	buf := make([]byte, 65536)
	require.NoError(p.t, p.conn.SetReadDeadline(time.Now().Add(time.Millisecond)))
	for {
		n, _, err := p.conn.ReadFromUDP(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		require.NoError(p.t, err)
		p.recv += n
		p.got = append(p.got, append([]byte(nil), buf[:n]...))
	}
}

// barrier makes sure every reply the nodes sent before it is queued on the
// sockets: each node is sent a join request from the barrier socket, which
// it answers with a cookie challenge after everything that came before
// (one gossip loop and one socket per node: replies leave in order, and
// loopback delivers a datagram before the send returns).
func barrier(t *testing.T, nodes []*Node, b *probeSocket, seal func(core.Message) []byte) {
	t.Helper()
	start := len(b.got)
	for _, n := range nodes {
		b.send(n.Addr(), seal(core.Message{Kind: core.MessageJoinRequest, From: b.addr(),
			FromID: "barrier", Seq: uint64(len(b.got) + 1), Cookie: make([]byte, 96)}))
	}
	eventually(t, waitTimeout, func() bool {
		b.drain()
		return len(b.got)-start >= len(nodes)
	}, "the nodes did not answer the barrier")
}

// An open cluster of 20 nodes on loopback is no amplifier: a stranger's
// socket sends every node join requests (bare and with the filler an honest
// requester adds), digests and heartbeats that name a victim (another
// socket) as their sender, in canonical and other spellings; the victim's
// own socket sends the same (as a spoofed source would); neither socket
// gets back more bytes than it sent, the victim gets nothing for what the
// stranger sent, and the cluster stays converged.
func TestOpenClusterIsNoAmplifier(t *testing.T) {
	nodes := startCluster(t, "127.0.0.1:0", 20)
	source, victim, fence := newProbeSocket(t), newProbeSocket(t), newProbeSocket(t)
	port := victim.conn.LocalAddr().(*net.UDPAddr).Port
	names := []string{victim.addr(), fmt.Sprintf("127.0.0.1:0%d", port), fmt.Sprintf("[::ffff:127.0.0.1]:%d", port)}
	requests := func(from string, buckets int) []core.Message {
		digest := make([]uint64, buckets)
		return []core.Message{
			{Kind: core.MessageJoinRequest, From: from, FromID: "x", Seq: 1},
			{Kind: core.MessageJoinRequest, From: from, FromID: "x", Seq: 2, Cookie: make([]byte, 64)},
			{Kind: core.MessageDigest, From: from, FromID: "x", Seq: 3, Digest: digest},
			{Kind: core.MessageDigest, From: from, FromID: "x", Seq: 4, Digest: digest, Cookie: make([]byte, 64)},
			{Kind: core.MessageHeartbeat, From: from, FromID: "x", Seq: 5, Digest: []uint64{42}},
		}
	}
	before := make([]core.CoordinatorStats, len(nodes))
	for i, n := range nodes {
		before[i] = n.Stats().Coordinator
		for _, name := range names {
			for _, buckets := range []int{1, 4, 128} {
				for _, m := range requests(name, buckets) {
					b := encodeEnvelopeMust(t, "test", m)
					source.send(n.Addr(), b)
					victim.send(n.Addr(), b)
				}
			}
		}
	}
	plain := func(m core.Message) []byte { return encodeEnvelopeMust(t, "test", m) }
	barrier(t, nodes, fence, plain)
	// Anything the cluster sends later counts too: let every node read 20
	// more datagrams.
	before20 := make([]uint64, len(nodes))
	for i, n := range nodes {
		before20[i] = n.Stats().Transport.DatagramsReceived
	}
	eventually(t, waitTimeout, func() bool {
		for i, n := range nodes {
			if n.Stats().Transport.DatagramsReceived < before20[i]+20 {
				return false
			}
		}
		return true
	}, "the cluster went quiet")
	barrier(t, nodes, fence, plain)
	source.drain()
	victim.drain()

	t.Logf("20 nodes: the stranger sent %d bytes and got %d back (%.2fx); the victim's socket sent %d and got %d (%.2fx)",
		source.sent, source.recv, float64(source.recv)/float64(source.sent), victim.sent, victim.recv, float64(victim.recv)/float64(victim.sent))
	assert.LessOrEqual(t, source.recv, source.sent, "bytes reflected to the stranger")
	assert.LessOrEqual(t, victim.recv, victim.sent, "bytes reflected to the victim")
	assert.Positive(t, source.recv, "nothing answered the stranger: the test tests nothing")
	for _, b := range source.got {
		m, err := decodeWithDefaults("test", b)
		require.NoError(t, err)
		assert.Contains(t, []core.MessageKind{core.MessageCookie, core.MessageDigestReply, core.MessageGossip}, m.Kind,
			"the stranger got a %s", m.Kind)
	}
	var challenges, withheld uint64
	for i, n := range nodes {
		s := n.Stats().Coordinator
		challenges += s.CookieChallenges - before[i].CookieChallenges
		withheld += s.RepliesWithheld - before[i].RepliesWithheld
		assert.Equal(t, before[i].JoinRequestsServed, s.JoinRequestsServed, "%s served a stranger's join", n.Addr())
		assert.Positive(t, n.Stats().Transport.DroppedDecodeError, "%s took a non-canonical authority", n.Addr())
	}
	t.Logf("%d cookie challenges, %d replies withheld", challenges, withheld)
	waitConverged(t, nodes)
}

// A sealed join request captured on the wire and replayed from its address
// (the only one its cookie is good for) is answered in full once: replaying
// it 1,000 times gets no second view.
func TestReplayedSealedJoinIsAnsweredOnce(t *testing.T) {
	key := testKey(7)
	nodes := make([]*Node, 0, 5)
	for i := range 5 {
		c := localConfig(fmt.Sprintf("k%d", i), "127.0.0.1:0")
		if i > 0 {
			c.Seeds = []string{nodes[0].Addr()}
		}
		c.Transport.Keyring = mustKeyring(t, key)
		nodes = append(nodes, startNode(t, c))
	}
	waitConverged(t, nodes)
	seed := nodes[0]
	ring := mustKeyring(t, key)
	joiner, fence := newProbeSocket(t), newProbeSocket(t)
	seal := func(m core.Message) []byte {
		b, err := ring.seal(nil, encodeEnvelopeMust(t, "test", m))
		require.NoError(t, err)
		return b
	}
	opened := func(p *probeSocket) []core.Message {
		var out []core.Message
		for _, b := range p.got {
			env, err := ring.open(nil, b, "test")
			require.NoError(t, err)
			m, err := decodeWithDefaults("test", env)
			require.NoError(t, err)
			out = append(out, m)
		}
		p.got = nil
		return out
	}

	// The joiner's exchange, as a node runs it: a request with filler, the
	// seed's challenge, the request again with the cookie, the view.
	join := core.Message{Kind: core.MessageJoinRequest, From: joiner.addr(), FromID: "joiner", Seq: 4242, Cookie: make([]byte, 96)}
	joiner.send(seed.Addr(), seal(join))
	eventually(t, waitTimeout, func() bool { joiner.drain(); return len(joiner.got) > 0 }, "no challenge")
	challenge := opened(joiner)
	require.Len(t, challenge, 1)
	require.Equal(t, core.MessageCookie, challenge[0].Kind)
	join.Cookie = challenge[0].Cookie
	captured := seal(join)
	joiner.send(seed.Addr(), captured)
	eventually(t, waitTimeout, func() bool { joiner.drain(); return len(joiner.got) > 0 }, "no view")
	view := opened(joiner)
	records := 0
	for _, m := range view {
		require.Equal(t, core.MessageJoinReply, m.Kind)
		records += len(m.Entries)
	}
	require.Equal(t, 5, records, "the view")

	// The captured datagram, replayed 1,000 times from the joiner's address,
	// in batches the seed's inbound queue holds.
	before := seed.Stats()
	handled := func() uint64 {
		s := seed.Stats()
		return s.Coordinator.RepliesLimited - before.Coordinator.RepliesLimited +
			s.Transport.DroppedFairShare - before.Transport.DroppedFairShare +
			s.Transport.DroppedInboundFull - before.Transport.DroppedInboundFull
	}
	for sent := 0; sent < 1000; {
		for range 50 {
			joiner.send(seed.Addr(), captured)
			sent++
		}
		eventually(t, waitTimeout, func() bool { return handled() >= uint64(sent) }, "the seed did not handle the replays")
	}
	barrier(t, nodes[:1], fence, seal)
	joiner.drain()
	after := seed.Stats()
	t.Logf("1,000 replays: %d datagrams back, %d replies limited, %d dropped at the queue, %d join requests served",
		len(joiner.got), after.Coordinator.RepliesLimited-before.Coordinator.RepliesLimited,
		after.Transport.DroppedFairShare+after.Transport.DroppedInboundFull-before.Transport.DroppedFairShare-before.Transport.DroppedInboundFull,
		after.Coordinator.JoinRequestsServed-before.Coordinator.JoinRequestsServed)
	assert.Empty(t, joiner.got, "a replay was answered")
	assert.Equal(t, before.Coordinator.JoinRequestsServed, after.Coordinator.JoinRequestsServed, "a replay was served")
}
