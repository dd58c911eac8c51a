package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// TestAgentStopsOnConflict forges, from a socket that is no member, a
// record of another instance claiming the agent's address at a higher
// incarnation, until the agent's claim window has passed and it gives the
// address up. The agent must then say so in an ERROR line and exit 1 (for
// a supervisor to restart it), not keep running with a stopped node.
func TestAgentStopsOnConflict(t *testing.T) {
	a := startAgent(t, "victim", "--bind", "127.0.0.1:0", "--label", "conflict-test")
	forger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer forger.Close()
	to, err := net.ResolveUDPAddr("udp4", a.gossip)
	if err != nil {
		t.Fatal(err)
	}
	// Within its claim window (2 anti-entropy intervals, 4 s with the local
	// preset) the agent takes its address back with a higher incarnation;
	// after it, it yields. Each forged record is above the agent's latest.
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var code int
forge:
	for {
		self := a.node.LocalNode()
		m := core.Message{Kind: core.MessageGossip, From: forger.LocalAddr().String(), FromID: "forger",
			Entries: []core.NodeRecord{{NodeID: "forged", Authority: a.gossip, Status: core.StatusUp, Incarnation: self.Incarnation + 1}}}
		if _, err := forger.WriteToUDP(forgeDatagram(t, "conflict-test", m), to); err != nil {
			t.Fatal(err)
		}
		select {
		case code = <-a.done:
			a.done <- code // for the cleanup
			break forge
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the agent still runs 30 s after the first forged record:\n%s", a.stderr.String())
		}
	}
	log := a.stderr.String()
	if code != exitFailure {
		t.Errorf("exit code %d after the node stopped, want %d", code, exitFailure)
	}
	errLine := regexp.MustCompile(`level=ERROR msg="the node has stopped; exiting for a supervisor to restart the agent" ` +
		`err="another instance claims this node's address ` + regexp.QuoteMeta(a.gossip) + ` with a newer record.*name=victim`)
	if !errLine.MatchString(log) {
		t.Errorf("no ERROR line naming the conflict in the log:\n%s", log)
	}
	if strings.Contains(log, "left the cluster") {
		t.Errorf("a node that gave its address up tried a graceful leave:\n%s", log)
	}
}

// TestHealthzWhenStopped checks what the API says of a node that stopped
// running: /healthz 503 "stopped", and status "stopped" in /v1/self.
func TestHealthzWhenStopped(t *testing.T) {
	src := newFakeSource()
	src.self.Status = 0 // what a stopped coordinator reports
	srv := httptest.NewServer(newHandler(src, nil))
	defer srv.Close()
	if code, _, body := get(t, srv.URL, "/healthz"); code != 503 || body != "stopped\n" {
		t.Errorf("GET /healthz = %d %q, want 503 stopped", code, body)
	}
	if _, _, body := get(t, srv.URL, "/v1/self"); !strings.Contains(body, `"status":"stopped"`) {
		t.Errorf("GET /v1/self = %s, want status stopped", body)
	}
}

// stoppingNode is a node that stops without the event saying so: the
// agent must notice by itself.
type stoppingNode struct {
	*fakeSource
	closed chan struct{}
	once   sync.Once
}

func (n *stoppingNode) Leave(context.Context) error { return errors.New("stopped") }
func (n *stoppingNode) Close() error {
	n.once.Do(func() { close(n.closed) })
	return nil
}
func (n *stoppingNode) Stopped() <-chan struct{} { return nil }
func (n *stoppingNode) StopReason() error        { return nil }

// TestAgentNoticesAStoppedNode checks the agent's own check: a node whose
// record turns statusless (stopped) without an event still ends the agent
// with an ERROR line and exit status 1.
func TestAgentNoticesAStoppedNode(t *testing.T) {
	node := &stoppingNode{fakeSource: newFakeSource(), closed: make(chan struct{})}
	defer func(f func(context.Context, agentOptions, *slog.Logger) (agentNode, error), d time.Duration) {
		startAgentNode, stopCheckInterval = f, d
	}(startAgentNode, stopCheckInterval)
	startAgentNode = func(context.Context, agentOptions, *slog.Logger) (agentNode, error) { return node, nil }
	stopCheckInterval = 10 * time.Millisecond

	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"agent", "--name", "x", "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0"},
			&strings.Builder{}, stderr, nil)
	}()
	waitFor(t, "the agent logs that it started", 10*time.Second, func() (bool, string) {
		return strings.Contains(stderr.String(), "agent started"), stderr.String()
	})
	node.mu.Lock()
	node.self.Status = 0
	node.mu.Unlock()
	select {
	case code := <-done:
		if code != exitFailure {
			t.Errorf("exit %d, want %d", code, exitFailure)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent kept running with a stopped node")
	}
	if !strings.Contains(stderr.String(), `level=ERROR msg="the node has stopped; exiting for a supervisor to restart the agent" err="the node stopped running`) {
		t.Errorf("no ERROR line:\n%s", stderr.String())
	}
	select {
	case <-node.closed:
	default:
		t.Error("the agent exited without closing its node")
	}
}
