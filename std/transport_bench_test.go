package std

import (
	"errors"
	"runtime"
	"testing"

	"github.com/hearsay-go/hearsay/core"
)

// BenchmarkTransportSend measures Send through to the socket (encode,
// queue, batched sendmmsg) of heartbeats to a live peer on loopback.
func BenchmarkTransportSend(b *testing.B) {
	for _, name := range []string{"batched", "plain"} {
		b.Run(name, func(b *testing.B) {
			forcePlainIO = name == "plain"
			defer func() { forcePlainIO = false }()
			cfg := defaultTransportConfig()
			cfg.BindAddr = "127.0.0.1:0"
			a, err := newUDPTransport(cfg, decodeLimits{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			peer, err := newUDPTransport(cfg, decodeLimits{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer peer.Close()
			out := core.GossipOutbound{Target: peer.AdvertiseAddr(), Message: heartbeat()}
			b.ReportAllocs()
			for b.Loop() {
				for {
					err := a.Send(out)
					if err == nil {
						break
					}
					if !errors.Is(err, errQueueFull) {
						b.Fatal(err)
					}
					peer.PollDeltas()
					runtime.Gosched()
				}
			}
			for a.Stats().DatagramsSent+a.Stats().SendErrors < uint64(b.N) {
				peer.PollDeltas()
				runtime.Gosched()
			}
		})
	}
}
