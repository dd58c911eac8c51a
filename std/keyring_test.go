package std

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKey returns a deterministic key filled with b.
func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustKeyring(t testing.TB, primary []byte, others ...[]byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(primary, others...)
	require.NoError(t, err)
	return k
}

func plainEnvelope(t testing.TB, label string) []byte {
	t.Helper()
	b, err := encodeEnvelope(label, testMessage("127.0.0.1:7946", 3))
	require.NoError(t, err)
	return b
}

func TestNewKeyringRejectsBadKeys(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		_, err := NewKeyring(make([]byte, n))
		assert.ErrorIs(t, err, ErrInvalidKey, "primary of %d bytes", n)
		_, err = NewKeyring(testKey(1), make([]byte, n))
		assert.ErrorIs(t, err, ErrInvalidKey, "other key of %d bytes", n)
	}
	k := mustKeyring(t, testKey(1), testKey(2), testKey(1), testKey(2))
	assert.Equal(t, [][]byte{testKey(1), testKey(2)}, k.Keys(), "duplicates kept once, primary first")
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := mustKeyring(t, testKey(1))
	env := plainEnvelope(t, "prod")
	sealed, err := k.seal(nil, env)
	require.NoError(t, err)
	assert.Len(t, sealed, len(env)+SealOverhead)
	assert.Equal(t, byte(sealedWireVersion), sealed[2])
	assert.Equal(t, env[:4+len("prod")][3:], sealed[3:4+len("prod")], "label in the clear")
	assert.NotContains(t, string(sealed), "127.0.0.1:7946", "message is encrypted")

	opened, err := k.open(nil, sealed, "prod")
	require.NoError(t, err)
	assert.Equal(t, env, opened)

	again, err := k.seal(nil, env)
	require.NoError(t, err)
	assert.NotEqual(t, sealed, again, "a fresh nonce for every datagram")
}

func TestOpenRejectsEverythingNotSealedUnderAnAcceptedKey(t *testing.T) {
	k := mustKeyring(t, testKey(1), testKey(2))
	env := plainEnvelope(t, "prod")
	sealed, err := k.seal(nil, env)
	require.NoError(t, err)
	other, err := mustKeyring(t, testKey(3)).seal(nil, env)
	require.NoError(t, err)

	relabelled := bytes.Clone(sealed)
	copy(relabelled[4:8], "dorp") // same length, another label
	asPlain := bytes.Clone(sealed)
	asPlain[2] = wireVersion

	tests := []struct {
		name  string
		b     []byte
		label string
		want  error
	}{
		{"plain envelope", env, "prod", errUnauthenticated},
		{"empty", nil, "prod", errUnauthenticated},
		{"random bytes", []byte("this is not a hearsay datagram at all"), "prod", errUnauthenticated},
		{"unknown key", other, "prod", errUnauthenticated},
		{"truncated header", sealed[:6], "prod", errUnauthenticated},
		{"no tag", sealed[:4+4+nonceBytes+tagBytes-1], "prod", errUnauthenticated},
		{"version rewritten", asPlain, "prod", errUnauthenticated},
		{"label rewritten", relabelled, "dorp", errUnauthenticated},
		{"another cluster", sealed, "test", errWrongLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := k.open([]byte("keep"), tt.b, tt.label)
			assert.ErrorIs(t, err, tt.want)
			assert.Equal(t, []byte("keep"), out, "dst unchanged on failure")
		})
	}
	// Flipping any bit anywhere fails authentication (or, in the label, is
	// another cluster).
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(sealed)
			b[i] ^= bit
			_, err := k.open(nil, b, "prod")
			require.Error(t, err, "byte %d bit %#x flipped", i, bit)
		}
	}
}

func TestKeyRotationSteps(t *testing.T) {
	oldKey, newKey := testKey(1), testKey(2)
	a, b := mustKeyring(t, oldKey), mustKeyring(t, oldKey)
	env := plainEnvelope(t, "prod")
	// exchange checks that what each side seals the other opens.
	exchange := func(step string) {
		t.Helper()
		for _, pair := range [][2]*Keyring{{a, b}, {b, a}} {
			s, err := pair[0].seal(nil, env)
			require.NoError(t, err)
			got, err := pair[1].open(nil, s, "prod")
			require.NoError(t, err, step)
			require.Equal(t, env, got, step)
		}
	}
	exchange("start")
	require.NoError(t, a.AddKey(newKey))
	exchange("a installed the new key")
	require.NoError(t, b.AddKey(newKey))
	require.NoError(t, a.UseKey(newKey))
	assert.Equal(t, newKey, a.PrimaryKey())
	exchange("a sends under the new key, b under the old")
	require.NoError(t, b.UseKey(newKey))
	exchange("both send under the new key")
	assert.ErrorIs(t, a.RemoveKey(newKey), ErrRemovePrimary)
	require.NoError(t, a.RemoveKey(oldKey))
	exchange("a dropped the old key")
	require.NoError(t, b.RemoveKey(oldKey))
	exchange("rotation done")
	assert.Equal(t, [][]byte{newKey}, a.Keys())

	// The old key no longer opens anything.
	s, err := mustKeyring(t, oldKey).seal(nil, env)
	require.NoError(t, err)
	_, err = a.open(nil, s, "prod")
	assert.ErrorIs(t, err, errUnauthenticated)

	assert.ErrorIs(t, a.UseKey(oldKey), ErrUnknownKey)
	assert.ErrorIs(t, a.RemoveKey(oldKey), ErrUnknownKey)
	assert.ErrorIs(t, a.AddKey([]byte("short")), ErrInvalidKey)
}

func TestKeyringCopiesKeys(t *testing.T) {
	key := testKey(1)
	k := mustKeyring(t, key)
	key[0] = 99
	assert.Equal(t, testKey(1), k.PrimaryKey(), "NewKeyring copies")
	got := k.Keys()
	got[0][0] = 99
	assert.Equal(t, testKey(1), k.Keys()[0], "Keys returns copies")
}

func TestKeyringConcurrentRotation(t *testing.T) {
	k := mustKeyring(t, testKey(1), testKey(2))
	env := plainEnvelope(t, "prod")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sealed, opened []byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				sealed, err = k.seal(sealed[:0], env)
				if err != nil {
					t.Error(err)
					return
				}
				// Both keys stay accepted throughout: every datagram opens.
				if opened, err = k.open(opened[:0], sealed, "prod"); err != nil || !bytes.Equal(opened, env) {
					t.Errorf("open during rotation: %v", err)
					return
				}
			}
		}()
	}
	for i := range 200 {
		key := testKey(byte(1 + i%2))
		require.NoError(t, k.UseKey(key))
		require.NoError(t, k.AddKey(testKey(3)))
		require.NoError(t, k.RemoveKey(testKey(3)))
	}
	close(stop)
	wg.Wait()
}

func TestParseKeyring(t *testing.T) {
	enc := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	k, err := ParseKeyring([]byte("# cluster keys\n" + enc(testKey(7)) + "\n\n  " + enc(testKey(8)) + "  \n"))
	require.NoError(t, err)
	assert.Equal(t, [][]byte{testKey(7), testKey(8)}, k.Keys())

	for name, text := range map[string]string{
		"empty":      "",
		"comments":   "# nothing\n\n",
		"not base64": "!!!\n",
		"short key":  enc([]byte("sixteen byte key")) + "\n",
	} {
		_, err := ParseKeyring([]byte(text))
		assert.ErrorIs(t, err, ErrInvalidKey, name)
	}
	key, err := GenerateKey()
	require.NoError(t, err)
	assert.Len(t, key, KeySize)
}

// TestTransportDropsUnauthenticatedDatagrams: with a keyring, a plain or
// forged datagram is counted and never reaches PollDeltas, while sealed
// traffic between two transports flows.
func TestTransportDropsUnauthenticatedDatagrams(t *testing.T) {
	kr := mustKeyring(t, testKey(1))
	a := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.Keyring = kr })
	b := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.Keyring = mustKeyring(t, testKey(1)) })
	assert.Equal(t, MaxMessageBytes(a.MaxDatagramBytes(), "test")-SealOverhead, a.MaxMessageBytes())

	require.NoError(t, a.Send(core.GossipOutbound{Target: b.LocalAddr().String(), Message: testMessage(a.AdvertiseAddr(), 1)}))
	got := collect(t, b, 1)
	assert.Equal(t, testMessage(a.AdvertiseAddr(), 1), got[0].Message)

	// A plain envelope, a datagram sealed under a foreign key and random
	// bytes from a raw socket are all dropped as unauthenticated.
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer raw.Close()
	plain := plainEnvelope(t, "test")
	foreign, err := mustKeyring(t, testKey(2)).seal(nil, plain)
	require.NoError(t, err)
	for _, d := range [][]byte{plain, foreign, []byte(strings.Repeat("x", 100))} {
		_, err := raw.WriteToUDPAddrPort(d, b.LocalAddr())
		require.NoError(t, err)
	}
	eventually(t, waitTimeout, func() bool { return b.Stats().DroppedAuth == 3 }, "DroppedAuth = %d, want 3", b.Stats().DroppedAuth)
	assert.Empty(t, b.PollDeltas())
	assert.Zero(t, b.Stats().DroppedDecodeError)

	// A transport without a keyring cannot read sealed traffic.
	p := newTestTransport(t, "127.0.0.1:0", nil)
	require.NoError(t, a.Send(core.GossipOutbound{Target: p.LocalAddr().String(), Message: testMessage(a.AdvertiseAddr(), 2)}))
	eventually(t, waitTimeout, func() bool { return p.Stats().DroppedDecodeError == 1 }, "plain transport did not drop the sealed datagram")
	assert.Empty(t, p.PollDeltas())
}

// TestTransportSealedDatagramsFit: a message of exactly the advertised
// MaxMessageBytes still fits a datagram once sealed.
func TestTransportSealedDatagramsFit(t *testing.T) {
	kr := mustKeyring(t, testKey(1))
	a := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.Keyring = kr; c.MaxDatagramBytes = MinDatagramBytes })
	m := core.Message{Kind: core.MessageGossip, From: "127.0.0.1:1", FromID: "a",
		Entries: []core.NodeRecord{{NodeID: "n", Authority: "127.0.0.1:2", Status: core.StatusUp, Incarnation: 1}}}
	for core.EstimateSize(m) < a.MaxMessageBytes() {
		m.Entries[0].Meta = append(m.Entries[0].Meta, 'm')
	}
	if core.EstimateSize(m) > a.MaxMessageBytes() {
		m.Entries[0].Meta = m.Entries[0].Meta[:len(m.Entries[0].Meta)-1]
	}
	require.NoError(t, a.Send(core.GossipOutbound{Target: a.LocalAddr().String(), Message: m}))
	got := collect(t, a, 1)
	assert.Equal(t, m, got[0].Message)

	cfg := defaultTransportConfig()
	cfg.MaxDatagramBytes, cfg.Label, cfg.Keyring = MinDatagramBytes, strings.Repeat("l", 240), kr
	err := cfg.validate()
	assert.True(t, errors.Is(err, core.ErrInvalidConfig) && strings.Contains(err.Error(), "sealing"), "got %v", err)
}

// FuzzOpen feeds arbitrary bytes to a keyring's open, and seals and opens
// arbitrary plain envelopes: open never panics, never accepts bytes that
// were not sealed under one of its keys, and gives back exactly what was
// sealed.
func FuzzOpen(f *testing.F) {
	k := mustKeyring(f, testKey(1), testKey(2))
	env := plainEnvelope(f, "prod")
	sealed, err := k.seal(nil, env)
	require.NoError(f, err)
	f.Add(sealed, false)
	f.Add(env, true)
	f.Add([]byte("hs\x81\x04prod"), false)
	f.Add([]byte{}, true)
	f.Fuzz(func(t *testing.T, b []byte, asPlain bool) {
		out, err := k.open(nil, b, "prod")
		if err == nil {
			// Forging a tag by chance is out of reach: only a real sealing
			// of env (the seed, sealed with a nonce of its own in every
			// process) may open, and it opens to env.
			if !bytes.Equal(out, env) {
				t.Fatalf("opened bytes that were never sealed: %x -> %x", b, out)
			}
		} else if !errors.Is(err, errUnauthenticated) && !errors.Is(err, errWrongLabel) {
			t.Fatalf("open: unexpected error %v", err)
		}
		if !asPlain {
			return
		}
		// Treat b as a message after a plain header: seal, open, compare.
		plain := append([]byte{'h', 's', wireVersion, 4, 'p', 'r', 'o', 'd'}, b...)
		s, err := k.seal(nil, plain)
		if err != nil {
			t.Fatalf("seal: %v", err)
		}
		if len(s) != len(plain)+SealOverhead {
			t.Fatalf("sealed %d bytes into %d, want +%d", len(plain), len(s), SealOverhead)
		}
		got, err := k.open(nil, s, "prod")
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round trip: %v, %x != %x", err, got, plain)
		}
	})
}

func BenchmarkSealFullDatagram(b *testing.B) {
	k := mustKeyring(b, testKey(1))
	env, err := encodeEnvelope("prod", fullDatagram())
	require.NoError(b, err)
	buf := make([]byte, 0, len(env)+SealOverhead)
	b.SetBytes(int64(len(env)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = k.seal(buf[:0], env)
	}
}

func BenchmarkOpenFullDatagram(b *testing.B) {
	k := mustKeyring(b, testKey(1))
	env, err := encodeEnvelope("prod", fullDatagram())
	require.NoError(b, err)
	sealed, err := k.seal(nil, env)
	require.NoError(b, err)
	buf := make([]byte, 0, len(env))
	b.SetBytes(int64(len(sealed)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = k.open(buf[:0], sealed, "prod"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenForgery is what a forged datagram costs a receiver holding
// three keys: three failed tag checks.
func BenchmarkOpenForgery(b *testing.B) {
	k := mustKeyring(b, testKey(1), testKey(2), testKey(3))
	env, err := encodeEnvelope("prod", fullDatagram())
	require.NoError(b, err)
	forged, err := mustKeyring(b, testKey(4)).seal(nil, env)
	require.NoError(b, err)
	buf := make([]byte, 0, len(env))
	b.SetBytes(int64(len(forged)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.open(buf[:0], forged, "prod"); err == nil {
			b.Fatal("forgery opened")
		}
	}
}
