//go:build go1.25

package std

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEnableEncryptionOnLiveCluster turns encryption on in a running
// four-node cluster that has no keyring, the documented way: replace each
// node by one with a keyring under PlaintextSent (graceful leave, new node
// at a fresh port), then switch every node to PlaintextAccepted, then to
// PlaintextRefused. The cluster stays converged with no member suspected and
// no datagram dropped, and at the end every datagram is sealed: plaintext
// stops arriving and a plain datagram is refused.
func TestEnableEncryptionOnLiveCluster(t *testing.T) {
	inBubble(t, testEnableEncryption)
}

func testEnableEncryption(t *testing.T) {
	net := newMemNetwork()
	al := newAlarm()
	nodes := startWatchedCluster(t, net, al, "p", 4, func(int) Config { return localConfig("", "127.0.0.1:0") })
	waitTraffic(t, nodes, 20)
	plainOld := func(n *Node) bool { return n.transport.(*udpTransport).keyring == nil }

	// Step 1: a rolling replacement by keyed nodes that still send plain.
	rings := make([]*Keyring, len(nodes))
	for i := range nodes {
		old := nodes[i]
		require.NoError(t, old.Leave(t.Context()), "leave %s", old.LocalNode().NodeID)
		al.mu.Lock()
		delete(al.live, old.Addr()) // gone: its Leaving and Removed are expected
		al.mu.Unlock()
		require.NoError(t, old.Close())

		var seeds []string
		for j, n := range nodes {
			if j != i {
				seeds = append(seeds, n.Addr())
			}
		}
		c := localConfig(fmt.Sprintf("q%d", i), "127.0.0.1:0", seeds...)
		c.Transport.Keyring = mustKeyring(t, testKey(1))
		require.NoError(t, c.Transport.Keyring.SetPlaintextPolicy(PlaintextSent))
		rings[i] = c.Transport.Keyring
		nodes[i] = startMemNode(t, net, c)
		al.watch(nodes[i])
		convergeWithin(t, convergeLimit, nodes)
		waitTraffic(t, nodes, 20)
	}
	for _, n := range nodes {
		assert.False(t, plainOld(n))
		assert.Positive(t, n.Stats().Transport.ReceivedPlaintext, "%s read no plaintext in step 1", n.LocalNode().NodeID)
	}

	// Step 2: every node seals, one at a time; all still accept both.
	for _, k := range rings {
		require.NoError(t, k.SetPlaintextPolicy(PlaintextAccepted))
		waitTraffic(t, nodes, 20)
	}
	// Nobody sends plain any more: ReceivedPlaintext stops growing.
	before := plaintextReceived(nodes)
	waitTraffic(t, nodes, 40)
	assert.Equal(t, before, plaintextReceived(nodes), "plaintext still arriving after step 2")

	// Step 3: every node refuses plaintext.
	for _, k := range rings {
		require.NoError(t, k.SetPlaintextPolicy(PlaintextRefused))
		waitTraffic(t, nodes, 10)
	}
	waitTraffic(t, nodes, 40)
	assert.Equal(t, before, plaintextReceived(nodes), "plaintext accepted after step 3")

	convergeWithin(t, convergeLimit, nodes)
	for _, n := range nodes {
		s := n.Stats().Transport
		assert.Zero(t, s.DroppedAuth, "%s dropped datagrams while encryption was turned on", n.LocalNode().NodeID)
		assert.Zero(t, s.DroppedDecodeError, "%s could not decode datagrams while encryption was turned on", n.LocalNode().NodeID)
	}
	assert.Empty(t, al.events(), "members suspected while encryption was turned on")

	// A plain datagram is now refused.
	net.inject("127.0.0.1:6666", nodes[0].Addr(), plainEnvelope(t, "test"))
	within(t, trafficLimit, 10*time.Millisecond, func() bool { return nodes[0].Stats().Transport.DroppedAuth == 1 },
		"a plain datagram was not refused after step 3")
	assert.Equal(t, before[0], nodes[0].Stats().Transport.ReceivedPlaintext)
}

// plaintextReceived returns each node's ReceivedPlaintext.
func plaintextReceived(nodes []*Node) []uint64 {
	out := make([]uint64, len(nodes))
	for i, n := range nodes {
		out[i] = n.Stats().Transport.ReceivedPlaintext
	}
	return out
}
