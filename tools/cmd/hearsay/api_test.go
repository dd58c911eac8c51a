package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// fakeSource is a fixed view, for testing the API without a network.
type fakeSource struct {
	mu       sync.Mutex
	self     core.NodeRecord
	members  []core.NodeRecord
	counters Counters
}

func (f *fakeSource) Members() []core.NodeRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]core.NodeRecord(nil), f.members...)
}

func (f *fakeSource) LocalNode() core.NodeRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.self
}

func (f *fakeSource) Counters() Counters {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counters
}

func newFakeSource() *fakeSource {
	self := core.NodeRecord{NodeID: "a", Authority: "127.0.0.1:7001", Status: core.StatusUp, Incarnation: 1, Meta: []byte("role=web")}
	return &fakeSource{
		self: self,
		members: []core.NodeRecord{
			{NodeID: "d", Authority: "127.0.0.1:7004", Status: core.StatusDead, Incarnation: 2},
			self,
			{NodeID: "c", Authority: "127.0.0.1:7003", Status: core.StatusRemoved, Incarnation: 1},
			{NodeID: "b", Authority: "127.0.0.1:7002", Status: core.StatusSuspect, Incarnation: 3},
		},
		counters: Counters{
			MessagesSent: 10, MessagesReceived: 12, BytesSent: 1000, BytesReceived: 1200,
			Drops:            map[string]uint64{"decode": 2, "filtered": 1},
			SuspicionsRaised: 4, SuspicionsRefuted: 1, Refutations: 2, DeadDeclared: 1,
			Ticks: 500, TickLag: 1500 * time.Microsecond, TickLagMax: 250 * time.Millisecond,
			StallsForgiven: 3, EventsDropped: 7, PlaintextReceived: 5,
		},
	}
}

func get(t *testing.T, base, path string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func TestMembersJSONShape(t *testing.T) {
	srv := httptest.NewServer(newHandler(newFakeSource(), nil))
	defer srv.Close()

	code, ctype, body := get(t, srv.URL, "/v1/members")
	if code != http.StatusOK || ctype != "application/json" {
		t.Fatalf("GET /v1/members = %d %q", code, ctype)
	}
	var raw []map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if len(raw) != 4 {
		t.Fatalf("got %d members, want 4: %s", len(raw), body)
	}
	wantKeys := []string{"authority", "incarnation", "meta", "node_id", "status"}
	for _, m := range raw {
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if got := strings.Join(keys, ","); got != strings.Join(wantKeys, ",") {
			t.Errorf("member keys = %s, want %s", got, strings.Join(wantKeys, ","))
		}
	}
	var members []Member
	if err := json.Unmarshal([]byte(body), &members); err != nil {
		t.Fatal(err)
	}
	want := []Member{
		{NodeID: "a", Authority: "127.0.0.1:7001", Status: "up", Incarnation: 1, Meta: "role=web"},
		{NodeID: "b", Authority: "127.0.0.1:7002", Status: "suspect", Incarnation: 3},
		{NodeID: "c", Authority: "127.0.0.1:7003", Status: "removed", Incarnation: 1},
		{NodeID: "d", Authority: "127.0.0.1:7004", Status: "dead", Incarnation: 2},
	}
	for i := range want {
		if members[i] != want[i] {
			t.Errorf("member %d = %+v, want %+v", i, members[i], want[i])
		}
	}

	code, _, body = get(t, srv.URL, "/v1/self")
	var self Member
	if err := json.Unmarshal([]byte(body), &self); err != nil || code != http.StatusOK {
		t.Fatalf("GET /v1/self = %d %s (%v)", code, body, err)
	}
	if self != want[0] {
		t.Errorf("self = %+v, want %+v", self, want[0])
	}

	if code, _, body = get(t, srv.URL, "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", code, body)
	}
}

func TestHealthzAfterLeave(t *testing.T) {
	src := newFakeSource()
	src.self.Status = core.StatusRemoved
	srv := httptest.NewServer(newHandler(src, nil))
	defer srv.Close()
	if code, _, body := get(t, srv.URL, "/healthz"); code != http.StatusServiceUnavailable || body != "removed\n" {
		t.Errorf("GET /healthz = %d %q, want 503 removed", code, body)
	}
}

func TestMetricsText(t *testing.T) {
	srv := httptest.NewServer(newHandler(newFakeSource(), nil))
	defer srv.Close()
	code, ctype, body := get(t, srv.URL, "/metrics")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("GET /metrics = %d %q", code, ctype)
	}
	for _, line := range []string{
		"# TYPE hearsay_members gauge",
		`hearsay_members{status="up"} 1`,
		`hearsay_members{status="suspect"} 1`,
		`hearsay_members{status="dead"} 1`,
		`hearsay_members{status="removed"} 1`,
		`hearsay_members{status="joining"} 0`,
		`hearsay_members{status="leaving"} 0`,
		"# TYPE hearsay_messages_sent_total counter",
		"hearsay_messages_sent_total 10",
		"hearsay_messages_received_total 12",
		"hearsay_bytes_sent_total 1000",
		"hearsay_bytes_received_total 1200",
		`hearsay_dropped_total{reason="decode"} 2`,
		`hearsay_dropped_total{reason="filtered"} 1`,
		"hearsay_suspicions_raised_total 4",
		"hearsay_suspicions_refuted_total 1",
		"hearsay_refutations_total 2",
		"hearsay_dead_declared_total 1",
		"hearsay_ticks_total 500",
		"# TYPE hearsay_tick_lag_seconds_total counter",
		"hearsay_tick_lag_seconds_total 0.0015",
		"# TYPE hearsay_tick_lag_max_seconds gauge",
		"hearsay_tick_lag_max_seconds 0.25",
		"hearsay_tick_stalls_total 3",
		"hearsay_events_dropped_total 7",
		"# TYPE hearsay_plaintext_received_total counter",
		"hearsay_plaintext_received_total 5",
		"hearsay_local_incarnation 1",
		"go_goroutines ",
	} {
		if !strings.Contains(body, line+"\n") && !strings.Contains(body, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

func TestLivePage(t *testing.T) {
	srv := httptest.NewServer(newHandler(newFakeSource(), nil))
	defer srv.Close()
	for path, want := range map[string]string{
		"/":          "<title>hearsay cluster</title>",
		"/app.js":    `fetch("v1/members"`,
		"/style.css": ".status-dead",
	} {
		code, _, body := get(t, srv.URL, path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d, want 200 with %q", path, code, want)
		}
	}
	if code, _, _ := get(t, srv.URL, "/nope.js"); code != http.StatusNotFound {
		t.Errorf("GET /nope.js = %d, want 404", code)
	}
}

func TestMembersCommandTable(t *testing.T) {
	srv := httptest.NewServer(newHandler(newFakeSource(), nil))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	addr := strings.TrimPrefix(srv.URL, "http://")
	if code := run(context.Background(), []string{"members", "--http", addr}, &stdout, &stderr, nil); code != exitOK {
		t.Fatalf("members = %d: %s", code, stderr.String())
	}
	want := "" +
		"Node  Address         Status   Incarnation  Meta\n" +
		"a     127.0.0.1:7001  up       1            role=web\n" +
		"b     127.0.0.1:7002  suspect  3            \n" +
		"c     127.0.0.1:7003  removed  1            \n" +
		"d     127.0.0.1:7004  dead     2            \n"
	if stdout.String() != want {
		t.Errorf("members printed:\n%s\nwant:\n%s", stdout.String(), want)
	}

	stdout.Reset()
	if code := run(context.Background(), []string{"members", "--http", addr, "--status", "dead"}, &stdout, &stderr, nil); code != exitOK {
		t.Fatalf("members --status dead = %d: %s", code, stderr.String())
	}
	if got := stdout.String(); !strings.Contains(got, "127.0.0.1:7004") || strings.Contains(got, "127.0.0.1:7001") {
		t.Errorf("members --status dead printed:\n%s", got)
	}
}

func TestMembersCommandUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"members", "--http", addr, "--timeout", "2s"}, &stdout, &stderr, nil); code != exitFailure {
		t.Fatalf("members against a closed port = %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr.String(), "hearsay members:") {
		t.Errorf("stderr = %q", stderr.String())
	}
}
