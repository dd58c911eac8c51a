package std

import (
	"testing"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOneSourceCannotFillTheInboundQueue: once the inbound queue is half
// full, a source that already has its share waiting is dropped before
// decoding, and another source still gets in.
func TestOneSourceCannotFillTheInboundQueue(t *testing.T) {
	tr := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.InboundCapacity = 16 }) // share 2
	a := newTestTransport(t, "127.0.0.1:0", nil)
	b := newTestTransport(t, "127.0.0.1:0", nil)
	for i := range 100 {
		m := testMessage(a.AdvertiseAddr(), uint64(i))
		eventually(t, waitTimeout, func() bool {
			return a.Send(core.GossipOutbound{Target: tr.LocalAddr().String(), Message: m}) == nil
		}, "send %d", i)
	}
	eventually(t, waitTimeout, func() bool { return tr.Stats().DatagramsReceived == 100 }, "flood not read: %+v", tr.Stats())
	require.NoError(t, b.Send(core.GossipOutbound{Target: tr.LocalAddr().String(), Message: testMessage(b.AdvertiseAddr(), 1)}))
	eventually(t, waitTimeout, func() bool { return tr.Stats().DatagramsReceived == 101 }, "b's message not read")

	s := tr.Stats()
	assert.Equal(t, uint64(8), s.Delivered-1, "a filled half the queue")
	assert.Equal(t, uint64(92), s.DroppedFairShare)
	assert.Zero(t, s.DroppedInboundFull)
	got := tr.PollDeltas()
	require.Len(t, got, 9)
	assert.Equal(t, b.LocalAddr().String(), got[8].Source, "the other source got in")

	// Once drained, the queue is open to a again.
	require.NoError(t, a.Send(core.GossipOutbound{Target: tr.LocalAddr().String(), Message: testMessage(a.AdvertiseAddr(), 1)}))
	collect(t, tr, 1)
	tr.inMu.Lock()
	assert.Empty(t, tr.pend, "every place given back")
	tr.inMu.Unlock()
}
