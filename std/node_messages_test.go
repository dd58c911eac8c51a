//go:build go1.25

package std

import (
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
// target only, a broadcast to every other member once. A node with another
// key gets nothing.
func TestUserMessagesReachSubscribers(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
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

		require.NoError(t, n0.SendTo(t.Context(), n2.Addr(), []byte("direct")))
		require.NoError(t, n0.Broadcast(t.Context(), []byte("news")))
		require.NoError(t, n0.SendTo(t.Context(), outsider.Addr(), []byte("secret")))
		advance(5 * time.Second)

		got := map[*Node][]core.UserMessage{}
		for n, ch := range subs {
			got[n] = userMessages(ch)
		}
		assert.Empty(t, got[n0], "the sender delivers nothing to itself")
		if assert.Len(t, got[n1], 1, "n1: the broadcast only") {
			m := got[n1][0]
			assert.Equal(t, "news", string(m.Payload))
			assert.Equal(t, n0.Addr(), m.From)
			assert.Equal(t, "n0", m.FromID)
			assert.NotZero(t, m.Seq)
		}
		if assert.Len(t, got[n2], 2, "n2: the direct message and the broadcast") {
			var direct, bcast int
			for _, m := range got[n2] {
				switch {
				case m.Seq == 0 && string(m.Payload) == "direct" && m.From == n0.Addr() && m.FromID == "n0":
					direct++
				case m.Seq != 0 && string(m.Payload) == "news":
					bcast++
				}
			}
			assert.Equal(t, 1, direct)
			assert.Equal(t, 1, bcast)
		}
		assert.Empty(t, got[outsider], "a node with another key")
		assert.Positive(t, outsider.Stats().Transport.DroppedAuth)
		s := n0.Stats().Coordinator
		assert.Equal(t, uint64(2), s.UserMessagesSent)
		assert.Equal(t, uint64(1), s.BroadcastsSent)

		big := make([]byte, 2000)
		require.ErrorIs(t, n0.SendTo(t.Context(), n1.Addr(), big), core.ErrInvalidMessage)
		require.ErrorIs(t, n0.Broadcast(t.Context(), big), core.ErrInvalidMessage)
		require.ErrorIs(t, n0.SendTo(t.Context(), n0.Addr(), nil), core.ErrInvalidMessage)
		require.NoError(t, n0.Close())
		require.ErrorIs(t, n0.SendTo(t.Context(), n1.Addr(), nil), ErrNotRunning)
		require.ErrorIs(t, n0.Broadcast(t.Context(), nil), ErrNotRunning)
	})
}
