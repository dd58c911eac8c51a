package mlcount

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

func listen(t *testing.T, o Options) *Transport {
	t.Helper()
	tr, err := Listen("127.0.0.1", 0, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown() })
	return tr
}

func addr(tr *Transport) string { return fmt.Sprintf("127.0.0.1:%d", tr.GetAutoBindPort()) }

// TestCountsPacketsAndStreams sends one packet and one stream each way and
// checks every counter.
func TestCountsPacketsAndStreams(t *testing.T) {
	a := listen(t, Options{})
	b := listen(t, Options{CountReceived: true})

	if _, err := a.WriteTo([]byte("hello"), addr(b)); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-b.PacketCh():
		if string(p.Buf) != "hello" {
			t.Fatalf("b received %q", p.Buf)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b received nothing")
	}
	if got := a.Counts(); got.DatagramsSent != 1 || got.BytesSent != 5 || got.DatagramsReceived != 0 {
		t.Errorf("a: %+v, want 1 datagram of 5 bytes sent", got)
	}
	if got := b.Counts(); got.DatagramsReceived != 1 || got.BytesReceived != 5 || got.DatagramsSent != 0 {
		t.Errorf("b: %+v, want 1 datagram of 5 bytes received", got)
	}

	conn, err := a.DialTimeout(addr(b), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var in net.Conn
	select {
	case in = <-b.StreamCh():
	case <-time.After(10 * time.Second):
		t.Fatal("b accepted no stream")
	}
	if _, err := conn.Write([]byte("push")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(in, buf); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Write([]byte("pull!")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	ka, kb := a.Counts(), b.Counts()
	if ka.Streams != 1 || ka.StreamBytesSent != 4 || ka.StreamBytesReceived != 5 {
		t.Errorf("a's stream: %+v, want 1 stream, 4 bytes out, 5 in", ka)
	}
	if kb.Streams != 1 || kb.StreamBytesSent != 5 || kb.StreamBytesReceived != 4 {
		t.Errorf("b's stream: %+v, want 1 stream, 5 bytes out, 4 in", kb)
	}
	if runtime.GOOS == "linux" {
		// The dialler sent at least SYN, the final handshake ACK and one
		// data segment; it received SYN-ACK and one data segment.
		if ka.StreamSegmentsSent < 3 || ka.StreamSegmentsReceived < 2 || kb.StreamSegmentsSent < 2 || kb.StreamSegmentsReceived < 2 {
			t.Errorf("segments: a %d out %d in, b %d out %d in", ka.StreamSegmentsSent, ka.StreamSegmentsReceived,
				kb.StreamSegmentsSent, kb.StreamSegmentsReceived)
		}
	}
}

// TestShutdownWithPendingStream: Shutdown returns although an accepted
// stream was never taken.
func TestShutdownWithPendingStream(t *testing.T) {
	a := listen(t, Options{CountReceived: true})
	b, err := Listen("127.0.0.1", 0, Options{CountReceived: true})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := a.DialTimeout(addr(b), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	done := make(chan error, 1)
	go func() { done <- b.Shutdown() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown blocked on a stream nobody took")
	}
}
