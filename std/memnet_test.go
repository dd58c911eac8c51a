//go:build go1.25

package std

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// memNetwork is an in-memory network for running gossipers and nodes in
// virtual time (testing/synctest). A UDP socket's reader goroutine blocks in
// a system call, which a synctest bubble does not count as durably blocked,
// so the bubble's clock would never advance; this network has no goroutine
// of its own. A message crosses it through the real codec (encoded with
// the sender's label, decoded by the receiver's decoder), so every receiver
// gets its own copy and a foreign label is dropped, as over UDP. Delivery is
// immediate: the receiver's transport queues the message and signals its
// arrival, as the UDP transport's reader does.
type memNetwork struct {
	mu   sync.Mutex
	ends map[netip.AddrPort]*memTransport
	port uint16 // the last port handed out for a bind to port 0
	// cut holds isolated authorities: what they send and what is sent to
	// them is lost.
	cut map[netip.AddrPort]bool
}

func newMemNetwork() *memNetwork {
	return &memNetwork{ends: map[netip.AddrPort]*memTransport{}, cut: map[netip.AddrPort]bool{}, port: 20000}
}

// listen is a listenFunc: it attaches a transport at cfg.BindAddr (its IP,
// 127.0.0.1 for a wildcard; a fresh port for port 0).
func (n *memNetwork) listen(cfg TransportConfig, decode decodeLimits, _ *slog.Logger) (nodeTransport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ip, port, _ := parseBindAddr(cfg.BindAddr)
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if port == 0 {
		n.port++
		port = n.port
	}
	addr := netip.AddrPortFrom(ip.Unmap(), port)
	if _, taken := n.ends[addr]; taken {
		return nil, fmt.Errorf("memNetwork: %s is in use", addr)
	}
	decode.MaxDatagramBytes = cfg.MaxDatagramBytes
	t := &memTransport{
		net: n, addr: addr, label: cfg.Label, maxBytes: cfg.MaxDatagramBytes, inCap: cfg.InboundCapacity,
		decoder: newEnvelopeDecoder(cfg.Label, decode), arrived: make(chan struct{}, 1),
	}
	n.ends[addr] = t
	return t, nil
}

// attach is listen for tests that drive a gossiper without a Node.
func (n *memNetwork) attach(t testing.TB, bind string) *memTransport {
	t.Helper()
	cfg := defaultTransportConfig()
	cfg.BindAddr, cfg.Label = bind, "test"
	tr, err := n.listen(cfg, decodeLimits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr.(*memTransport)
}

// isolate cuts addr off the network (true) or reconnects it (false).
func (n *memNetwork) isolate(addr string, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[netip.MustParseAddrPort(addr)] = cut
}

// deliver hands datagram b from src to the transport at dst, if it is
// there, open and not cut off; otherwise the datagram is lost, as over UDP.
func (n *memNetwork) deliver(src, dst netip.AddrPort, b []byte) {
	n.mu.Lock()
	to := n.ends[dst]
	lost := n.cut[src] || n.cut[dst]
	n.mu.Unlock()
	if to != nil && !lost {
		to.receive(src, b)
	}
}

// memTransport is one end of a memNetwork. It implements nodeTransport and
// arrivalNotifier. All methods are safe for concurrent use.
type memTransport struct {
	net      *memNetwork
	addr     netip.AddrPort
	label    string
	maxBytes int
	inCap    int
	arrived  chan struct{}
	stats    transportCounters

	mu      sync.Mutex // guards what follows
	decoder *envelopeDecoder
	in      []core.GossipInbound
	closed  bool
}

func (t *memTransport) Send(out core.GossipOutbound) error {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		t.stats.sendClosed.Add(1)
		return fmt.Errorf("%w: %w", core.ErrSendFailed, errClosed)
	}
	to, err := netip.ParseAddrPort(out.Target)
	if err != nil {
		t.stats.sendBadTarget.Add(1)
		return fmt.Errorf("%w: %w: %q", core.ErrSendFailed, errBadTarget, out.Target)
	}
	b, err := encodeEnvelope(t.label, out.Message)
	if err != nil {
		t.stats.sendEncodeError.Add(1)
		return fmt.Errorf("%w: %w", core.ErrSendFailed, err)
	}
	if len(b) > t.maxBytes {
		t.stats.sendOversize.Add(1)
		return fmt.Errorf("%w: %w: %d bytes", core.ErrSendFailed, errOversize, len(b))
	}
	t.stats.datagramsSent.Add(1)
	t.stats.bytesSent.Add(uint64(len(b)))
	t.net.deliver(t.addr, netip.AddrPortFrom(to.Addr().Unmap(), to.Port()), b)
	return nil
}

// receive decodes and queues one datagram from src, and signals its arrival.
func (t *memTransport) receive(src netip.AddrPort, b []byte) {
	t.stats.datagramsReceived.Add(1)
	t.stats.bytesReceived.Add(uint64(len(b)))
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	m, err := t.decoder.Decode(b)
	switch {
	case err != nil:
		t.stats.droppedDecodeError.Add(1)
	case len(t.in) >= t.inCap:
		t.stats.droppedInboundFull.Add(1)
	default:
		t.in = append(t.in, core.GossipInbound{Source: src.String(), Message: m})
		t.stats.delivered.Add(1)
	}
	t.mu.Unlock()
	if err == nil {
		select {
		case t.arrived <- struct{}{}:
		default:
		}
	}
}

func (t *memTransport) PollDeltas() []core.GossipInbound {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.in
	t.in = nil
	if out == nil {
		return []core.GossipInbound{}
	}
	return out
}

func (t *memTransport) arrivals() <-chan struct{} { return t.arrived }
func (t *memTransport) AdvertiseAddr() string     { return t.addr.String() }
func (t *memTransport) LocalAddr() netip.AddrPort { return t.addr }
func (t *memTransport) Stats() TransportStats     { return t.stats.snapshot() }

// MaxMessageBytes is what a message may take in one datagram.
func (t *memTransport) MaxMessageBytes() int { return MaxMessageBytes(t.maxBytes, t.label) }

// Close detaches the transport: later sends fail and nothing reaches it.
func (t *memTransport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.net.mu.Lock()
	delete(t.net.ends, t.addr)
	t.net.mu.Unlock()
	return nil
}

// inBubble runs f in a synctest bubble: time is virtual, and starts at
// midnight UTC 2000-01-01 whatever the wall clock says.
func inBubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, f)
}

// advance moves the bubble's clock on by d, then waits until every
// goroutine of the bubble is blocked: whatever was due by then has run.
// Inside a bubble time.Sleep returns when the fake clock reaches its end,
// which happens as soon as every goroutine is blocked; it is how virtual
// time passes, not a wait for a result.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// within advances the bubble's clock in steps of step until cond holds and
// returns the virtual time it took, or fails the test once limit has
// passed. Virtual time does not depend on the machine's load: limit is a
// bound on the protocol, not a timeout.
func within(t testing.TB, limit, step time.Duration, cond func() bool, format string, args ...any) time.Duration {
	t.Helper()
	synctest.Wait()
	start := time.Now()
	for !cond() {
		if time.Since(start) >= limit {
			t.Fatalf("not within %v of virtual time: %s", limit, fmt.Sprintf(format, args...))
		}
		advance(step)
	}
	return time.Since(start)
}
