//go:build !linux

package mlcount

import "net"

// tcpSegments is Linux only: elsewhere streams' segments are not counted.
func tcpSegments(net.Conn) (out, in uint32, err error) { return 0, 0, errNotTCP }
