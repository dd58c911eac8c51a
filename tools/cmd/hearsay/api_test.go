package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/hearsay-go/hearsay/core"
)

// fakeSource is a fixed view, for testing the API without a network.
type fakeSource struct {
	mu       sync.Mutex
	self     core.NodeRecord
	members  []core.NodeRecord
	counters Counters
}

func (f *fakeSource) Records() []core.NodeRecord {
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
	self := core.NodeRecord{NodeID: "0a0a", Authority: "127.0.0.1:7001", Status: core.StatusUp, Incarnation: 1,
		Meta: encodeNodeMeta("a", map[string]string{"role": "web", "zone": "eu-1"})}
	return &fakeSource{
		self: self,
		members: []core.NodeRecord{
			{NodeID: "0d0d", Authority: "127.0.0.1:7004", Status: core.StatusDead, Incarnation: 2, Meta: encodeNodeMeta("d", nil)},
			self,
			// A node of another program: metadata not in the agent's encoding.
			{NodeID: "c", Authority: "127.0.0.1:7003", Status: core.StatusRemoved, Incarnation: 1, Meta: []byte("free form")},
			{NodeID: "0b0b", Authority: "127.0.0.1:7002", Status: core.StatusSuspect, Incarnation: 3, Meta: encodeNodeMeta("b", map[string]string{"role": "db"})},
		},
		counters: Counters{
			MessagesSent: 10, MessagesReceived: 12, BytesSent: 1000, BytesReceived: 1200,
			Drops:            map[string]uint64{"decode": 2, "filtered": 1},
			SuspicionsRaised: 4, SuspicionsRefuted: 1, Refutations: 2, DeadDeclared: 1,
			Ticks: 500, TickLag: 1500 * time.Microsecond, TickLagMax: 250 * time.Millisecond,
			StallsForgiven: 3, EventsDropped: 7, PlaintextReceived: 5, LocalHealth: 2,
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
	wantKeys := []string{"authority", "incarnation", "meta", "name", "node_id", "status", "tags"}
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
		{NodeID: "0a0a", Name: "a", Authority: "127.0.0.1:7001", Status: "up", Incarnation: 1,
			Tags: map[string]string{"role": "web", "zone": "eu-1"}, Meta: "name=a&role=web&zone=eu-1"},
		{NodeID: "0b0b", Name: "b", Authority: "127.0.0.1:7002", Status: "suspect", Incarnation: 3,
			Tags: map[string]string{"role": "db"}, Meta: "name=b&role=db"},
		{NodeID: "c", Authority: "127.0.0.1:7003", Status: "removed", Incarnation: 1, Tags: map[string]string{}, Meta: "free form"},
		{NodeID: "0d0d", Name: "d", Authority: "127.0.0.1:7004", Status: "dead", Incarnation: 2, Tags: map[string]string{}, Meta: "name=d"},
	}
	if !reflect.DeepEqual(members, want) {
		t.Errorf("members =\n%+v\nwant\n%+v", members, want)
	}
	if !strings.Contains(body, `"tags":{}`) {
		t.Errorf("a member without tags has no \"tags\":{} (null?): %s", body)
	}

	code, _, body = get(t, srv.URL, "/v1/self")
	var self Member
	if err := json.Unmarshal([]byte(body), &self); err != nil || code != http.StatusOK {
		t.Fatalf("GET /v1/self = %d %s (%v)", code, body, err)
	}
	if !reflect.DeepEqual(self, want[0]) {
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
		"# TYPE hearsay_local_health gauge",
		"hearsay_local_health 2",
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
		"/app.js":    `new EventSource("v1/events`,
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
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"all", nil, "" +
			"Name  Address         Status   Tags\n" +
			"a     127.0.0.1:7001  up       role=web,zone=eu-1\n" +
			"b     127.0.0.1:7002  suspect  role=db\n" +
			"c     127.0.0.1:7003  removed  \n" +
			"d     127.0.0.1:7004  dead     \n"},
		{"detailed", []string{"--detailed"}, "" +
			"Name  Node  Address         Status   Incarnation  Tags                Meta\n" +
			"a     0a0a  127.0.0.1:7001  up       1            role=web,zone=eu-1  name=a&role=web&zone=eu-1\n" +
			"b     0b0b  127.0.0.1:7002  suspect  3            role=db             name=b&role=db\n" +
			"c     c     127.0.0.1:7003  removed  1                                free form\n" +
			"d     0d0d  127.0.0.1:7004  dead     2                                name=d\n"},
		{"status dead", []string{"--status", "dead"}, "" +
			"Name  Address         Status  Tags\n" +
			"d     127.0.0.1:7004  dead    \n"},
		{"serf's alive is up", []string{"-status", "alive"}, "" +
			"Name  Address         Status  Tags\n" +
			"a     127.0.0.1:7001  up      role=web,zone=eu-1\n"},
		{"serf's failed and left", []string{"-status", "failed,left"}, "" +
			"Name  Address         Status   Tags\n" +
			"c     127.0.0.1:7003  removed  \n" +
			"d     127.0.0.1:7004  dead     \n"},
		{"none in the status", []string{"-status", "joining"}, "Name  Address  Status  Tags\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"members", "--http", addr}, tt.args...)
			if code := run(context.Background(), args, &stdout, &stderr, nil); code != exitOK {
				t.Fatalf("%q = %d: %s", args, code, stderr.String())
			}
			if stdout.String() != tt.want {
				t.Errorf("%q printed:\n%s\nwant:\n%s", args, stdout.String(), tt.want)
			}
		})
	}
}

func TestMembersCommandJSON(t *testing.T) {
	srv := httptest.NewServer(newHandler(newFakeSource(), nil))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"members", "--http", addr, "-format", "json", "-status", "up,suspect"}, &stdout, &stderr, nil); code != exitOK {
		t.Fatalf("members -format json = %d: %s", code, stderr.String())
	}
	var got []Member
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("members -format json printed no JSON: %v\n%s", err, stdout.String())
	}
	want := []Member{
		{NodeID: "0a0a", Name: "a", Authority: "127.0.0.1:7001", Status: "up", Incarnation: 1,
			Tags: map[string]string{"role": "web", "zone": "eu-1"}, Meta: "name=a&role=web&zone=eu-1"},
		{NodeID: "0b0b", Name: "b", Authority: "127.0.0.1:7002", Status: "suspect", Incarnation: 3,
			Tags: map[string]string{"role": "db"}, Meta: "name=b&role=db"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("members -format json =\n%+v\nwant\n%+v", got, want)
	}
}

// TestMembersStatusQuery checks that /v1/members honours ?status= and
// refuses, with 400, what it cannot honour.
func TestMembersStatusQuery(t *testing.T) {
	srv := httptest.NewServer(newHandler(newFakeSource(), nil))
	defer srv.Close()
	for _, tt := range []struct {
		query string
		code  int
		want  []string // authorities, or the error's text
	}{
		{"", 200, []string{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003", "127.0.0.1:7004"}},
		{"?status=up", 200, []string{"127.0.0.1:7001"}},
		{"?status=alive", 200, []string{"127.0.0.1:7001"}},
		{"?status=dead,removed", 200, []string{"127.0.0.1:7003", "127.0.0.1:7004"}},
		{"?status=dead&status=suspect", 200, []string{"127.0.0.1:7002", "127.0.0.1:7004"}},
		{"?status=leaving", 200, []string{}},
		{"?status=gone", 400, []string{`unknown status "gone"`}},
		{"?status=", 400, []string{"empty status"}},
		{"?status=up,", 400, []string{`unknown status ""`}},
		{"?state=up", 400, []string{`unknown parameter "state"`}},
	} {
		code, _, body := get(t, srv.URL, "/v1/members"+tt.query)
		if code != tt.code {
			t.Errorf("GET /v1/members%s = %d %q, want %d", tt.query, code, body, tt.code)
			continue
		}
		if code != 200 {
			if !strings.Contains(body, tt.want[0]) {
				t.Errorf("GET /v1/members%s = %q, want it to say %q", tt.query, body, tt.want[0])
			}
			continue
		}
		var ms []Member
		if err := json.Unmarshal([]byte(body), &ms); err != nil {
			t.Fatalf("GET /v1/members%s: %v: %s", tt.query, err, body)
		}
		got := []string{}
		for _, m := range ms {
			got = append(got, m.Authority)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("GET /v1/members%s = %q, want %q", tt.query, got, tt.want)
		}
	}
}

// TestMembersCommandEscapesControlCharacters feeds the members command
// records whose node ID, name, address, tags and metadata hold terminal
// escapes, and checks that none reaches the terminal.
func TestMembersCommandEscapesControlCharacters(t *testing.T) {
	src := newFakeSource()
	src.members = []core.NodeRecord{{
		NodeID:    "evil\x1b]0;owned\x07",
		Authority: "127.0.0.1:7009\x1b[2J",
		Status:    core.StatusUp, Incarnation: 1,
		Meta: encodeNodeMeta("x\x1b[31mred\u202e", map[string]string{"k": "v\u009b1m\tz\\"}),
	}, {
		NodeID: "raw", Authority: "127.0.0.1:7010", Status: core.StatusUp, Incarnation: 1,
		Meta: []byte("\xff\x1b[H"), // JSON carries \xff as U+FFFD
	}}
	srv := httptest.NewServer(newHandler(src, nil))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, detailed := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		args := []string{"members", "--http", addr}
		if detailed {
			args = append(args, "--detailed")
		}
		if code := run(context.Background(), args, &stdout, &stderr, nil); code != exitOK {
			t.Fatalf("%q = %d: %s", args, code, stderr.String())
		}
		out := stdout.String()
		for _, r := range out {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
				t.Errorf("%q printed the control character %U:\n%q", args, r, out)
			}
		}
		for _, want := range []string{`x\x1b[31mred\u202e`, `127.0.0.1:7009\x1b[2J`, `k=v\u009b1m\x09z\\`} {
			if !strings.Contains(out, want) {
				t.Errorf("%q printed %q, want it to hold %q", args, out, want)
			}
		}
		if detailed {
			for _, want := range []string{`evil\x1b]0;owned\x07`, "\ufffd" + `\x1b[H`} {
				if !strings.Contains(out, want) {
					t.Errorf("%q printed %q, want it to hold %q", args, out, want)
				}
			}
		}
	}
}

func TestPrintable(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"web-1", "web-1"},
		{"café ☃ 日本", "café ☃ 日本"},
		{"a\x1b[31mb", `a\x1b[31mb`},
		{"tab\there", `tab\x09here`},
		{"del\x7f", `del\x7f`},
		{"c1\u009b", `c1\u009b`},
		{"bidi\u202egnp.exe", `bidi\u202egnp.exe`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"tag\U000E0041", `tag\U000e0041`},
		{"bad\xffbyte", `bad\xffbyte`},
		{`back\slash`, `back\\slash`},
		{"", ""},
	} {
		if got := printable(tt.in); got != tt.want {
			t.Errorf("printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
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
