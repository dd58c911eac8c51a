package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testAgent is one agent run in-process by run(), as the command line would.
type testAgent struct {
	name   string
	cancel context.CancelFunc
	http   string
	gossip string
	done   chan int // the exit code
	stderr *syncBuffer
	node   agentNode
}

// instanceIDPattern is the form of an agent's node ID (instance.go).
var instanceIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// syncBuffer is a bytes.Buffer safe for the agent's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startAgents runs one agent per name through run(), each joining the
// first, and returns once every one serves HTTP.
func startAgents(t *testing.T, names ...string) []*testAgent {
	t.Helper()
	var agents []*testAgent
	for i, name := range names {
		args := []string{"--bind", "127.0.0.1:0", "--label", "agent-test", "--tag", "role=" + name}
		if i > 0 {
			args = append(args, "--join", agents[0].gossip)
		}
		agents = append(agents, startAgent(t, name, args...))
	}
	return agents
}

// startAgent runs `hearsay agent --name name` through run(), on an
// ephemeral HTTP port with the local preset unless args say otherwise, and
// returns once it serves HTTP. The agent is stopped at the test's end.
func startAgent(t *testing.T, name string, args ...string) *testAgent {
	t.Helper()
	ready := make(chan *testAgent, 1)
	onAgentReady = func(n agentNode, httpAddr string) {
		ready <- &testAgent{node: n, gossip: n.LocalNode().Authority, http: httpAddr}
	}
	defer func() { onAgentReady = nil }()
	ctx, cancel := context.WithCancel(context.Background())
	a := &testAgent{name: name, cancel: cancel, done: make(chan int, 1), stderr: &syncBuffer{}}
	args = append([]string{"agent", "--name", name, "--http", "127.0.0.1:0", "--preset", "local", "--leave-timeout", "2s"}, args...)
	go func() { a.done <- run(ctx, args, &bytes.Buffer{}, a.stderr, nil) }()
	select {
	case r := <-ready:
		a.node, a.gossip, a.http = r.node, r.gossip, r.http
	case code := <-a.done:
		cancel()
		t.Fatalf("agent %s exited %d before serving:\n%s", name, code, a.stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("agent %s did not serve within 10s", name)
	}
	t.Cleanup(func() { a.stop(t) })
	return a
}

// stop ends the agent (as SIGTERM does) and returns its exit code; after
// the first call it returns the same code.
func (a *testAgent) stop(t *testing.T) int {
	t.Helper()
	a.cancel()
	select {
	case code := <-a.done:
		a.done <- code // for the next call
		return code
	case <-time.After(15 * time.Second):
		t.Errorf("agent %s did not stop", a.name)
		return -1
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last state: %s", what, timeout, state)
		}
		<-tick.C
	}
}

// statuses returns an agent's view over HTTP as authority → status.
func statuses(t *testing.T, a *testAgent) (map[string]string, string) {
	code, _, body := get(t, "http://"+a.http, "/v1/members")
	if code != 200 {
		return nil, fmt.Sprintf("GET /v1/members = %d", code)
	}
	var ms []Member
	if err := json.Unmarshal([]byte(body), &ms); err != nil {
		t.Fatalf("decode /v1/members: %v: %s", err, body)
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.Authority] = m.Status
	}
	return out, body
}

// TestAgentCluster runs three agents in-process on loopback and checks the
// HTTP API, /metrics and the members table against them, then a graceful
// stop.
func TestAgentCluster(t *testing.T) {
	agents := startAgents(t, "a", "b", "c")

	// Every agent sees the three up, over its HTTP API.
	for _, a := range agents {
		waitFor(t, a.name+" sees a, b, c up", 10*time.Second, func() (bool, string) {
			st, body := statuses(t, a)
			for _, o := range agents {
				if st[o.gossip] != "up" {
					return false, body
				}
			}
			return len(st) == 3, body
		})
	}

	// JSON shape of /v1/self with metadata.
	code, _, body := get(t, "http://"+agents[1].http, "/v1/self")
	var self Member
	if err := json.Unmarshal([]byte(body), &self); err != nil || code != 200 {
		t.Fatalf("GET /v1/self = %d %s", code, body)
	}
	if self.Name != "b" || !instanceIDPattern.MatchString(self.NodeID) || self.Authority != agents[1].gossip || self.Status != "up" ||
		self.Tags["role"] != "b" || len(self.Tags) != 1 || self.Meta != "name=b&role=b" || self.Incarnation == 0 {
		t.Errorf("/v1/self = %+v", self)
	}

	// /metrics reflects the live node.
	_, _, metrics := get(t, "http://"+agents[0].http, "/metrics")
	for _, want := range []string{`hearsay_members{status="up"} 3`, "hearsay_messages_sent_total ", "hearsay_bytes_received_total ",
		"hearsay_suspicions_raised_total ", "hearsay_tick_lag_seconds_total ", "hearsay_tick_lag_max_seconds ",
		`hearsay_dropped_total{reason="decode_error"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(metrics, "hearsay_messages_sent_total 0\n") {
		t.Errorf("/metrics: no message sent by a live member")
	}
	// Every tick runs some time after it fired: a measured lag is never 0.
	if strings.Contains(metrics, "hearsay_tick_lag_seconds_total 0\n") || strings.Contains(metrics, "hearsay_tick_lag_max_seconds 0\n") {
		t.Errorf("/metrics: the tick lag of a live member is 0, not measured")
	}

	// hearsay members prints the table.
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"members", "--http", agents[0].http}, &out, &errOut, nil); code != exitOK {
		t.Fatalf("members = %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "Name") {
		t.Fatalf("members table:\n%s", out.String())
	}
	seen := map[string]bool{}
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 4 || f[2] != "up" || f[3] != "role="+f[0] {
			t.Errorf("members line = %q, want NAME ADDRESS up role=NAME", line)
			continue
		}
		seen[f[0]] = true
	}
	if !seen["a"] || !seen["b"] || !seen["c"] {
		t.Errorf("members table lacks a node:\n%s", out.String())
	}

	// Stopping c (SIGTERM's path: ctx ends) leaves gracefully and exits 0;
	// a and b then hold c as removed, and keep it as a tombstone.
	c := agents[2]
	if code := c.stop(t); code != exitOK {
		t.Fatalf("agent c exited %d after its context ended:\n%s", code, c.stderr.String())
	}
	if !strings.Contains(c.stderr.String(), "left the cluster") {
		t.Errorf("agent c's log does not show a graceful leave:\n%s", c.stderr.String())
	}
	for _, a := range agents[:2] {
		waitFor(t, a.name+" sees c removed", 10*time.Second, func() (bool, string) {
			st, body := statuses(t, a)
			return st[c.gossip] == "removed" && st[a.gossip] == "up", body
		})
	}
	_, _, metrics = get(t, "http://"+agents[0].http, "/metrics")
	if !strings.Contains(metrics, `hearsay_members{status="removed"} 1`) {
		t.Errorf("/metrics after c left lacks removed 1")
	}
}

func TestAgentBadBindAddress(t *testing.T) {
	var stdout, stderr bytes.Buffer
	// 192.0.2.1 (TEST-NET-1) is not an address of this machine: the bind
	// fails before anything is sent.
	code := run(context.Background(), []string{"agent", "--name", "x", "--bind", "192.0.2.1:7946", "--http", "127.0.0.1:0"}, &stdout, &stderr, nil)
	if code != exitFailure {
		t.Errorf("agent on a foreign address = %d, want %d; stderr: %s", code, exitFailure, stderr.String())
	}
	if !strings.Contains(stderr.String(), "hearsay agent:") {
		t.Errorf("stderr = %q", stderr.String())
	}
}
