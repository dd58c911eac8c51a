package mlcount

import (
	"net"

	"golang.org/x/sys/unix"
)

// tcpSegments returns the segments the kernel sent and received on conn
// (TCP_INFO's tcpi_segs_out and tcpi_segs_in).
func tcpSegments(conn net.Conn) (out, in uint32, err error) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return 0, 0, errNotTCP
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var info *unix.TCPInfo
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return 0, 0, err
	}
	if gerr != nil {
		return 0, 0, gerr
	}
	return info.Segs_out, info.Segs_in, nil
}
