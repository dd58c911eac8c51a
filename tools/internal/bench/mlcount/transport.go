package mlcount

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Counts is what a Transport counted since it was created.
type Counts struct {
	// DatagramsSent and BytesSent count every packet memberlist handed to
	// the transport (WriteTo, WriteToAddress) and its payload bytes:
	// memberlist's own framing included, IP and UDP headers not.
	DatagramsSent uint64 `json:"datagrams_sent"`
	BytesSent     uint64 `json:"bytes_sent"`
	// DatagramsReceived and BytesReceived count the packets the transport
	// passed to memberlist and their payload bytes; zero unless
	// Options.CountReceived.
	DatagramsReceived uint64 `json:"datagrams_received"`
	BytesReceived     uint64 `json:"bytes_received"`
	// Streams counts TCP streams dialled or accepted.
	Streams uint64 `json:"streams"`
	// StreamBytesSent and StreamBytesReceived count bytes written to and
	// read from streams (TCP payload).
	StreamBytesSent     uint64 `json:"stream_bytes_sent"`
	StreamBytesReceived uint64 `json:"stream_bytes_received"`
	// StreamSegmentsSent and StreamSegmentsReceived are the kernel's count
	// of TCP segments (tcpi_segs_out, tcpi_segs_in: handshake, data and
	// acknowledgements) of each stream, read when memberlist closes it, so
	// the closing FIN and its acknowledgement are not in it. Streams still
	// open are not counted yet.
	StreamSegmentsSent     uint64 `json:"stream_segments_sent"`
	StreamSegmentsReceived uint64 `json:"stream_segments_received"`
}

// Options tunes what a Transport counts.
type Options struct {
	// CountReceived counts received packets too. It puts one goroutine
	// between NetTransport's packet channel and memberlist, which adds a
	// channel hand-off per packet.
	CountReceived bool
}

// Transport is memberlist's NetTransport with counters. It is a
// memberlist.NodeAwareTransport; give it to memberlist.Config.Transport.
type Transport struct {
	*memberlist.NetTransport

	dgramsSent, bytesSent, dgramsRecv, bytesRecv atomic.Uint64
	streams, streamSent, streamRecv              atomic.Uint64
	segsSent, segsRecv                           atomic.Uint64

	streamCh chan net.Conn
	packetCh chan *memberlist.Packet // nil unless CountReceived
	done     chan struct{}
	stopOnce sync.Once
	fwd      sync.WaitGroup
}

var _ memberlist.NodeAwareTransport = (*Transport)(nil)

// Listen creates memberlist's NetTransport on addr:port (port 0: one the
// kernel picks, the same for TCP and UDP) and wraps it. Port 0 is retried
// up to ten times when the UDP half of a picked port is taken, as
// memberlist.Create itself does.
func Listen(addr string, port int, o Options) (*Transport, error) {
	var err error
	for range 10 {
		var nt *memberlist.NetTransport
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{addr},
			BindPort:  port,
			Logger:    log.New(io.Discard, "", 0),
		})
		if err == nil {
			return Wrap(nt, o), nil
		}
		if port != 0 || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("memberlist transport on %s:%d: %w", addr, port, err)
}

// Wrap counts what nt sends and receives. The Transport owns nt: its
// Shutdown shuts nt down.
func Wrap(nt *memberlist.NetTransport, o Options) *Transport {
	t := &Transport{NetTransport: nt, streamCh: make(chan net.Conn), done: make(chan struct{})}
	t.fwd.Add(1)
	go t.forwardStreams() // exits on Shutdown
	if o.CountReceived {
		t.packetCh = make(chan *memberlist.Packet)
		t.fwd.Add(1)
		go t.forwardPackets() // exits on Shutdown
	}
	return t
}

// Counts returns the counters; every field is cumulative.
func (t *Transport) Counts() Counts {
	return Counts{
		DatagramsSent: t.dgramsSent.Load(), BytesSent: t.bytesSent.Load(),
		DatagramsReceived: t.dgramsRecv.Load(), BytesReceived: t.bytesRecv.Load(),
		Streams: t.streams.Load(), StreamBytesSent: t.streamSent.Load(), StreamBytesReceived: t.streamRecv.Load(),
		StreamSegmentsSent: t.segsSent.Load(), StreamSegmentsReceived: t.segsRecv.Load(),
	}
}

func (t *Transport) forwardStreams() {
	defer t.fwd.Done()
	in := t.NetTransport.StreamCh()
	for {
		select {
		case conn := <-in:
			select {
			case t.streamCh <- t.count(conn):
			case <-t.done:
				_ = conn.Close()
				return
			}
		case <-t.done:
			return
		}
	}
}

func (t *Transport) forwardPackets() {
	defer t.fwd.Done()
	in := t.NetTransport.PacketCh()
	for {
		select {
		case p := <-in:
			t.dgramsRecv.Add(1)
			t.bytesRecv.Add(uint64(len(p.Buf)))
			select {
			case t.packetCh <- p:
			case <-t.done:
				return
			}
		case <-t.done:
			return
		}
	}
}

// WriteTo counts the packet, then sends it.
func (t *Transport) WriteTo(b []byte, addr string) (time.Time, error) {
	t.dgramsSent.Add(1)
	t.bytesSent.Add(uint64(len(b)))
	return t.NetTransport.WriteTo(b, addr)
}

// WriteToAddress counts the packet, then sends it.
func (t *Transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	t.dgramsSent.Add(1)
	t.bytesSent.Add(uint64(len(b)))
	return t.NetTransport.WriteToAddress(b, a)
}

// PacketCh is NetTransport's packet channel, through the counter when
// received packets are counted.
func (t *Transport) PacketCh() <-chan *memberlist.Packet {
	if t.packetCh == nil {
		return t.NetTransport.PacketCh()
	}
	return t.packetCh
}

// DialTimeout dials a stream and counts it.
func (t *Transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	conn, err := t.NetTransport.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	return t.count(conn), nil
}

// DialAddressTimeout dials a stream and counts it.
func (t *Transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	conn, err := t.NetTransport.DialAddressTimeout(a, timeout)
	if err != nil {
		return nil, err
	}
	return t.count(conn), nil
}

// StreamCh delivers accepted streams, counted.
func (t *Transport) StreamCh() <-chan net.Conn { return t.streamCh }

// Shutdown closes the listeners first, with the forwarders still draining
// (NetTransport's accept loop blocks until its stream is taken), then stops
// the forwarders.
func (t *Transport) Shutdown() error {
	err := t.NetTransport.Shutdown()
	t.stopOnce.Do(func() { close(t.done) })
	t.fwd.Wait()
	return err
}

func (t *Transport) count(conn net.Conn) net.Conn {
	t.streams.Add(1)
	return &countingConn{Conn: conn, t: t}
}

// countingConn counts a stream's bytes, and its segments when it closes.
type countingConn struct {
	net.Conn
	t      *Transport
	closed atomic.Bool
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.t.streamSent.Add(uint64(n))
	return n, err
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.t.streamRecv.Add(uint64(n))
	return n, err
}

// Close reads the kernel's segment counts of the stream, then closes it.
func (c *countingConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		if out, in, err := tcpSegments(c.Conn); err == nil {
			c.t.segsSent.Add(uint64(out))
			c.t.segsRecv.Add(uint64(in))
		}
	}
	return c.Conn.Close()
}

// errNotTCP: the stream is not a TCP connection (no segment counts).
var errNotTCP = errors.New("mlcount: not a TCP connection")
