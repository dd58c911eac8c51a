//go:build go1.25

package std

import (
	"bytes"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// userMessages drains events and returns the user messages among them.
func userMessages(events <-chan core.Event) []core.UserMessage {
	var out []core.UserMessage
	for {
		select {
		case e := <-events:
			if e.User != nil {
				out = append(out, *e.User)
			}
		default:
			return out
		}
	}
}

// Direct messages and broadcasts travel sealed by the keyring, through the
// wire codec, to the subscribers they are for: a direct message to its
// target only, a broadcast to every other member once. No datagram carries
// a payload in the clear, and a node with another key that is handed them
// delivers nothing.
func TestUserMessagesReachSubscribers(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		var mu sync.Mutex
		var wire [][]byte // every datagram, for the outsider
		clear := 0        // datagrams carrying a payload in the clear
		net.tap = func(_, _ netip.AddrPort, b []byte) {
			mu.Lock()
			defer mu.Unlock()
			wire = append(wire, bytes.Clone(b))
			if bytes.Contains(b, []byte("direct-payload")) || bytes.Contains(b, []byte("broadcast-payload")) {
				clear++
			}
		}
		keyed := func(cfg Config) Config { cfg.Transport.Keyring = mustKeyring(t, testKey(1)); return cfg }
		n0 := startMemNode(t, net, keyed(localConfig("n0", "127.0.0.1:0")))
		n1 := startMemNode(t, net, keyed(localConfig("n1", "127.0.0.1:0", n0.Addr())))
		n2 := startMemNode(t, net, keyed(localConfig("n2", "127.0.0.1:0", n0.Addr())))
		outCfg := localConfig("outsider", "127.0.0.1:0")
		outCfg.Transport.Keyring = mustKeyring(t, testKey(2))
		outsider := startMemNode(t, net, outCfg)
		convergeWithin(t, convergeLimit, []*Node{n0, n1, n2})
		subs := map[*Node]<-chan core.Event{}
		for _, n := range []*Node{n0, n1, n2, outsider} {
			ch, cancel := n.Subscribe()
			defer cancel()
			subs[n] = ch
		}
		mu.Lock()
		wire = nil
		mu.Unlock()

		require.NoError(t, n0.SendTo(t.Context(), n2.Addr(), []byte("direct-payload")))
		require.NoError(t, n0.Broadcast(t.Context(), []byte("broadcast-payload")))
		advance(5 * time.Second)
		mu.Lock()
		sent := wire
		assert.Zero(t, clear, "datagrams with a payload in the clear")
		mu.Unlock()
		require.NotEmpty(t, sent)
		for _, b := range sent {
			net.inject(n0.Addr(), outsider.Addr(), b)
		}
		advance(time.Second)

		got := map[*Node][]core.UserMessage{}
		for n, ch := range subs {
			got[n] = userMessages(ch)
		}
		assert.Empty(t, got[n0], "the sender delivers nothing to itself")
		if assert.Len(t, got[n1], 1, "n1: the broadcast only") {
			m := got[n1][0]
			assert.Equal(t, "broadcast-payload", string(m.Payload))
			assert.Equal(t, n0.Addr(), m.From)
			assert.Equal(t, "n0", m.FromID)
			assert.NotZero(t, m.Seq)
		}
		if assert.Len(t, got[n2], 2, "n2: the direct message and the broadcast") {
			var direct, bcast int
			for _, m := range got[n2] {
				switch {
				case m.Seq == 0 && string(m.Payload) == "direct-payload" && m.From == n0.Addr() && m.FromID == "n0":
					direct++
				case m.Seq != 0 && string(m.Payload) == "broadcast-payload":
					bcast++
				}
			}
			assert.Equal(t, 1, direct)
			assert.Equal(t, 1, bcast)
		}
		assert.Empty(t, got[outsider], "a node with another key")
		assert.Positive(t, outsider.Stats().Transport.DroppedAuth)
		s := n0.Stats().Coordinator
		assert.Equal(t, uint64(1), s.UserMessagesSent)
		assert.Equal(t, uint64(1), s.BroadcastsSent)

		big := make([]byte, 2000)
		require.ErrorIs(t, n0.SendTo(t.Context(), n1.Addr(), big), core.ErrInvalidMessage)
		require.ErrorIs(t, n0.Broadcast(t.Context(), big), core.ErrInvalidMessage)
		require.ErrorIs(t, n0.SendTo(t.Context(), n0.Addr(), nil), core.ErrInvalidMessage)
		require.ErrorIs(t, n0.SendTo(t.Context(), outsider.Addr(), nil), core.ErrInvalidMessage, "not a member")
		require.NoError(t, n0.Close())
		require.ErrorIs(t, n0.SendTo(t.Context(), n1.Addr(), nil), ErrNotRunning)
		require.ErrorIs(t, n0.Broadcast(t.Context(), nil), ErrNotRunning)
	})
}

// A subscriber that does not read never holds the node up: messages beyond
// its buffer are dropped for it and counted, the node keeps gossiping and
// another subscriber that reads gets every message.
func TestUserMessagesNeverBlockTheNode(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		cfg0 := localConfig("n0", "127.0.0.1:0")
		n0 := startMemNode(t, net, cfg0)
		cfg1 := localConfig("n1", "127.0.0.1:0", n0.Addr())
		cfg1.EventBuffer = 4
		n1 := startMemNode(t, net, cfg1)
		convergeWithin(t, convergeLimit, []*Node{n0, n1})
		_, cancelIdle := n1.Subscribe() // never read
		defer cancelIdle()
		reader, cancelReader := n1.Subscribe()
		defer cancelReader()
		var got []core.UserMessage
		const count = 40
		for i := range count {
			require.NoError(t, n0.SendTo(t.Context(), n1.Addr(), []byte{byte(i)}))
			advance(10 * time.Millisecond)
			got = append(got, userMessages(reader)...)
		}
		advance(time.Second)
		got = append(got, userMessages(reader)...)
		assert.Len(t, got, count, "the subscriber that reads")
		assert.GreaterOrEqual(t, n1.Stats().EventsDropped, uint64(count-cfg1.EventBuffer), "dropped for the one that does not")
		assert.Equal(t, uint64(count), n1.Stats().Coordinator.UserMessagesReceived)
		convergeWithin(t, convergeLimit, []*Node{n0, n1})
	})
}

// A direct message the transport cannot queue fails SendTo with
// core.ErrSendFailed, and the transport counts it; the node recovers once
// the queue drains.
func TestSendToReportsAFullQueue(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		n0cfg := localConfig("n0", "127.0.0.1:0")
		n0cfg.Transport.OutboundCapacity = 1
		n0 := startMemNode(t, net, n0cfg)
		n1 := startMemNode(t, net, localConfig("n1", "127.0.0.1:0", n0.Addr()))
		convergeWithin(t, convergeLimit, []*Node{n0, n1})

		stall := make(chan struct{})
		var release sync.Once
		unstall := func() {
			release.Do(func() {
				net.mu.Lock()
				net.stall = nil
				net.mu.Unlock()
				close(stall)
			})
		}
		t.Cleanup(unstall) // before the nodes close, even if the test fails
		net.mu.Lock()
		net.stall = stall
		net.mu.Unlock()
		var err error
		for range 10 { // the writer holds one datagram, the queue one more
			if err = n0.SendTo(t.Context(), n1.Addr(), []byte("x")); err != nil {
				break
			}
		}
		require.ErrorIs(t, err, core.ErrSendFailed)
		assert.Positive(t, n0.Stats().Transport.SendQueueFull)

		unstall()
		advance(time.Second)
		require.NoError(t, n0.SendTo(t.Context(), n1.Addr(), []byte("x")))
		convergeWithin(t, convergeLimit, []*Node{n0, n1})
	})
}
