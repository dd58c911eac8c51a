//go:build linux

package std

import (
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchConn is what ipv4.PacketConn and ipv6.PacketConn have in common.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// batchIO reads and writes up to batch datagrams per system call with
// recvmmsg and sendmmsg.
type batchIO struct {
	conn  *net.UDPConn
	pc    batchConn
	inet6 bool // the socket is AF_INET6 (IPv4 targets go through conn)

	// Reader state.
	rmsgs []ipv4.Message
	// Writer state.
	wmsgs []ipv4.Message
	addrs map[netip.AddrPort]*net.UDPAddr
}

// newPacketIO returns batched I/O for conn, or plain I/O when the socket's
// family cannot be told.
func newPacketIO(conn *net.UDPConn, batch int) packetIO {
	inet6, ok := socketIsInet6(conn)
	if !ok {
		return &plainIO{conn: conn}
	}
	b := &batchIO{
		conn:  conn,
		inet6: inet6,
		rmsgs: make([]ipv4.Message, batch),
		wmsgs: make([]ipv4.Message, batch),
		addrs: make(map[netip.AddrPort]*net.UDPAddr),
	}
	if inet6 {
		b.pc = ipv6.NewPacketConn(conn)
	} else {
		b.pc = ipv4.NewPacketConn(conn)
	}
	for i := range b.rmsgs {
		b.rmsgs[i].Buffers = make([][]byte, 1)
		b.wmsgs[i].Buffers = make([][]byte, 1)
	}
	return b
}

// socketIsInet6 reports whether conn's socket is AF_INET6.
func socketIsInet6(conn *net.UDPConn) (inet6, ok bool) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false, false
	}
	var sa syscall.Sockaddr
	var serr error
	if err := rc.Control(func(fd uintptr) { sa, serr = syscall.Getsockname(int(fd)) }); err != nil || serr != nil {
		return false, false
	}
	switch sa.(type) {
	case *syscall.SockaddrInet4:
		return false, true
	case *syscall.SockaddrInet6:
		return true, true
	}
	return false, false
}

func (b *batchIO) read(bufs [][]byte, got []recvd) (int, error) {
	ms := b.rmsgs[:min(len(b.rmsgs), len(bufs))]
	for i := range ms {
		ms[i].Buffers[0] = bufs[i]
		ms[i].Addr = nil
	}
	n, err := b.pc.ReadBatch(ms, 0)
	if err != nil {
		return 0, err
	}
	k := 0
	for i := range n {
		ua, ok := ms[i].Addr.(*net.UDPAddr)
		if !ok {
			continue
		}
		ip, _ := netip.AddrFromSlice(ua.IP)
		if k != i { // keep buffers and metadata aligned
			bufs[k], bufs[i] = bufs[i], bufs[k]
		}
		got[k] = recvd{n: ms[i].N, from: netip.AddrPortFrom(ip.Unmap(), uint16(ua.Port))}
		k++
	}
	return k, nil
}

func (b *batchIO) udpAddr(ap netip.AddrPort) *net.UDPAddr {
	if a, ok := b.addrs[ap]; ok {
		return a
	}
	if len(b.addrs) >= maxCachedAddrs {
		clear(b.addrs)
	}
	a := net.UDPAddrFromAddrPort(ap)
	b.addrs[ap] = a
	return a
}

func (b *batchIO) write(pkts []outPacket, fail func(p *outPacket, err error)) {
	for len(pkts) > 0 {
		// An AF_INET6 socket cannot take an AF_INET destination through
		// sendmmsg; net maps it to ::ffff:a.b.c.d for a plain write.
		if b.inet6 && pkts[0].to.Addr().Is4() {
			if _, err := b.conn.WriteToUDPAddrPort(pkts[0].buf, pkts[0].to); err != nil {
				fail(&pkts[0], err)
			}
			pkts = pkts[1:]
			continue
		}
		ms := b.wmsgs[:0]
		for i := 0; i < len(pkts) && len(ms) < cap(ms); i++ {
			if b.inet6 && pkts[i].to.Addr().Is4() {
				break
			}
			m := &b.wmsgs[len(ms)]
			m.Buffers[0] = pkts[i].buf
			m.Addr = b.udpAddr(pkts[i].to)
			ms = b.wmsgs[:len(ms)+1]
		}
		n, err := b.pc.WriteBatch(ms, 0)
		n = max(n, 0)
		if err != nil {
			// The message at n failed; the ones before it were sent.
			if n < len(ms) {
				fail(&pkts[n], err)
			}
			n++
		}
		if n <= 0 {
			n = 1
		}
		pkts = pkts[min(n, len(pkts)):]
	}
}
