package std

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlaintextPolicyValues(t *testing.T) {
	k := mustKeyring(t, testKey(1))
	assert.Equal(t, PlaintextRefused, k.PlaintextPolicy(), "a new keyring refuses plaintext")
	for _, p := range []PlaintextPolicy{PlaintextAccepted, PlaintextSent, PlaintextRefused} {
		require.NoError(t, k.SetPlaintextPolicy(p))
		assert.Equal(t, p, k.PlaintextPolicy())
	}
	require.NoError(t, k.SetPlaintextPolicy(PlaintextAccepted))
	for _, p := range []PlaintextPolicy{-1, PlaintextSent + 1, 100} {
		err := k.SetPlaintextPolicy(p)
		assert.True(t, errors.Is(err, core.ErrInvalidConfig), "SetPlaintextPolicy(%d) = %v, want ErrInvalidConfig", int(p), err)
		assert.Equal(t, PlaintextAccepted, k.PlaintextPolicy(), "a refused value changed the policy")
	}
	for p, want := range map[PlaintextPolicy]string{
		PlaintextRefused: "refused", PlaintextAccepted: "accepted", PlaintextSent: "sent", 7: "PlaintextPolicy(7)",
	} {
		assert.Equal(t, want, p.String())
	}
}

// TestTransportPlaintextPolicy: a transport with a keyring drops a plain
// datagram under PlaintextRefused and accepts it under the other two
// policies, counting each; it seals what it sends except under
// PlaintextSent; sealed datagrams are accepted under every policy.
func TestTransportPlaintextPolicy(t *testing.T) {
	kr := mustKeyring(t, testKey(1))
	b := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.Keyring = kr })
	peer := mustKeyring(t, testKey(1))
	a := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.Keyring = peer })
	p := newTestTransport(t, "127.0.0.1:0", nil) // no keyring
	assert.Equal(t, MaxMessageBytes(b.MaxDatagramBytes(), "test")-SealOverhead, b.MaxMessageBytes(),
		"the budget keeps room for sealing whatever the policy")
	plain := plainEnvelope(t, "test")

	rawSend(t, b.LocalAddr().String(), plain)
	eventually(t, waitTimeout, func() bool { return b.Stats().DroppedAuth == 1 }, "refused: plain datagram not dropped")
	assert.Empty(t, b.PollDeltas())
	assert.Zero(t, b.Stats().ReceivedPlaintext)

	for i, pol := range []PlaintextPolicy{PlaintextAccepted, PlaintextSent} {
		require.NoError(t, kr.SetPlaintextPolicy(pol))
		rawSend(t, b.LocalAddr().String(), plain)
		got := collect(t, b, 1)
		assert.Equal(t, testMessage("127.0.0.1:7946", 3), got[0].Message, "%s", pol)
		assert.Equal(t, uint64(i+1), b.Stats().ReceivedPlaintext, "%s", pol)
		// A plain datagram of another cluster is still foreign.
		rawSend(t, b.LocalAddr().String(), plainEnvelope(t, "other"))
		eventually(t, waitTimeout, func() bool { return b.Stats().DroppedWrongLabel == uint64(i+1) }, "%s: foreign label not dropped", pol)
		// Sealed datagrams are still accepted.
		require.NoError(t, a.Send(core.GossipOutbound{Target: b.LocalAddr().String(), Message: testMessage(a.AdvertiseAddr(), uint64(10+i))}))
		got = collect(t, b, 1)
		assert.Equal(t, testMessage(a.AdvertiseAddr(), uint64(10+i)), got[0].Message, "%s", pol)
	}
	assert.Equal(t, uint64(1), b.Stats().DroppedAuth)
	assert.Equal(t, uint64(2), b.Stats().ReceivedPlaintext, "sealed datagrams are not counted as plaintext")

	// Under PlaintextSent b sends plain: a node without a keyring reads it.
	require.NoError(t, b.Send(core.GossipOutbound{Target: p.LocalAddr().String(), Message: testMessage(b.AdvertiseAddr(), 20)}))
	got := collect(t, p, 1)
	assert.Equal(t, testMessage(b.AdvertiseAddr(), 20), got[0].Message)
	// Under PlaintextAccepted it seals again: the plain node cannot read it.
	require.NoError(t, kr.SetPlaintextPolicy(PlaintextAccepted))
	require.NoError(t, b.Send(core.GossipOutbound{Target: p.LocalAddr().String(), Message: testMessage(b.AdvertiseAddr(), 21)}))
	eventually(t, waitTimeout, func() bool { return p.Stats().DroppedDecodeError == 1 }, "the sealed datagram reached the plain node")
	assert.Empty(t, p.PollDeltas())
	assert.Zero(t, p.Stats().ReceivedPlaintext, "a transport without a keyring does not count plaintext")

	// Back to PlaintextRefused: plain is dropped again.
	require.NoError(t, kr.SetPlaintextPolicy(PlaintextRefused))
	rawSend(t, b.LocalAddr().String(), plain)
	eventually(t, waitTimeout, func() bool { return b.Stats().DroppedAuth == 2 }, "refused again: plain datagram not dropped")
	assert.Empty(t, b.PollDeltas())
	assert.Equal(t, uint64(2), b.Stats().ReceivedPlaintext)
}

// TestDecodePlaintextUnderKeyringAllocatesNothing: accepting a plain
// heartbeat under a keyring costs no more than decoding it without one.
func TestDecodePlaintextUnderKeyringAllocatesNothing(t *testing.T) {
	kr := mustKeyring(t, testKey(1))
	require.NoError(t, kr.SetPlaintextPolicy(PlaintextAccepted))
	tr := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.Keyring = kr; c.Label = "prod" })
	b, err := encodeEnvelope("prod", heartbeat())
	require.NoError(t, err)
	from := netip.MustParseAddrPort("127.0.0.1:7946")
	// No datagram reaches tr, so its reader goroutine never decodes: the
	// test may use the decoder.
	_, dropped := tr.decode(b, from) // warm the intern table
	require.Equal(t, dropNone, dropped)
	allocs := testing.AllocsPerRun(100, func() {
		if _, dropped := tr.decode(b, from); dropped != dropNone {
			t.Fatal("plain heartbeat not accepted")
		}
	})
	assert.Zero(t, allocs)
}

// FuzzPlaintextAccepted: under PlaintextAccepted a transport with a keyring
// accepts a datagram that is not sealed exactly when a transport without a
// keyring does, with the same message, and never panics.
func FuzzPlaintextAccepted(f *testing.F) {
	env := plainEnvelope(f, "prod")
	f.Add(env)
	f.Add(env[:len(env)-1])
	f.Add(plainEnvelope(f, "other"))
	sealed, err := mustKeyring(f, testKey(1)).seal(nil, env)
	require.NoError(f, err)
	f.Add(sealed)
	f.Add([]byte("hs\x01"))
	kr := mustKeyring(f, testKey(2))
	require.NoError(f, kr.SetPlaintextPolicy(PlaintextAccepted))
	// Nothing is sent to these transports, so their reader goroutines never
	// decode: the fuzz function may use their decoders.
	idle := func(k *Keyring) *udpTransport {
		cfg := defaultTransportConfig()
		cfg.BindAddr, cfg.Label, cfg.Keyring = "127.0.0.1:0", "prod", k
		tr, err := newUDPTransport(cfg, decodeLimits{}, nil)
		require.NoError(f, err)
		f.Cleanup(func() { tr.Close() })
		return tr
	}
	keyed, open := idle(kr), idle(nil)
	from := netip.MustParseAddrPort("127.0.0.1:7946")
	f.Fuzz(func(t *testing.T, b []byte) {
		km, kdrop := keyed.decode(b, from)
		om, odrop := open.decode(b, from)
		kok, ook := kdrop == dropNone, odrop == dropNone
		if !isPlain(b) {
			assert.False(t, kok, "a datagram neither plain nor sealed under the key was accepted")
			return
		}
		require.Equal(t, ook, kok, "plain datagram: keyed accepted %v, keyless accepted %v", kok, ook)
		assert.Equal(t, om, km)
	})
}
