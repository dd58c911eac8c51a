package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink read while the agent writes it.
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

type running struct {
	a      *agent
	cancel context.CancelFunc
	done   chan int
	log    *syncBuffer
}

func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan int, 1), log: &syncBuffer{}}
	ready := make(chan *agent, 1)
	go func() { r.done <- run(ctx, args, r.log, func(a *agent) { ready <- a }) }()
	select {
	case r.a = <-ready:
	case code := <-r.done:
		t.Fatalf("agent %v exited %d:\n%s", args, code, r.log.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("agent %v not ready", args)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Errorf("agent %v did not stop", args)
		}
	})
	return r
}

func getJSON(t *testing.T, r *running, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + r.a.httpAddr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v; last: %s", what, timeout, state)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, not waiting for a result
	}
}

func statuses(t *testing.T, r *running) (map[string]string, string) {
	var ms []Member
	getJSON(t, r, "/v1/members", &ms)
	out := map[string]string{}
	for _, m := range ms {
		out[m.NodeID] = m.Status
	}
	b, _ := json.Marshal(ms)
	return out, string(b)
}

// TestAgentCluster runs three agents in this process, checks the API
// against them, then stops one gracefully and sees the others report it
// gone.
func TestAgentCluster(t *testing.T) {
	a := start(t, "--name", "a", "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0")
	seed := a.a.ml.LocalNode()
	join := authority(seed)
	b := start(t, "--name", "b", "--bind", "127.0.0.1:0", "--join", join)
	c := start(t, "--name", "c", "--bind", "127.0.0.1:0", "--join", join)

	for _, r := range []*running{a, b, c} {
		waitFor(t, "three alive", 15*time.Second, func() (bool, string) {
			st, body := statuses(t, r)
			return len(st) == 3 && st["a"] == "alive" && st["b"] == "alive" && st["c"] == "alive", body
		})
	}
	// Probes flow both ways once the cluster has formed.
	waitFor(t, "a's transport counts traffic both ways", 15*time.Second, func() (bool, string) {
		var s Stats
		getJSON(t, a, "/v1/stats", &s)
		b, _ := json.Marshal(s)
		return s.DatagramsSent > 0 && s.BytesSent > s.DatagramsSent && s.DatagramsReceived > 0 &&
			s.BytesReceived > s.DatagramsReceived && s.Members == 3, string(b)
	})
	var bs Stats
	getJSON(t, b, "/v1/stats", &bs)
	if bs.Streams == 0 || bs.StreamBytesSent == 0 || bs.StreamBytesReceived == 0 {
		t.Errorf("b joined over TCP push/pull, but its streams are not counted: %+v", bs)
	}
	if !strings.Contains(a.log.String(), `msg="agent started" node=a authority=`+join+" http="+a.a.httpAddr) {
		t.Errorf("a's log lacks its start line:\n%s", a.log.String())
	}
	if strings.Contains(a.log.String()+b.log.String(), "[DEBUG]") {
		t.Errorf("memberlist's debug lines reach the log")
	}

	c.cancel()
	select {
	case code := <-c.done:
		c.done <- code // for the cleanup
		if code != exitOK {
			t.Fatalf("c exited %d:\n%s", code, c.log.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("c did not stop")
	}
	if !strings.Contains(c.log.String(), "left the cluster") {
		t.Errorf("c's log shows no graceful leave:\n%s", c.log.String())
	}
	for _, r := range []*running{a, b} {
		waitFor(t, "c gone", 15*time.Second, func() (bool, string) {
			st, body := statuses(t, r)
			return st["c"] == "gone" && st["a"] == "alive" && st["b"] == "alive", body
		})
	}
	if !strings.Contains(a.log.String(), "msg=member node=c authority=") || !strings.Contains(a.log.String(), "to=gone") {
		t.Errorf("a's log lacks c's departure:\n%s", a.log.String())
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--name", "a"},
		{"--name", "a", "--bind", "0.0.0.0:7946"},
		{"--name", "a", "--bind", "localhost:7946"},
		{"--name", "a", "--bind", "127.0.0.1:x"},
		{"--name", "a", "--bind", "127.0.0.1:0", "--join", "nohostport"},
		{"--name", "a", "--bind", "127.0.0.1:0", "extra"},
		{"--name", "a", "--bind", "127.0.0.1:0", "--leave-timeout", "0s"},
		{"--bogus"},
	} {
		var log bytes.Buffer
		if code := run(context.Background(), args, &log, nil); code != exitUsage {
			t.Errorf("run %q = %d, want %d; log: %s", args, code, exitUsage, log.String())
		}
	}
	if code := run(context.Background(), []string{"-h"}, io.Discard, nil); code != exitOK {
		t.Errorf("-h = %d, want 0", code)
	}
}
