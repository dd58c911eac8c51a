package std

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func newTestTransport(t *testing.T, bind string, mod func(*TransportConfig)) *udpTransport {
	t.Helper()
	cfg := defaultTransportConfig()
	cfg.BindAddr = bind
	cfg.Label = "test"
	if mod != nil {
		mod(&cfg)
	}
	tr, err := newUDPTransport(cfg, decodeLimits{}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { tr.Close() })
	return tr
}

func hasIPv6Loopback() bool {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func testMessage(from string, seq uint64) core.Message {
	return core.Message{Kind: core.MessageGossip, From: from, FromID: "id-" + from, Seq: seq,
		Entries: []core.NodeRecord{{NodeID: "x", Authority: from, Status: core.StatusUp, Incarnation: seq, Meta: []byte("m")}}}
}

// collect polls tr until it has n messages.
func collect(t *testing.T, tr *udpTransport, n int) []core.GossipInbound {
	t.Helper()
	var got []core.GossipInbound
	eventually(t, waitTimeout, func() bool {
		got = append(got, tr.PollDeltas()...)
		return len(got) >= n
	}, "want %d messages, have %d", n, len(got))
	return got
}

func TestTransportConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(c *TransportConfig)
		field string
	}{
		{"default", func(c *TransportConfig) {}, ""},
		{"dual stack", func(c *TransportConfig) { c.BindAddr = ":0" }, ""},
		{"ipv6", func(c *TransportConfig) { c.BindAddr = "[::1]:0" }, ""},
		{"host name", func(c *TransportConfig) { c.BindAddr = "localhost:7946" }, "BindAddr"},
		{"no port", func(c *TransportConfig) { c.BindAddr = "127.0.0.1" }, "BindAddr"},
		{"advertise wildcard", func(c *TransportConfig) { c.AdvertiseAddr = "0.0.0.0:7946" }, "AdvertiseAddr"},
		{"advertise port 0", func(c *TransportConfig) { c.AdvertiseAddr = "10.0.0.1:0" }, "AdvertiseAddr"},
		{"advertise name", func(c *TransportConfig) { c.AdvertiseAddr = "node1:7946" }, "AdvertiseAddr"},
		{"advertise leading zeros", func(c *TransportConfig) { c.AdvertiseAddr = "127.0.0.1:029900" }, "AdvertiseAddr"},
		{"advertise mapped IPv4", func(c *TransportConfig) { c.AdvertiseAddr = "[::ffff:127.0.0.1]:29900" }, "AdvertiseAddr"},
		{"advertise multicast", func(c *TransportConfig) { c.AdvertiseAddr = "224.0.0.1:7946" }, "AdvertiseAddr"},
		{"label", func(c *TransportConfig) { c.Label = strings.Repeat("l", 256) }, "Label"},
		{"datagram small", func(c *TransportConfig) { c.MaxDatagramBytes = 511 }, "MaxDatagramBytes"},
		{"datagram large", func(c *TransportConfig) { c.MaxDatagramBytes = 65508 }, "MaxDatagramBytes"},
		{"datagram vs label", func(c *TransportConfig) { c.MaxDatagramBytes = 512; c.Label = strings.Repeat("l", 255) }, "MaxDatagramBytes"},
		{"inbound", func(c *TransportConfig) { c.InboundCapacity = 0 }, "InboundCapacity"},
		{"outbound", func(c *TransportConfig) { c.OutboundCapacity = -1 }, "OutboundCapacity"},
		{"filter", func(c *TransportConfig) { c.Filter.Deny = []netip.Prefix{{}} }, "Filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultTransportConfig()
			tt.mod(&c)
			err := c.validate()
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, core.ErrInvalidConfig)
			assert.Contains(t, err.Error(), "Config.Transport."+tt.field)
		})
	}
}

func TestFilter(t *testing.T) {
	f := Filter{
		Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")},
		Deny:  []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
	}.normalized()
	tests := []struct {
		addr string
		want bool
	}{
		{"10.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"10.1.2.3", false}, // deny wins
		{"192.168.0.1", false},
		{"fd00::1", true},
		{"fe80::1", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, f.allowed(netip.MustParseAddr(tt.addr)), tt.addr)
	}
	var all Filter
	assert.True(t, all.allowed(netip.MustParseAddr("1.2.3.4")), "empty filter allows all")
}

func exchange(t *testing.T, bindA, bindB string) {
	a := newTestTransport(t, bindA, nil)
	b := newTestTransport(t, bindB, nil)
	const n = 100
	for i := range n {
		require.NoError(t, a.Send(core.GossipOutbound{Target: b.AdvertiseAddr(), Message: testMessage(a.AdvertiseAddr(), uint64(i))}))
	}
	require.NoError(t, b.Send(core.GossipOutbound{Target: a.AdvertiseAddr(), Message: testMessage(b.AdvertiseAddr(), 7)}))
	got := collect(t, b, n)
	for _, in := range got {
		assert.Equal(t, a.AdvertiseAddr(), in.Message.From)
		assert.Equal(t, a.LocalAddr().String(), in.Source)
	}
	back := collect(t, a, 1)
	assert.Equal(t, testMessage(b.AdvertiseAddr(), 7), back[0].Message)
	eventually(t, waitTimeout, func() bool { return a.Stats().DatagramsSent == n }, "sent counter")
	sa, sb := a.Stats(), b.Stats()
	assert.EqualValues(t, n, sb.Delivered)
	assert.Equal(t, sa.BytesSent, sb.BytesReceived)
	assert.Zero(t, sb.DroppedDecodeError+sb.DroppedFiltered+sb.DroppedOversize+sb.DroppedWrongLabel)
}

func TestTransportIPv4(t *testing.T) { exchange(t, "127.0.0.1:0", "127.0.0.1:0") }

func TestTransportIPv6(t *testing.T) {
	if !hasIPv6Loopback() {
		t.Skip("this host has no IPv6 loopback ([::1] cannot be bound); IPv6 is untested here")
	}
	exchange(t, "[::1]:0", "[::1]:0")
}

func TestTransportPlainIO(t *testing.T) {
	forcePlainIO = true
	defer func() { forcePlainIO = false }()
	exchange(t, "127.0.0.1:0", "127.0.0.1:0")
}

func TestTransportDualStackToIPv4(t *testing.T) {
	// A wildcard socket sends to an IPv4 peer and receives its answer.
	a := newTestTransport(t, ":0", func(c *TransportConfig) { c.AdvertiseAddr = "127.0.0.1:1" })
	b := newTestTransport(t, "127.0.0.1:0", nil)
	require.NoError(t, a.Send(core.GossipOutbound{Target: b.AdvertiseAddr(), Message: testMessage("10.9.9.1:7946", 1)}))
	in := collect(t, b, 1)[0]
	src := netip.MustParseAddrPort(in.Source)
	assert.True(t, src.Addr().Is4(), "source %s is reported as plain IPv4", in.Source)
	require.NoError(t, b.Send(core.GossipOutbound{Target: in.Source, Message: testMessage("10.9.9.2:7946", 2)}))
	assert.Equal(t, "10.9.9.2:7946", collect(t, a, 1)[0].Message.From)
}

func TestTransportPollDeltasEmpty(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1:0", nil)
	got := a.PollDeltas()
	assert.NotNil(t, got)
	assert.Empty(t, got)
}

func TestTransportSendErrors(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.MaxDatagramBytes = 512 })
	big := testMessage("10.9.9.1:7946", 1)
	big.Entries[0].Meta = make([]byte, 600)
	tests := []struct {
		name   string
		out    core.GossipOutbound
		reason error
	}{
		{"host name", core.GossipOutbound{Target: "localhost:7946", Message: testMessage("10.9.9.1:7946", 1)}, errBadTarget},
		{"no port", core.GossipOutbound{Target: "127.0.0.1", Message: testMessage("10.9.9.1:7946", 1)}, errBadTarget},
		{"port 0", core.GossipOutbound{Target: "127.0.0.1:0", Message: testMessage("10.9.9.1:7946", 1)}, errBadTarget},
		{"ipv6 from ipv4 socket", core.GossipOutbound{Target: "[::1]:7946", Message: testMessage("10.9.9.1:7946", 1)}, errBadTarget},
		{"oversize", core.GossipOutbound{Target: "127.0.0.1:9", Message: big}, errOversize},
		{"bad kind", core.GossipOutbound{Target: "127.0.0.1:9", Message: core.Message{Kind: 99}}, errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.Send(tt.out)
			require.ErrorIs(t, err, core.ErrSendFailed)
			require.ErrorIs(t, err, tt.reason)
		})
	}
	s := a.Stats()
	assert.EqualValues(t, 4, s.SendBadTarget)
	assert.EqualValues(t, 1, s.SendOversize)
	assert.EqualValues(t, 1, s.SendEncodeError)

	require.NoError(t, a.Close())
	require.NoError(t, a.Close(), "second Close is a no-op")
	err := a.Send(core.GossipOutbound{Target: "127.0.0.1:9", Message: testMessage("10.9.9.1:7946", 1)})
	require.ErrorIs(t, err, core.ErrSendFailed)
	require.ErrorIs(t, err, errClosed)
	assert.NotNil(t, a.PollDeltas())
}

func TestTransportFullOutboundQueue(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.OutboundCapacity = 1 })
	b := newTestTransport(t, "127.0.0.1:0", nil)
	var full error
	eventually(t, waitTimeout, func() bool {
		for range 1000 {
			if err := a.Send(core.GossipOutbound{Target: b.AdvertiseAddr(), Message: testMessage("10.9.9.1:7946", 1)}); err != nil {
				full = err
				return true
			}
		}
		return false
	}, "a one-slot queue never filled")
	require.ErrorIs(t, full, core.ErrSendFailed)
	require.ErrorIs(t, full, errQueueFull)
	assert.Positive(t, a.Stats().SendQueueFull)
}

func TestTransportFullInboundQueue(t *testing.T) {
	// Three sources: one source alone is held to its fair share of the
	// queue (see TestOneSourceCannotFillTheInboundQueue) and cannot fill it.
	var senders []*udpTransport
	for range 3 {
		senders = append(senders, newTestTransport(t, "127.0.0.1:0", nil))
	}
	b := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.InboundCapacity = 2 })
	eventually(t, waitTimeout, func() bool {
		for _, a := range senders {
			_ = a.Send(core.GossipOutbound{Target: b.AdvertiseAddr(), Message: testMessage("10.9.9.1:7946", 1)})
		}
		return b.Stats().DroppedInboundFull > 0
	}, "inbound drops never counted")
	assert.Len(t, b.PollDeltas(), 2)
}

// rawSend sends b to addr from a plain socket.
func rawSend(t *testing.T, addr string, b []byte) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(b)
	require.NoError(t, err)
}

func TestTransportDropsBadDatagrams(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) { c.MaxDatagramBytes = 600 })
	good, err := encodeEnvelope("test", testMessage("10.9.9.9:7946", 1))
	require.NoError(t, err)
	foreign, err := encodeEnvelope("other-cluster", testMessage("10.9.9.9:7946", 1))
	require.NoError(t, err)
	oversize := append(encodeEnvelopeMust(t, "test", testMessage("10.9.9.9:7946", 1)), make([]byte, 700)...)

	rawSend(t, a.AdvertiseAddr(), oversize)
	rawSend(t, a.AdvertiseAddr(), []byte("random garbage \x00\xff\x13"))
	rawSend(t, a.AdvertiseAddr(), good[:len(good)-3]) // truncated
	rawSend(t, a.AdvertiseAddr(), foreign)
	rawSend(t, a.AdvertiseAddr(), good)

	got := collect(t, a, 1)
	assert.Equal(t, testMessage("10.9.9.9:7946", 1), got[0].Message)
	eventually(t, waitTimeout, func() bool { return a.Stats().DatagramsReceived == 5 }, "all datagrams read")
	s := a.Stats()
	assert.EqualValues(t, 1, s.DroppedOversize, "oversize")
	assert.EqualValues(t, 2, s.DroppedDecodeError, "garbage and truncated")
	assert.EqualValues(t, 1, s.DroppedWrongLabel, "foreign label")
	assert.EqualValues(t, 1, s.Delivered)
	assert.Len(t, got, 1)
}

// Another spelling of an address is refused at the codec, and counted: the
// per-target limits of core see one spelling per address.
func TestTransportDropsNonCanonicalAuthorities(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1:0", nil)
	for _, from := range []string{"127.0.0.1:029900", "[::ffff:127.0.0.1]:29900"} {
		rawSend(t, a.AdvertiseAddr(), encodeEnvelopeMust(t, "test", core.Message{Kind: core.MessageHeartbeat, From: from, FromID: "x", Seq: 1}))
	}
	good := testMessage("127.0.0.1:29900", 1)
	rawSend(t, a.AdvertiseAddr(), encodeEnvelopeMust(t, "test", good))
	assert.Equal(t, good, collect(t, a, 1)[0].Message)
	eventually(t, waitTimeout, func() bool { return a.Stats().DatagramsReceived == 3 }, "all datagrams read")
	assert.EqualValues(t, 2, a.Stats().DroppedDecodeError, "both spellings dropped")
	assert.EqualValues(t, 1, a.Stats().Delivered)
}

func encodeEnvelopeMust(t *testing.T, label string, m core.Message) []byte {
	b, err := encodeEnvelope(label, m)
	require.NoError(t, err)
	return b
}

func TestTransportFilterDropsBeforeDecoding(t *testing.T) {
	a := newTestTransport(t, "127.0.0.1:0", func(c *TransportConfig) {
		c.Filter.Deny = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	good := encodeEnvelopeMust(t, "test", testMessage("10.9.9.9:7946", 1))
	rawSend(t, a.AdvertiseAddr(), good)
	rawSend(t, a.AdvertiseAddr(), []byte("garbage"))
	eventually(t, waitTimeout, func() bool { return a.Stats().DroppedFiltered == 2 }, "filtered drops")
	s := a.Stats()
	assert.Zero(t, s.DroppedDecodeError, "filtered garbage is never decoded")
	assert.Zero(t, s.Delivered)
	assert.Empty(t, a.PollDeltas())
}

func TestTransportCloseStopsGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := defaultTransportConfig()
	cfg.BindAddr = "127.0.0.1:0"
	a, err := newUDPTransport(cfg, decodeLimits{}, nil)
	require.NoError(t, err)
	require.NoError(t, a.Send(core.GossipOutbound{Target: "127.0.0.1:9", Message: testMessage("10.9.9.1:7946", 1)}))
	require.NoError(t, a.Close())
}

func TestTransportWildcardAdvertise(t *testing.T) {
	cfg := defaultTransportConfig()
	cfg.BindAddr = "0.0.0.0:0"
	a, err := newUDPTransport(cfg, decodeLimits{}, nil)
	if errors.Is(err, core.ErrInvalidConfig) {
		t.Skipf("no unicast interface address on this host: %v", err)
	}
	require.NoError(t, err)
	defer a.Close()
	ap := netip.MustParseAddrPort(a.AdvertiseAddr())
	assert.False(t, ap.Addr().IsUnspecified())
	assert.Equal(t, a.LocalAddr().Port(), ap.Port())
}
