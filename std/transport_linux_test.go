//go:build linux

package std

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTransportUsesBatchedIOOnLinux(t *testing.T) {
	binds := []string{"127.0.0.1:0", ":0"}
	if hasIPv6Loopback() {
		binds = append(binds, "[::1]:0")
	}
	for _, bind := range binds {
		tr := newTestTransport(t, bind, nil)
		b, ok := tr.sock.(*udpSocket).packetIO.(*batchIO)
		if assert.True(t, ok, "%s: want recvmmsg/sendmmsg I/O, got %T", bind, tr.sock.(*udpSocket).packetIO) {
			assert.Equal(t, tr.LocalAddr().Addr().Is6(), b.inet6, bind)
		}
	}
}
