package std

import (
	"net"
	"net/netip"
	"time"
)

// maxCachedAddrs bounds the caches of addresses kept by the reader and the
// writer (cleared when full).
const maxCachedAddrs = 4096

// recvd describes one datagram read into a receive buffer.
type recvd struct {
	n    int
	from netip.AddrPort
}

// outPacket is one encoded datagram waiting for the socket.
type outPacket struct {
	to  netip.AddrPort
	buf []byte
}

// packetIO is the socket side of the transport. The reader goroutine alone
// calls read and the writer goroutine alone calls write, so an
// implementation keeps separate state for each.
type packetIO interface {
	// read blocks until at least one datagram arrives, fills bufs[i] and
	// got[i] for the first n of them, and returns n.
	read(bufs [][]byte, got []recvd) (n int, err error)
	// write sends every packet, reporting each failure to fail.
	write(pkts []outPacket, fail func(p *outPacket, err error))
}

// packetConn is the socket under a transport: std's UDP socket (udpSocket),
// or an in-memory one in tests, which run transports in virtual time.
type packetConn interface {
	packetIO
	// setWriteDeadline bounds the writes that follow (the flush at Close).
	setWriteDeadline(t time.Time) error
	// close closes the socket: a read blocked in it, and every later one,
	// fails with an error wrapping net.ErrClosed.
	close() error
}

// udpSocket is a UDP socket and the I/O that reads and writes it.
type udpSocket struct {
	conn *net.UDPConn
	packetIO
}

func (s *udpSocket) setWriteDeadline(t time.Time) error { return s.conn.SetWriteDeadline(t) }
func (s *udpSocket) close() error                       { return s.conn.Close() }

// plainIO reads and writes one datagram per system call; it is the fallback
// where batched I/O is not available.
type plainIO struct {
	conn *net.UDPConn
}

func (p *plainIO) read(bufs [][]byte, got []recvd) (int, error) {
	n, from, err := p.conn.ReadFromUDPAddrPort(bufs[0])
	if err != nil {
		return 0, err
	}
	got[0] = recvd{n: n, from: netip.AddrPortFrom(from.Addr().Unmap(), from.Port())}
	return 1, nil
}

func (p *plainIO) write(pkts []outPacket, fail func(p *outPacket, err error)) {
	for i := range pkts {
		if _, err := p.conn.WriteToUDPAddrPort(pkts[i].buf, pkts[i].to); err != nil {
			fail(&pkts[i], err)
		}
	}
}
