package std

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// Send failures. Every error Send returns wraps core.ErrSendFailed and one
// of these (or errOversize, or an encoding *decodeError), so a caller can
// tell which with errors.Is.
var (
	// errQueueFull: the outbound queue is full; the message was not queued.
	errQueueFull = errors.New("hearsay: outbound queue full")
	// errBadTarget: the target is not an "ip:port" this socket can reach.
	errBadTarget = errors.New("hearsay: bad target address")
	// errClosed: the transport is closed.
	errClosed = errors.New("hearsay: transport closed")
)

// TransportStats counts what a Node's UDP transport sent, received and
// dropped.
type TransportStats struct {
	// DatagramsSent and BytesSent count datagrams the socket accepted.
	DatagramsSent, BytesSent uint64
	// DatagramsReceived and BytesReceived count every datagram read from the
	// socket, before filtering and decoding.
	DatagramsReceived, BytesReceived uint64
	// Delivered counts messages queued for PollDeltas.
	Delivered uint64

	// DroppedFiltered counts datagrams from sources the Filter rejects.
	DroppedFiltered uint64
	// DroppedOversize counts datagrams longer than MaxDatagramBytes.
	DroppedOversize uint64
	// DroppedWrongLabel counts datagrams of another cluster.
	DroppedWrongLabel uint64
	// DroppedDecodeError counts datagrams that did not decode (bad magic,
	// wrong version, malformed, truncated, over a decode limit, or naming an
	// authority that is not an "ip:port" in canonical form).
	DroppedDecodeError uint64
	// DroppedAuth counts datagrams dropped, with a Keyring, because they did
	// not open under any of its keys (plain under PlaintextRefused, forged,
	// altered, or sealed with a key not held).
	DroppedAuth uint64
	// ReceivedPlaintext counts unsealed datagrams accepted, and decoded,
	// although a Keyring is set: its PlaintextPolicy was PlaintextAccepted
	// or PlaintextSent. While encryption is being turned on, it shows who
	// still sends plain: once it stays put on every node, every node seals
	// and PlaintextRefused is safe. It stays 0 without a keyring.
	ReceivedPlaintext uint64
	// DroppedFairShare counts datagrams dropped, before decoding, because the
	// inbound queue was at least half full and their source already had a
	// fair share (InboundCapacity/8) of it: one busy or hostile source
	// cannot crowd the others' heartbeats out of the queue.
	DroppedFairShare uint64
	// DroppedInboundFull counts decoded messages dropped because
	// InboundCapacity messages were already waiting for PollDeltas.
	DroppedInboundFull uint64

	// SendQueueFull counts Send calls refused because the outbound queue was full.
	SendQueueFull uint64
	// SendOversize counts Send calls refused because the envelope exceeded
	// MaxDatagramBytes.
	SendOversize uint64
	// SendBadTarget counts Send calls refused for an unusable target.
	SendBadTarget uint64
	// SendEncodeError counts Send calls refused because the message could
	// not be encoded (unknown kind or status).
	SendEncodeError uint64
	// SendClosed counts Send calls after Close.
	SendClosed uint64
	// SendErrors counts datagrams the socket refused to send.
	SendErrors uint64
}

// transportCounters is TransportStats as atomics.
type transportCounters struct {
	datagramsSent, bytesSent, datagramsReceived, bytesReceived, delivered                       atomic.Uint64
	droppedFiltered, droppedOversize, droppedWrongLabel, droppedDecodeError, droppedInboundFull atomic.Uint64
	droppedAuth, droppedFairShare, receivedPlaintext                                            atomic.Uint64
	sendQueueFull, sendOversize, sendBadTarget, sendEncodeError, sendClosed, sendErrors         atomic.Uint64
}

// readBatchBytes bounds the memory of the receive buffers of one batch.
const readBatchBytes = 256 << 10

// maxBatch is the most datagrams read or written per system call.
const maxBatch = 32

// udpTransport implements core.GossipTransport over one UDP socket. Send
// encodes the message and queues the datagram for a writer goroutine; a
// reader goroutine reads, filters and decodes datagrams and queues them for
// PollDeltas, signalling each batch on arrivals. Both queues are bounded
// and neither call ever blocks. All methods are safe for concurrent use.
type udpTransport struct {
	sock      packetConn
	local     netip.AddrPort
	advertise string
	label     string
	maxBytes  int
	filter    Filter
	decoder   *envelopeDecoder // reader goroutine only
	keyring   *Keyring         // nil: plain datagrams; else see its PlaintextPolicy
	opened    []byte           // reader goroutine only: the envelope of the datagram just opened
	log       *slog.Logger
	canV4     bool // the socket can send to IPv4 targets
	canV6     bool // the socket can send to IPv6 targets

	// The inbound queue is a slice that grows as messages arrive, up to
	// inCap, and is handed over whole by PollDeltas: bounded like a channel
	// of inCap, without preallocating inCap messages per transport.
	inMu  sync.Mutex // guards in and pend
	in    []core.GossipInbound
	inCap int
	inLen int            // how many messages the last PollDeltas took: the next queue's first capacity
	share int            // messages one source may have waiting in a congested queue
	pend  map[string]int // messages waiting in in, by source
	// arrived receives after the reader queued messages (see arrivals).
	arrived chan struct{}
	out     chan outPacket
	free    chan []byte // encode buffers
	batch   int
	closed  atomic.Bool
	done    chan struct{}
	reader  sync.WaitGroup
	writer  sync.WaitGroup
	stats   transportCounters
	// sources counts what becomes of the datagrams of the sources a Node
	// watches (its seeds while it joins).
	sources sourceWatch
}

// forcePlainIO makes new transports use one datagram per system call (a
// test hook for the non-Linux path).
var forcePlainIO = false

// newUDPTransport validates cfg, binds the socket and starts the reader and
// writer goroutines; what arrives is decoded within decode (zero fields take
// their defaults; MaxDatagramBytes is cfg's) and log (nil discards) gets the
// transport's logs. Close stops the goroutines.
func newUDPTransport(cfg TransportConfig, decode decodeLimits, log *slog.Logger) (*udpTransport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ip, port, _ := parseBindAddr(cfg.BindAddr)
	network, laddr := "udp", &net.UDPAddr{Port: int(port)}
	if ip.IsValid() {
		laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port))
		network = "udp6"
		if ip.Unmap().Is4() {
			network = "udp4"
		}
	}
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("hearsay: bind %s: %w", cfg.BindAddr, err)
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	batch := max(1, min(maxBatch, readBatchBytes/(cfg.MaxDatagramBytes+1)))
	sock := &udpSocket{conn: conn}
	if forcePlainIO {
		sock.packetIO = &plainIO{conn: conn}
	} else {
		sock.packetIO = newPacketIO(conn, batch)
	}
	t, err := newTransport(cfg, decode, log, sock, local, network)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return t, nil
}

// newTransport starts a transport over sock, a socket bound at local of
// network ("udp4", "udp6", or "udp" for a dual-stack wildcard): std's UDP
// socket, or an in-memory one in tests. cfg is valid.
func newTransport(cfg TransportConfig, decode decodeLimits, log *slog.Logger, sock packetConn, local netip.AddrPort, network string) (*udpTransport, error) {
	advertise, err := advertiseAddr(cfg.AdvertiseAddr, local, network)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	limits := decode
	limits.MaxDatagramBytes = cfg.MaxDatagramBytes
	batch := max(1, min(maxBatch, readBatchBytes/(cfg.MaxDatagramBytes+1)))
	t := &udpTransport{
		sock:      sock,
		local:     local,
		advertise: advertise,
		label:     cfg.Label,
		maxBytes:  cfg.MaxDatagramBytes,
		filter:    cfg.Filter.normalized(),
		decoder:   newEnvelopeDecoder(cfg.Label, limits),
		keyring:   cfg.Keyring,
		log:       log.With("component", "hearsay.transport", "local", local.String()),
		inCap:     cfg.InboundCapacity,
		share:     max(1, cfg.InboundCapacity/8),
		pend:      make(map[string]int),
		arrived:   make(chan struct{}, 1),
		out:       make(chan outPacket, cfg.OutboundCapacity),
		free:      make(chan []byte, cfg.OutboundCapacity+maxBatch),
		batch:     batch,
		done:      make(chan struct{}),
	}
	switch {
	case network == "udp4":
		t.canV4 = true
	case network == "udp6":
		t.canV6 = true
	default: // wildcard: dual-stack when the socket is IPv6
		t.canV4 = true
		t.canV6 = local.Addr().Is6()
	}
	t.reader.Add(1)
	go t.readLoop()
	t.writer.Add(1)
	go t.writeLoop()
	t.log.Debug("listening", "advertise", advertise, "max_datagram_bytes", t.maxBytes, "batch", batch)
	return t, nil
}

// advertiseAddr picks the address other members reach this node at.
// network is "udp4", "udp6" (one family) or "udp" (dual-stack).
func advertiseAddr(configured string, local netip.AddrPort, network string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if !local.Addr().IsUnspecified() {
		return local.String(), nil
	}
	ip, err := hostAddr(func(a netip.Addr) bool {
		return network == "udp" || a.Is4() == (network == "udp4")
	})
	if err != nil {
		return "", fmt.Errorf("%w: Config.Transport.AdvertiseAddr: bound to a wildcard address and %v; set AdvertiseAddr",
			core.ErrInvalidConfig, err)
	}
	return netip.AddrPortFrom(ip, local.Port()).String(), nil
}

// hostAddr returns this host's first private unicast address, else its
// first global unicast one, among those usable says yes to.
func hostAddr(usable func(netip.Addr) bool) (netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("cannot list interface addresses: %v", err)
	}
	var global netip.Addr
	for _, a := range addrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := pfx.Addr().Unmap()
		if !ip.IsGlobalUnicast() || !usable(ip) {
			continue
		}
		if ip.IsPrivate() {
			return ip, nil
		}
		if !global.IsValid() {
			global = ip
		}
	}
	if global.IsValid() {
		return global, nil
	}
	return netip.Addr{}, errors.New("no unicast interface address found")
}

// LocalAddr returns the bound address (with the real port when BindAddr
// asked for port 0).
func (t *udpTransport) LocalAddr() netip.AddrPort { return t.local }

// AdvertiseAddr returns the "ip:port" other members should send to: the
// configured AdvertiseAddr, else the bound address, else (wildcard bind) an
// interface address with the bound port.
func (t *udpTransport) AdvertiseAddr() string { return t.advertise }

// watched counts what becomes of the datagrams of the sources a Node
// watches.
func (t *udpTransport) watched() *sourceWatch { return &t.sources }

// Label returns the cluster label.
func (t *udpTransport) Label() string { return t.label }

// MaxDatagramBytes returns the datagram limit.
func (t *udpTransport) MaxDatagramBytes() int { return t.maxBytes }

// MaxMessageBytes returns the core.Config.MaxMessageBytes that makes every
// message fit a datagram of this transport: MaxDatagramBytes less the
// envelope and, with a keyring, SealOverhead.
func (t *udpTransport) MaxMessageBytes() int {
	return MaxMessageBytes(t.maxBytes, t.label) - t.keyring.sealOverhead()
}

// Send encodes out.Message and queues it for out.Target ("ip:port"). It never
// blocks. It fails with an error wrapping core.ErrSendFailed and one of
// errClosed, errBadTarget, errOversize, errQueueFull (or a *decodeError for
// an unknown kind or status) when the message cannot be queued.
func (t *udpTransport) Send(out core.GossipOutbound) error {
	if t.closed.Load() {
		t.stats.sendClosed.Add(1)
		return fmt.Errorf("%w: %w", core.ErrSendFailed, errClosed)
	}
	to, err := netip.ParseAddrPort(out.Target)
	if err != nil {
		t.stats.sendBadTarget.Add(1)
		return fmt.Errorf("%w: %w: %q is not \"ip:port\"", core.ErrSendFailed, errBadTarget, out.Target)
	}
	to = netip.AddrPortFrom(to.Addr().Unmap(), to.Port())
	switch {
	case to.Port() == 0 || to.Addr().IsUnspecified() || to.Addr().IsMulticast():
		t.stats.sendBadTarget.Add(1)
		return fmt.Errorf("%w: %w: %q is not a unicast address with a port", core.ErrSendFailed, errBadTarget, out.Target)
	case to.Addr().Is4() && !t.canV4:
		t.stats.sendBadTarget.Add(1)
		return fmt.Errorf("%w: %w: IPv4 target %q from an IPv6-only socket", core.ErrSendFailed, errBadTarget, out.Target)
	case to.Addr().Is6() && !t.canV6:
		t.stats.sendBadTarget.Add(1)
		return fmt.Errorf("%w: %w: IPv6 target %q from an IPv4 socket", core.ErrSendFailed, errBadTarget, out.Target)
	}
	buf := t.getBuf()
	buf, err = appendEnvelope(buf[:0], t.label, out.Message)
	if err != nil {
		t.putBuf(buf)
		t.stats.sendEncodeError.Add(1)
		return fmt.Errorf("%w: encode: %w", core.ErrSendFailed, err)
	}
	if t.keyring != nil && t.keyring.PlaintextPolicy() != PlaintextSent {
		plain := buf
		buf, err = t.keyring.seal(t.getBuf()[:0], plain)
		t.putBuf(plain)
		if err != nil {
			t.putBuf(buf)
			t.stats.sendEncodeError.Add(1)
			return fmt.Errorf("%w: %w", core.ErrSendFailed, err)
		}
	}
	if len(buf) > t.maxBytes {
		n := len(buf)
		t.putBuf(buf)
		t.stats.sendOversize.Add(1)
		return fmt.Errorf("%w: %w: %s message to %s is %d bytes, over MaxDatagramBytes %d",
			core.ErrSendFailed, errOversize, out.Message.Kind, out.Target, n, t.maxBytes)
	}
	select {
	case t.out <- outPacket{to: to, buf: buf}:
		return nil
	default:
		t.putBuf(buf)
		t.stats.sendQueueFull.Add(1)
		return fmt.Errorf("%w: %w (%d datagrams waiting)", core.ErrSendFailed, errQueueFull, cap(t.out))
	}
}

func (t *udpTransport) getBuf() []byte {
	select {
	case b := <-t.free:
		return b
	default:
		return make([]byte, 0, t.maxBytes)
	}
}

func (t *udpTransport) putBuf(b []byte) {
	if cap(b) > t.maxBytes { // grown by an oversize message: let it go
		return
	}
	select {
	case t.free <- b[:0]:
	default:
	}
}

// PollDeltas returns the messages that arrived since the last call, at most
// InboundCapacity of them, without blocking. It returns an empty, non-nil
// slice when nothing has arrived (or the transport is closed).
func (t *udpTransport) PollDeltas() []core.GossipInbound {
	t.inMu.Lock()
	defer t.inMu.Unlock()
	out := t.in
	if len(out) == 0 {
		return []core.GossipInbound{}
	}
	t.in, t.inLen = nil, len(out)
	for _, m := range out {
		t.unpend(m.Source)
	}
	return out
}

// admit reserves a place in the inbound queue for a message from src, and
// reports false when the queue is at least half full and src already has
// its fair share of it waiting.
func (t *udpTransport) admit(src string) bool {
	t.inMu.Lock()
	defer t.inMu.Unlock()
	n := t.pend[src]
	if n >= t.share && len(t.in) >= t.inCap/2 {
		return false
	}
	t.pend[src] = n + 1
	return true
}

// unadmit gives back a place admit reserved for a message that was not queued.
func (t *udpTransport) unadmit(src string) {
	t.inMu.Lock()
	t.unpend(src)
	t.inMu.Unlock()
}

// enqueue puts a decoded message (its source admitted) on the inbound
// queue, or reports false, giving its place back, when the queue is full.
func (t *udpTransport) enqueue(in core.GossipInbound) bool {
	t.inMu.Lock()
	defer t.inMu.Unlock()
	if len(t.in) >= t.inCap {
		t.unpend(in.Source)
		return false
	}
	if t.in == nil {
		t.in = make([]core.GossipInbound, 0, min(t.inCap, max(4, t.inLen)))
	}
	t.in = append(t.in, in)
	return true
}

// replyRoom returns the core.GossipInbound.Size of a datagram of n bytes:
// what a reply may take, as core.EstimateSize counts, without its datagram
// being longer than n: n less the envelope, and less the sealing when
// replies are sealed (a sealed datagram carries its own sealing in n, a
// plain one accepted by a keyring that seals does not). At least 1, so that
// it never reads as "unknown".
func (t *udpTransport) replyRoom(n int) int {
	n -= envelopeOverhead(t.label)
	if t.keyring != nil && t.keyring.PlaintextPolicy() != PlaintextSent {
		n -= SealOverhead
	}
	return max(1, n)
}

// unpend counts one message of src off the queue; inMu is held.
func (t *udpTransport) unpend(src string) {
	if n := t.pend[src] - 1; n > 0 {
		t.pend[src] = n
	} else {
		delete(t.pend, src)
	}
}

// Stats returns a snapshot of the counters.
func (t *udpTransport) Stats() TransportStats { return t.stats.snapshot() }

// snapshot reads every counter.
func (c *transportCounters) snapshot() TransportStats {
	return TransportStats{
		DatagramsSent: c.datagramsSent.Load(), BytesSent: c.bytesSent.Load(),
		DatagramsReceived: c.datagramsReceived.Load(), BytesReceived: c.bytesReceived.Load(),
		Delivered:       c.delivered.Load(),
		DroppedFiltered: c.droppedFiltered.Load(), DroppedOversize: c.droppedOversize.Load(),
		DroppedWrongLabel: c.droppedWrongLabel.Load(), DroppedDecodeError: c.droppedDecodeError.Load(),
		DroppedInboundFull: c.droppedInboundFull.Load(), DroppedAuth: c.droppedAuth.Load(),
		DroppedFairShare: c.droppedFairShare.Load(), ReceivedPlaintext: c.receivedPlaintext.Load(),
		SendQueueFull: c.sendQueueFull.Load(), SendOversize: c.sendOversize.Load(),
		SendBadTarget: c.sendBadTarget.Load(), SendEncodeError: c.sendEncodeError.Load(),
		SendClosed: c.sendClosed.Load(), SendErrors: c.sendErrors.Load(),
	}
}

// Close stops the transport: datagrams already queued are flushed (within
// a second), the socket is closed, and Close returns once the reader and
// writer goroutines have exited. Later Sends fail with errClosed. Closing
// twice is a no-op.
func (t *udpTransport) Close() error {
	if !t.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(t.done)
	t.writer.Wait()
	err := t.sock.close()
	t.reader.Wait()
	return err
}

// readLoop is the reader goroutine. It exits when the socket is closed.
func (t *udpTransport) readLoop() {
	defer t.reader.Done()
	bufs := make([][]byte, t.batch)
	for i := range bufs {
		// One byte over the limit: a datagram that fills it was longer than
		// MaxDatagramBytes and has been truncated by the kernel.
		bufs[i] = make([]byte, t.maxBytes+1)
	}
	got := make([]recvd, t.batch)
	sources := make(map[netip.AddrPort]string)
	for {
		n, err := t.sock.read(bufs, got)
		if err != nil {
			if t.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Warn("read failed", "err", err)
			select { // do not spin on a persistent error
			case <-t.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		queued := false
		for i := range n {
			queued = t.receive(bufs[i][:got[i].n], got[i].from, sources) || queued
		}
		if queued {
			t.signalArrival()
		}
	}
}

// arrivals returns a channel that receives after messages are queued for
// PollDeltas, once per batch the reader read: the gossip loop's signal to
// step now rather than at its next tick. It has a buffer of one, and the
// reader never blocks on it: a signal already waiting covers later ones.
func (t *udpTransport) arrivals() <-chan struct{} { return t.arrived }

// signalArrival tells the arrivals channel that messages are waiting,
// without blocking.
func (t *udpTransport) signalArrival() {
	select {
	case t.arrived <- struct{}{}:
	default:
	}
}

// receive filters, decodes and queues one datagram, and reports whether it
// was queued.
func (t *udpTransport) receive(b []byte, from netip.AddrPort, sources map[netip.AddrPort]string) bool {
	t.stats.datagramsReceived.Add(1)
	t.stats.bytesReceived.Add(uint64(len(b)))
	if !t.filter.allowed(from.Addr()) {
		t.stats.droppedFiltered.Add(1)
		t.sources.count(from, dropFiltered)
		t.log.Debug("dropped datagram from filtered source", "from", from)
		return false
	}
	if len(b) > t.maxBytes {
		t.stats.droppedOversize.Add(1)
		t.sources.count(from, dropOversize)
		t.log.Debug("dropped oversize datagram", "from", from, "limit", t.maxBytes)
		return false
	}
	src, ok := sources[from]
	if !ok {
		if len(sources) >= maxCachedAddrs {
			clear(sources)
		}
		src = from.String()
		sources[from] = src
	}
	if !t.admit(src) {
		t.stats.droppedFairShare.Add(1)
		t.sources.count(from, dropFairShare)
		t.log.Debug("dropped datagram: its source has its share of a busy inbound queue", "from", from)
		return false
	}
	m, dropped := t.decode(b, from)
	if dropped != dropNone {
		t.sources.count(from, dropped)
		t.unadmit(src)
		return false
	}
	if !t.enqueue(core.GossipInbound{Source: src, Message: m, Size: t.replyRoom(len(b))}) {
		t.stats.droppedInboundFull.Add(1)
		t.sources.count(from, dropInboundFull)
		t.log.Debug("dropped message: inbound queue full", "from", from, "kind", m.Kind)
		return false
	}
	t.stats.delivered.Add(1)
	t.sources.count(from, dropNone)
	return true
}

// decode opens (with a keyring) and decodes one datagram, counting and
// logging a failure, and says why it failed (dropNone: it did not). With a
// keyring whose policy accepts plaintext, an unsealed datagram is decoded as
// a transport without a keyring would.
func (t *udpTransport) decode(b []byte, from netip.AddrPort) (core.Message, dropReason) {
	plain := t.keyring != nil && isPlain(b) && t.keyring.PlaintextPolicy() != PlaintextRefused
	if t.keyring != nil && !plain {
		var err error
		t.opened, err = t.keyring.open(t.opened[:0], b, t.label)
		if err != nil {
			t.log.Debug("dropped unauthenticated datagram", "from", from, "err", err)
			if errors.Is(err, errWrongLabel) {
				t.stats.droppedWrongLabel.Add(1)
				return core.Message{}, dropWrongLabel
			}
			t.stats.droppedAuth.Add(1)
			return core.Message{}, dropAuth
		}
		b = t.opened
	}
	m, err := t.decoder.Decode(b)
	if err != nil {
		t.log.Debug("dropped undecodable datagram", "from", from, "err", err)
		if errors.Is(err, errWrongLabel) {
			t.stats.droppedWrongLabel.Add(1)
			return core.Message{}, dropWrongLabel
		}
		t.stats.droppedDecodeError.Add(1)
		return core.Message{}, dropDecode
	}
	if plain {
		t.stats.receivedPlaintext.Add(1)
	}
	return m, dropNone
}

// writeLoop is the writer goroutine. It exits when Close is called, after
// flushing what is queued.
func (t *udpTransport) writeLoop() {
	defer t.writer.Done()
	pkts := make([]outPacket, 0, t.batch)
	fail := func(p *outPacket, err error) {
		t.stats.sendErrors.Add(1)
		t.log.Debug("send failed", "to", p.to, "err", err)
		p.buf = nil // not sent
	}
	flush := func() {
		t.sock.write(pkts, fail)
		for i := range pkts {
			if pkts[i].buf != nil {
				t.stats.datagramsSent.Add(1)
				t.stats.bytesSent.Add(uint64(len(pkts[i].buf)))
				t.putBuf(pkts[i].buf)
			}
			pkts[i] = outPacket{}
		}
		pkts = pkts[:0]
	}
	for {
		select {
		case <-t.done:
			// Flush what is queued (a graceful leave's last gossip), bounded
			// by a deadline in case the socket blocks.
			_ = t.sock.setWriteDeadline(time.Now().Add(time.Second))
			for {
				select {
				case p := <-t.out:
					pkts = append(pkts, p)
					if len(pkts) == cap(pkts) {
						flush()
					}
				default:
					flush()
					return
				}
			}
		case p := <-t.out:
			pkts = append(pkts, p)
		drain:
			for len(pkts) < cap(pkts) {
				select {
				case p := <-t.out:
					pkts = append(pkts, p)
				default:
					break drain
				}
			}
			flush()
		}
	}
}
