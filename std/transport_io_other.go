//go:build !linux

package std

import "net"

// newPacketIO returns the plain one-datagram-per-call I/O: batched reads and
// writes (recvmmsg/sendmmsg) exist on Linux only.
func newPacketIO(conn *net.UDPConn, batch int) packetIO {
	return &plainIO{conn: conn}
}
