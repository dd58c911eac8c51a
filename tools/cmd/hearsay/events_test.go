package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// fakeStreamer is a fixed view that also serves /v1/events from a hub the
// test feeds.
type fakeStreamer struct {
	*fakeSource
	hub *eventHub
}

func (f fakeStreamer) eventStream() *eventHub { return f.hub }

// eventStream is one open /v1/events response.
type eventStream struct {
	resp *http.Response
	r    *sseReader
}

// openEvents connects to /v1/events at base with a real HTTP client; it
// returns once the response headers arrived, that is once the hub counts the
// subscriber. lastID, if not "", is sent as Last-Event-ID.
func openEvents(t *testing.T, base, query, lastID string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/events%s: %v", query, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /v1/events%s = %d %q: %s", query, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return &eventStream{resp: resp, r: newSSEReader(resp.Body)}
}

// next reads the next message, failing the test after timeout.
func (s *eventStream) next(t *testing.T, timeout time.Duration) sseMessage {
	t.Helper()
	m, err := s.nextOrErr(timeout)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// nextOrErr reads the next message; after timeout it closes the stream and
// returns an error.
func (s *eventStream) nextOrErr(timeout time.Duration) (sseMessage, error) {
	type result struct {
		m   sseMessage
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := s.r.Next()
		ch <- result{m, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			return sseMessage{}, fmt.Errorf("reading /v1/events: %w", res.err)
		}
		return res.m, nil
	case <-time.After(timeout):
		s.resp.Body.Close() // ends the reader
		<-ch
		return sseMessage{}, fmt.Errorf("no message on /v1/events within %v", timeout)
	}
}

// member decodes a member message.
func (m sseMessage) member(t *testing.T) EventMessage {
	t.Helper()
	if m.Event != "member" {
		t.Fatalf("got a %q message (%s), want member", m.Event, m.Data)
	}
	var e EventMessage
	if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
		t.Fatalf("decode %s: %v", m.Data, err)
	}
	return e
}

// missed decodes a dropped message.
func (m sseMessage) missed(t *testing.T) uint64 {
	t.Helper()
	var d struct {
		Missed uint64    `json:"missed"`
		Time   time.Time `json:"time"`
	}
	if m.Event != "dropped" {
		t.Fatalf("got a %q message (%s), want dropped", m.Event, m.Data)
	}
	if err := json.Unmarshal([]byte(m.Data), &d); err != nil || d.Missed == 0 || d.Time.IsZero() {
		t.Fatalf("dropped message %s: %v", m.Data, err)
	}
	return d.Missed
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// memberEvent is a member event of node id at 127.0.0.1:port.
func memberEvent(id string, port int, from, to core.NodeStatus, inc uint64, at time.Duration) core.Event {
	rec := core.NodeRecord{NodeID: id, Authority: fmt.Sprintf("127.0.0.1:%d", port), Status: to, Incarnation: inc, Meta: []byte("role=" + id)}
	return core.Event{Member: &core.MemberEvent{Record: rec, From: from, To: to, At: t0.Add(at)}}
}

func TestEventKind(t *testing.T) {
	tests := []struct {
		from, to core.NodeStatus
		conflict bool
		want     string
	}{
		{0, core.StatusJoining, false, EventJoin},
		{0, core.StatusUp, false, EventJoin},
		{0, core.StatusDead, false, EventDead},
		{0, core.StatusRemoved, false, EventLeft},
		{core.StatusJoining, core.StatusUp, false, EventUp},
		{core.StatusUp, core.StatusSuspect, false, EventSuspect},
		{core.StatusSuspect, core.StatusUp, false, EventUp},
		{core.StatusSuspect, core.StatusDead, false, EventDead},
		{core.StatusUp, core.StatusLeaving, false, EventLeaving},
		{core.StatusLeaving, core.StatusRemoved, false, EventLeft},
		{core.StatusDead, core.StatusUp, false, EventUp},
		{core.StatusUp, core.StatusUp, false, EventUpdate},
		{core.StatusUp, core.StatusDead, true, EventConflict},
	}
	for _, tt := range tests {
		e := &core.MemberEvent{From: tt.from, To: tt.to, Conflict: tt.conflict}
		if got := eventKind(e); got != tt.want {
			t.Errorf("eventKind(%v -> %v, conflict %v) = %q, want %q", tt.from, tt.to, tt.conflict, got, tt.want)
		}
	}
}

// TestEventsStream reads /v1/events with a real HTTP client: live events,
// resumption with Last-Event-ID, history, and the end at shutdown.
func TestEventsStream(t *testing.T) {
	hub := newEventHub()
	srv := httptest.NewServer(newHandler(fakeStreamer{newFakeSource(), hub}, nil))
	defer srv.Close()

	if code, _, body := get(t, srv.URL, "/v1/events?history=maybe"); code != http.StatusBadRequest {
		t.Errorf("GET /v1/events?history=maybe = %d %q, want 400", code, body)
	}

	live := openEvents(t, srv.URL, "", "")
	published := []core.Event{
		memberEvent("b", 7002, 0, core.StatusUp, 1, 0),
		memberEvent("b", 7002, core.StatusUp, core.StatusSuspect, 1, time.Second),
		{Topology: &core.TopologyUpdate{}}, // not a member event: not streamed
		memberEvent("b", 7002, core.StatusSuspect, core.StatusDead, 1, 2*time.Second),
		memberEvent("c", 7003, core.StatusUp, core.StatusRemoved, 4, 3*time.Second),
	}
	for _, e := range published {
		hub.Publish(e)
	}
	want := []EventMessage{
		{Kind: "join", From: "", To: "up", Time: t0, Member: Member{NodeID: "b", Authority: "127.0.0.1:7002", Status: "up", Incarnation: 1, Tags: map[string]string{"role": "b"}, Meta: "role=b"}},
		{Kind: "suspect", From: "up", To: "suspect", Time: t0.Add(time.Second), Member: Member{NodeID: "b", Authority: "127.0.0.1:7002", Status: "suspect", Incarnation: 1, Tags: map[string]string{"role": "b"}, Meta: "role=b"}},
		{Kind: "dead", From: "suspect", To: "dead", Time: t0.Add(2 * time.Second), Member: Member{NodeID: "b", Authority: "127.0.0.1:7002", Status: "dead", Incarnation: 1, Tags: map[string]string{"role": "b"}, Meta: "role=b"}},
		{Kind: "left", From: "up", To: "removed", Time: t0.Add(3 * time.Second), Member: Member{NodeID: "c", Authority: "127.0.0.1:7003", Status: "removed", Incarnation: 4, Tags: map[string]string{"role": "c"}, Meta: "role=c"}},
	}
	var ids []string
	for i, w := range want {
		m := live.next(t, 5*time.Second)
		if got := m.member(t); !got.Time.Equal(w.Time) || got.Kind != w.Kind || got.From != w.From || got.To != w.To || !reflect.DeepEqual(got.Member, w.Member) {
			t.Errorf("event %d = %+v, want %+v", i, got, w)
		}
		if !strings.HasPrefix(m.ID, hub.instance+"-") {
			t.Errorf("event %d ID = %q, want the prefix %q", i, m.ID, hub.instance+"-")
		}
		ids = append(ids, m.ID)
	}
	// The JSON names the operator tools rely on.
	var raw map[string]any
	hub.Publish(memberEvent("d", 7004, 0, core.StatusJoining, 1, 4*time.Second))
	if err := json.Unmarshal([]byte(live.next(t, 5*time.Second).Data), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"kind", "from", "to", "time", "node_id", "authority", "status", "incarnation", "meta"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("member event lacks %q: %v", k, raw)
		}
	}

	// A reconnection with Last-Event-ID gets what followed, nothing missed.
	resumed := openEvents(t, srv.URL, "", ids[1])
	for _, w := range []string{"dead", "left", "join"} {
		if got := resumed.next(t, 5*time.Second).member(t); got.Kind != w {
			t.Errorf("resumed after %s: got %s, want %s", ids[1], got.Kind, w)
		}
	}

	// Once the first events are no longer held, resuming from them reports
	// how many were lost, then replays every held one.
	// Events 1 to 5 were published; 255 more leave 5 to 260 held.
	for i := range eventsHeld - 1 {
		hub.Publish(memberEvent("e", 7005, core.StatusUp, core.StatusUp, uint64(i+2), 5*time.Second))
	}
	late := openEvents(t, srv.URL, "", ids[0])
	if n := late.next(t, 5*time.Second).missed(t); n != 3 {
		t.Errorf("resumed after event 1 with events 5 to 260 held: missed %d, want 3", n)
	}
	if got := late.next(t, 5*time.Second).member(t); got.Kind != EventJoin || got.NodeID != "d" {
		t.Errorf("first replayed event = %+v, want d's join", got)
	}

	// An ID from an earlier run of the agent: everything held is new.
	other := openEvents(t, srv.URL, "", "0badbeef-3")
	if n := other.next(t, 5*time.Second).missed(t); n != 4 {
		t.Errorf("resumed from another run: missed %d, want 4", n)
	}
	// ?history=1 replays what is held, and reports nothing missed.
	history := openEvents(t, srv.URL, "?history=1", "")
	if got := history.next(t, 5*time.Second).member(t); got.NodeID != "d" {
		t.Errorf("first event of the history = %+v, want d's join", got)
	}

	// Close ends each stream with a shutdown message, after what it had
	// queued, and refuses new subscribers.
	final := openEvents(t, srv.URL, "", "")
	hub.Publish(memberEvent("f", 7006, 0, core.StatusUp, 1, 6*time.Second))
	hub.Close()
	hub.Close()
	if got := final.next(t, 5*time.Second).member(t); got.NodeID != "f" {
		t.Errorf("last event = %+v, want f's join", got)
	}
	for _, s := range []*eventStream{final, live} { // live missed most
		for s.next(t, 5*time.Second).Event != "shutdown" {
		}
		if m, err := s.r.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("after shutdown: %+v, %v; want io.EOF", m, err)
		}
	}
	if code, _, body := get(t, srv.URL, "/v1/events"); code != http.StatusServiceUnavailable || !strings.Contains(body, "stopping") {
		t.Errorf("GET /v1/events after Close = %d %q, want 503", code, body)
	}
	// The fixed views of the API serve no stream.
	plain := httptest.NewServer(newHandler(newFakeSource(), nil))
	defer plain.Close()
	if code, _, _ := get(t, plain.URL, "/v1/events"); code != http.StatusNotFound {
		t.Errorf("GET /v1/events without an event source = %d, want 404", code)
	}
}

// TestEventsSlowSubscriber checks that a subscriber that does not read
// never holds up Publish: what does not fit its queue is dropped, counted,
// and reported to it once it reads again.
func TestEventsSlowSubscriber(t *testing.T) {
	hub := newEventHub()
	sub, _, _, err := hub.subscribe("", false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range eventsQueued + 10 {
		hub.Publish(memberEvent("b", 7002, core.StatusUp, core.StatusUp, uint64(i+1), 0))
	}
	if got := hub.takeMissed(sub); got != 10 || hub.Dropped() != 10 || len(sub.frames) != eventsQueued {
		t.Errorf("missed %d, dropped %d, queued %d; want 10, 10, %d", got, hub.Dropped(), len(sub.frames), eventsQueued)
	}
	hub.unsubscribe(sub)

	// The same over HTTP: a client that does not read fills the socket
	// buffers, then its queue. Large events fill them sooner.
	srv := httptest.NewServer(newHandler(fakeStreamer{newFakeSource(), hub}, nil))
	defer srv.Close()
	slow := openEvents(t, srv.URL, "", "")
	before := hub.Dropped()
	big := core.Event{Member: &core.MemberEvent{
		Record: core.NodeRecord{NodeID: "big", Authority: "127.0.0.1:7009", Status: core.StatusUp, Incarnation: 1, Meta: []byte(strings.Repeat("m", 64<<10))},
		From:   core.StatusUp, To: core.StatusUp, At: t0,
	}}
	published := uint64(0)
	for hub.Dropped() == before {
		if published == 20000 { // 1.3 GB: no socket buffers that large
			t.Fatalf("%d events published to a client that reads nothing, none dropped", published)
		}
		hub.Publish(big)
		published++
	}
	for range 10 { // more drops, after the first
		hub.Publish(big)
		published++
	}
	hub.Close()
	var got, missed uint64
	for {
		m := slow.next(t, 10*time.Second)
		switch m.Event {
		case "member":
			got++
		case "dropped":
			missed += m.missed(t)
		case "shutdown":
			if got+missed != published || missed != hub.Dropped()-before {
				t.Errorf("received %d + missed %d, want %d published; the hub counted %d dropped", got, missed, published, hub.Dropped()-before)
			}
			return
		}
	}
}

// TestAgentEvents follows /v1/events of real agents: the history of joins,
// a member leaving, and the stream of the agent that stops ending with a
// shutdown message instead of holding up the stop.
func TestAgentEvents(t *testing.T) {
	agents := startAgents(t, "a", "b", "c")
	a, c := agents[0], agents[2]
	// c may still be joining in its own view when it stops: it is seen
	// leaving all the same (core's TestLeaveWhileJoiningIsALeave).
	waitFor(t, "a sees b and c up", 10*time.Second, func() (bool, string) {
		st, body := statuses(t, a)
		return st[agents[1].gossip] == "up" && st[c.gossip] == "up", body
	})

	// a's history holds how it learnt of b and c.
	fromA := openEvents(t, "http://"+a.http, "?history=1", "")
	upSeen := map[string]bool{}
	for !upSeen["b"] || !upSeen["c"] {
		e := fromA.next(t, 10*time.Second).member(t)
		if e.Authority == agents[1].gossip || e.Authority == c.gossip {
			upSeen[e.Name] = upSeen[e.Name] || e.To == "up"
		}
		if e.Time.IsZero() || e.Tags["role"] != e.Name {
			t.Errorf("event %+v: no time, or not the member's metadata", e)
		}
	}

	var seenC []string
	fromC := openEvents(t, "http://"+c.http, "", "")
	c.cancel()
	// c's stream ends with a shutdown message, then the connection closes.
	for {
		m := fromC.next(t, 15*time.Second)
		if m.Event == "shutdown" {
			break
		}
	}
	if m, err := fromC.r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("c's stream after shutdown: %+v, %v; want io.EOF", m, err)
	}
	select {
	case code := <-c.done:
		if code != exitOK {
			t.Errorf("c exited %d:\n%s", code, c.stderr.String())
		}
		c.done <- code // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("c did not exit")
	}
	// a sees c leave.
	for {
		m, err := fromA.nextOrErr(10 * time.Second)
		if err != nil {
			st, _ := statuses(t, a)
			t.Fatalf("a's stream: %v; a's events about c so far: %s; a's view of c now: %s; c's log:\n%s", err, strings.Join(seenC, ", "), st[c.gossip], c.stderr.String())
		}
		e := m.member(t)
		if e.Authority == c.gossip {
			seenC = append(seenC, e.Kind+"("+e.From+"->"+e.To+")")
		}
		if e.Authority == c.gossip && e.Kind == EventLeft {
			if e.From == "" || e.To != "removed" || e.Status != "removed" {
				t.Errorf("c's leave = %+v", e)
			}
			break
		}
	}
}
