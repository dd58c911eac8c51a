package main

import (
	"net"
	"strconv"
	"testing"
	"time"
)

// TestAgentAdvertise runs an agent bound to the wildcard address that
// advertises another address, as behind NAT or in a container: a second
// agent joins it at the advertised address, and both see each other up at
// the addresses they advertise.
func TestAgentAdvertise(t *testing.T) {
	// 127.0.0.2 is a loopback address no socket binds here: datagrams to it
	// reach the wildcard-bound agent only.
	port := freeUDPPort(t)
	advertised := net.JoinHostPort("127.0.0.2", strconv.Itoa(port))
	a := startAgent(t, "natted", "--bind", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)), "--advertise", "127.0.0.2")
	if a.gossip != advertised {
		t.Fatalf("the agent advertises %s, want %s", a.gossip, advertised)
	}
	b := startAgent(t, "plain", "--bind", "127.0.0.1:0", "--join", advertised)
	for _, v := range []*testAgent{a, b} {
		waitFor(t, v.name+" sees both up at their advertised addresses", 10*time.Second, func() (bool, string) {
			st, body := statuses(t, v)
			return len(st) == 2 && st[advertised] == "up" && st[b.gossip] == "up", body
		})
	}
}

// freeUDPPort returns a UDP port that was free on every address a moment
// ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
