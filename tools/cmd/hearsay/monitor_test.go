package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// runMonitorAsync runs `hearsay monitor args...` through run() and returns
// its output buffers and its exit code channel; the test ends it with
// cancel.
func runMonitorAsync(t *testing.T, args ...string) (stdout, stderr *syncBuffer, done chan int, cancel context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr, done = &syncBuffer{}, &syncBuffer{}, make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"monitor"}, args...), stdout, stderr, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("monitor did not stop")
		}
	})
	return stdout, stderr, done, cancel
}

// waitExit returns the exit code of a command that should end by itself.
func waitExit(t *testing.T, done chan int, stderr *syncBuffer) int {
	t.Helper()
	select {
	case code := <-done:
		done <- code // for the cleanup
		return code
	case <-time.After(15 * time.Second):
		t.Fatalf("monitor still runs; stderr:\n%s", stderr.String())
		return -1
	}
}

// TestMonitorAgents follows a real agent's events: joins from its history,
// a member leaving, then the agent's own stop, which ends the monitor with
// exit 0.
func TestMonitorAgents(t *testing.T) {
	agents := startAgents(t, "a", "b", "c")
	a, c := agents[0], agents[2]
	waitFor(t, "a sees b and c up", 10*time.Second, func() (bool, string) {
		st, body := statuses(t, a)
		return st[agents[1].gossip] == "up" && st[c.gossip] == "up", body
	})
	stdout, stderr, done, _ := runMonitorAsync(t, "--http", a.http, "--history")
	joined := func(name string) func() (bool, string) {
		return func() (bool, string) {
			out := stdout.String()
			return strings.Contains(out, "  "+name+"  ") && strings.Contains(out, " -> up "), out + stderr.String()
		}
	}
	waitFor(t, "monitor prints b's join from the history", 10*time.Second, joined("b"))
	waitFor(t, "monitor prints c's join from the history", 10*time.Second, joined("c"))

	c.stop(t)
	left := regexp.MustCompile(`  left      c  ` + regexp.QuoteMeta(c.gossip) + `  (up|leaving) -> removed  incarnation \d+  role=c\n`)
	waitFor(t, "monitor prints c leaving", 10*time.Second, func() (bool, string) {
		return left.MatchString(stdout.String()), stdout.String()
	})
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if _, err := time.Parse(monitorTime, strings.Fields(line)[0]); err != nil {
			t.Errorf("line %q does not start with a time: %v", line, err)
		}
		if strings.Contains(line, "  c  ") && !strings.HasSuffix(line, "role=c") {
			t.Errorf("line %q lacks c's tags", line)
		}
	}

	a.stop(t)
	if code := waitExit(t, done, stderr); code != exitOK {
		t.Fatalf("monitor exited %d when its agent stopped; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "shutdown  the agent is stopping") {
		t.Errorf("monitor did not say the agent stops:\n%s", stdout.String())
	}
}

// TestMonitorJSON checks -format json on a stream the test writes: one
// object per line, each with its kind, dropped events reported.
func TestMonitorJSON(t *testing.T) {
	hub := newEventHub()
	srv := httptest.NewServer(newHandler(fakeStreamer{newFakeSource(), hub}, nil))
	defer srv.Close()
	hub.Publish(memberEvent("b", 7002, 0, core.StatusUp, 1, 0))
	hub.Publish(memberEvent("b", 7002, core.StatusUp, core.StatusSuspect, 1, time.Second))
	stdout, stderr, done, _ := runMonitorAsync(t, "--http", strings.TrimPrefix(srv.URL, "http://"), "-format", "json", "-history")
	waitFor(t, "two events printed", 10*time.Second, func() (bool, string) {
		return strings.Count(stdout.String(), "\n") == 2, stdout.String() + stderr.String()
	})
	hub.Close()
	if code := waitExit(t, done, stderr); code != exitOK {
		t.Fatalf("monitor exited %d; stderr:\n%s", code, stderr.String())
	}
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not one JSON object: %v", line, err)
		}
		kinds = append(kinds, m["kind"].(string))
	}
	if got := strings.Join(kinds, ","); got != "join,suspect,shutdown" {
		t.Errorf("kinds %s, want join,suspect,shutdown:\n%s", got, stdout.String())
	}
}

func TestMonitorLine(t *testing.T) {
	for _, tt := range []struct {
		m    sseMessage
		want string
		done bool
	}{
		{sseMessage{Event: "member", Data: `{"kind":"suspect","from":"up","to":"suspect","time":"2026-01-01T00:00:01Z",` +
			`"node_id":"0b","name":"web\u001b[2J","authority":"127.0.0.1:7002","status":"suspect","incarnation":3,"tags":{"role":"db"},"meta":""}`},
			`2026-01-01T00:00:01.000Z  suspect   web\x1b[2J  127.0.0.1:7002  up -> suspect  incarnation 3  role=db`, false},
		{sseMessage{Event: "member", Data: `{"kind":"join","from":"","to":"up","time":"2026-01-01T00:00:01Z",` +
			`"node_id":"raw","name":"","authority":"127.0.0.1:7003","status":"up","incarnation":1,"tags":{},"meta":"x"}`},
			`2026-01-01T00:00:01.000Z  join      raw  127.0.0.1:7003  new -> up  incarnation 1`, false},
		{sseMessage{Event: "dropped", Data: `{"missed":12,"time":"2026-01-01T00:00:02Z"}`},
			`2026-01-01T00:00:02.000Z  dropped   12 events missed: this monitor read too slowly`, false},
		{sseMessage{Event: "shutdown", Data: `{"time":"2026-01-01T00:00:03Z"}`},
			`2026-01-01T00:00:03.000Z  shutdown  the agent is stopping`, true},
		{sseMessage{Event: "message", Data: `whatever`}, "", false},
	} {
		got, done, err := monitorLine(tt.m, "text")
		if err != nil || got != tt.want || done != tt.done {
			t.Errorf("monitorLine(%+v) = %q, %v, %v; want %q, %v", tt.m, got, done, err, tt.want, tt.done)
		}
	}
	if _, _, err := monitorLine(sseMessage{Event: "member", Data: "{"}, "text"); err == nil {
		t.Error("a member event that is not JSON: no error")
	}
}

func TestMonitorUnreachable(t *testing.T) {
	srv := httptest.NewServer(nil)
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"monitor", "--http", addr, "--timeout", "2s"}, &stdout, &stderr, nil); code != exitFailure {
		t.Fatalf("monitor against a closed port = %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr.String(), "hearsay monitor:") {
		t.Errorf("stderr = %q", stderr.String())
	}
	// An HTTP server that is not an agent: refused, with its status.
	srv = httptest.NewServer(newHandler(newFakeSource(), nil)) // no event stream
	defer srv.Close()
	stderr.Reset()
	if code := run(context.Background(), []string{"monitor", "--http", strings.TrimPrefix(srv.URL, "http://")}, &stdout, &stderr, nil); code != exitFailure ||
		!strings.Contains(stderr.String(), "404") {
		t.Errorf("monitor against a server without /v1/events = %d, %q; want 1 and the status", code, stderr.String())
	}
}
