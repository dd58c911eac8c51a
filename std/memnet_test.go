//go:build go1.25

package std

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// memNetwork is an in-memory network of sockets, for running transports,
// gossipers and nodes in virtual time (testing/synctest). A UDP socket's
// reader blocks in a system call, which a synctest bubble does not count as
// durably blocked, so the bubble's clock would never advance; a memSocket
// blocks on channels instead. Everything above the socket is the real
// transport (newTransport): the codec, the keyring, the label, the filter,
// the queues and their counters, and the arrival signal the gossip loop
// wakes on.
//
// Delivery is immediate, and loses what UDP on a quiet host loses: a
// datagram to an address nobody listens on, to or from an isolated address,
// or to a socket whose receive buffer (memSocketBuffer datagrams) is full.
type memNetwork struct {
	mu    sync.Mutex
	socks map[netip.AddrPort]*memSocket
	port  uint16 // the last port handed out for a bind to port 0
	// cut holds isolated addresses: what they send and what is sent to
	// them is lost.
	cut map[netip.AddrPort]bool
	// overflows counts datagrams lost to a full receive buffer.
	overflows atomic.Uint64
	// tap, when set, sees every datagram put on the network (set it before
	// the nodes start; it must not keep b).
	tap func(src, dst netip.AddrPort, b []byte)
	// stall, when set, holds every socket's writes until it is closed: the
	// transports' outbound queues fill up behind them.
	stall chan struct{}
}

// memSocketBuffer is how many datagrams a memSocket holds unread, about
// what a default Linux receive buffer holds of small datagrams.
const memSocketBuffer = 256

func newMemNetwork() *memNetwork {
	return &memNetwork{socks: map[netip.AddrPort]*memSocket{}, cut: map[netip.AddrPort]bool{}, port: 20000}
}

// listen is a listenFunc: a transport on a socket of the network bound at
// cfg.BindAddr (an IP literal; port 0 picks a fresh port).
func (n *memNetwork) listen(cfg TransportConfig, decode decodeLimits, log *slog.Logger) (nodeTransport, error) {
	return n.open(cfg, decode, log)
}

func (n *memNetwork) open(cfg TransportConfig, decode decodeLimits, log *slog.Logger) (*udpTransport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ip, port, _ := parseBindAddr(cfg.BindAddr)
	if !ip.IsValid() || ip.IsUnspecified() {
		return nil, fmt.Errorf("memNetwork: bind to an IP literal, not %q", cfg.BindAddr)
	}
	ip = ip.Unmap()
	network := "udp6"
	if ip.Is4() {
		network = "udp4"
	}
	n.mu.Lock()
	if port == 0 {
		n.port++
		port = n.port
	}
	addr := netip.AddrPortFrom(ip, port)
	if _, taken := n.socks[addr]; taken {
		n.mu.Unlock()
		return nil, fmt.Errorf("memNetwork: bind %s: address in use", addr)
	}
	sock := &memSocket{net: n, addr: addr, inbox: make(chan memDatagram, memSocketBuffer), closed: make(chan struct{})}
	n.socks[addr] = sock
	n.mu.Unlock()
	t, err := newTransport(cfg, decode, log, sock, addr, network)
	if err != nil {
		sock.close()
		return nil, err
	}
	return t, nil
}

// attach opens a transport of the network at bind, with label "test" and
// the other defaults, changed by mod when not nil; it is closed at the end
// of the test. Call it inside a bubble.
func (n *memNetwork) attach(t testing.TB, bind string, mod func(*TransportConfig)) *udpTransport {
	t.Helper()
	cfg := defaultTransportConfig()
	cfg.BindAddr, cfg.Label = bind, "test"
	if mod != nil {
		mod(&cfg)
	}
	tr, err := n.open(cfg, decodeLimits{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// isolate cuts addr off the network (true) or reconnects it (false).
func (n *memNetwork) isolate(addr string, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[netip.MustParseAddrPort(addr)] = cut
}

// inject delivers datagram b to "ip:port" to as if sent from "ip:port"
// from, which need not be a socket of the network (a forger, a flood).
func (n *memNetwork) inject(from, to string, b []byte) {
	n.deliver(netip.MustParseAddrPort(from), netip.MustParseAddrPort(to), bytes.Clone(b))
}

// deliver queues datagram b from src on the socket at dst, or loses it.
// b must not be used afterwards.
func (n *memNetwork) deliver(src, dst netip.AddrPort, b []byte) {
	n.mu.Lock()
	to := n.socks[dst]
	lost := n.cut[src] || n.cut[dst]
	tap := n.tap
	n.mu.Unlock()
	if tap != nil {
		tap(src, dst, b)
	}
	if to == nil || lost {
		return
	}
	select {
	case to.inbox <- memDatagram{from: src, b: b}:
	default:
		n.overflows.Add(1)
	}
}

// memSocket is one socket of a memNetwork: a packetConn.
type memSocket struct {
	net       *memNetwork
	addr      netip.AddrPort
	inbox     chan memDatagram
	closed    chan struct{}
	closeOnce sync.Once
}

type memDatagram struct {
	from netip.AddrPort
	b    []byte
}

// read blocks until a datagram arrives, then takes what else is waiting,
// up to len(bufs). A datagram longer than its buffer is cut short, as the
// kernel does.
func (s *memSocket) read(bufs [][]byte, got []recvd) (int, error) {
	var d memDatagram
	select {
	case d = <-s.inbox:
	case <-s.closed:
		return 0, fmt.Errorf("memSocket %s: %w", s.addr, net.ErrClosed)
	}
	n := 0
	for {
		got[n] = recvd{n: copy(bufs[n], d.b), from: d.from}
		n++
		if n == len(bufs) {
			return n, nil
		}
		select {
		case d = <-s.inbox:
		default:
			return n, nil
		}
	}
}

// write delivers every packet (a copy: the transport reuses its buffers).
func (s *memSocket) write(pkts []outPacket, _ func(p *outPacket, err error)) {
	s.net.mu.Lock()
	stall := s.net.stall
	s.net.mu.Unlock()
	if stall != nil {
		select {
		case <-stall:
		case <-s.closed:
			return
		}
	}
	for _, p := range pkts {
		s.net.deliver(s.addr, p.to, bytes.Clone(p.buf))
	}
}

func (s *memSocket) setWriteDeadline(time.Time) error { return nil }

// close detaches the socket from the network and fails the reads.
func (s *memSocket) close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.net.mu.Lock()
		delete(s.net.socks, s.addr)
		s.net.mu.Unlock()
	})
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
