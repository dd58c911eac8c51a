package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// GET /v1/events is a Server-Sent Events stream of the member events the
// agent's node publishes. Each message is one of:
//
//	event: member     data: an EventMessage (JSON); id: INSTANCE-SEQ
//	event: dropped    data: {"missed":N,"time":T}: N member events this
//	                  subscriber did not get (it read too slowly, or asked to
//	                  resume from an event no longer held)
//	event: shutdown   data: {"time":T}: the agent is stopping; the stream ends
//
// plus a comment line every eventsKeepalive. A subscriber that reconnects
// with Last-Event-ID (browsers do it by themselves) first gets the events it
// missed that the agent still holds (the last eventsHeld), and a dropped
// message for the rest; ?history=1 asks for every held event on a first
// connection. The node never waits for a subscriber: each has a queue of
// eventsQueued messages, and what does not fit is dropped and counted.

const (
	// eventsHeld is how many recent member events the agent keeps to replay.
	eventsHeld = 256
	// eventsQueued bounds each subscriber's queue of undelivered events.
	eventsQueued = 64
	// eventsKeepalive is how often an idle stream gets a comment line, so
	// that proxies keep it open and a vanished client is noticed.
	eventsKeepalive = 15 * time.Second
	// eventsWriteTimeout is how long one write to a subscriber may block
	// before the subscriber is disconnected.
	eventsWriteTimeout = 10 * time.Second
	// eventsRetry is the reconnection delay the stream asks browsers for.
	eventsRetry = time.Second
)

// Event kinds of EventMessage.Kind.
const (
	// EventJoin: the member is new to this node (From is "").
	EventJoin = "join"
	// EventUp: the member became up (it finished joining, or refuted a
	// suspicion).
	EventUp = "up"
	// EventSuspect: the member is suspected of having failed.
	EventSuspect = "suspect"
	// EventLeaving: the member announced a graceful leave.
	EventLeaving = "leaving"
	// EventLeft: the member left gracefully (status removed).
	EventLeft = "left"
	// EventDead: the member was declared dead.
	EventDead = "dead"
	// EventUpdate: the member's status did not change, its record did (a
	// new incarnation or metadata).
	EventUpdate = "update"
	// EventConflict: two instances claimed one address; the record is the
	// one that lost.
	EventConflict = "conflict"
)

// EventMessage is the JSON data of one "member" message of /v1/events: a
// change of one member's status as this node saw it, with the member's
// record after the change.
type EventMessage struct {
	// Kind is one of the Event* constants.
	Kind string `json:"kind"`
	// From is the status before the change; "" when the member is new to
	// this node.
	From string `json:"from"`
	// To is the status after the change.
	To string `json:"to"`
	// Time is when the node learnt of the change.
	Time time.Time `json:"time"`
	// Member is the record after the change, as /v1/members shows it.
	Member
}

// eventKind names the change from..to (from is 0 for a new member).
func eventKind(e *core.MemberEvent) string {
	switch {
	case e.Conflict:
		return EventConflict
	case e.From == e.To:
		return EventUpdate
	case e.From == 0 && e.To.IsActive():
		return EventJoin
	}
	switch e.To {
	case core.StatusUp:
		return EventUp
	case core.StatusSuspect:
		return EventSuspect
	case core.StatusLeaving:
		return EventLeaving
	case core.StatusRemoved:
		return EventLeft
	case core.StatusDead:
		return EventDead
	}
	return e.To.String()
}

// newEventMessage is the /v1/events form of a member event.
func newEventMessage(e *core.MemberEvent) EventMessage {
	from := ""
	if e.From != 0 {
		from = e.From.String()
	}
	return EventMessage{Kind: eventKind(e), From: from, To: e.To.String(), Time: e.At, Member: toMember(e.Record)}
}

// errEventsClosed is the refusal of a subscription once the agent stops.
var errEventsClosed = errors.New("the agent is stopping")

// eventStreamer is a Source that also publishes member events: the agent's
// node. newHandler serves /v1/events for such a source.
type eventStreamer interface {
	eventStream() *eventHub
}

// eventHub fans member events out to /v1/events subscribers. Publish never
// blocks: each subscriber has a bounded queue, and an event that does not
// fit is dropped for that subscriber and counted. Its methods are safe for
// concurrent use; it owns no goroutine (each subscriber's HTTP handler
// drains its own queue).
type eventHub struct {
	instance string        // tells this hub's event IDs from another run's
	done     chan struct{} // closed by Close
	dropped  atomic.Uint64 // events dropped for slow subscribers, in total

	mu     sync.Mutex
	closed bool
	seq    uint64       // ID of the last event published
	held   []eventFrame // the last eventsHeld events, oldest first
	subs   map[*eventSub]struct{}
}

// eventFrame is one encoded member event.
type eventFrame struct {
	seq  uint64
	data []byte // EventMessage as JSON
}

// eventSub is one subscriber's queue.
type eventSub struct {
	frames chan eventFrame
	missed uint64 // events dropped since last reported; guarded by eventHub.mu
}

// newEventHub returns a hub with no subscribers.
func newEventHub() *eventHub {
	var inst [4]byte
	_, _ = rand.Read(inst[:]) // never fails (see crypto/rand.Read)
	return &eventHub{
		instance: hex.EncodeToString(inst[:]),
		done:     make(chan struct{}),
		subs:     map[*eventSub]struct{}{},
	}
}

// Publish hands a member event to every subscriber without blocking;
// events other than member events are ignored.
func (h *eventHub) Publish(e core.Event) {
	if e.Member == nil {
		return
	}
	data, err := json.Marshal(newEventMessage(e.Member))
	if err != nil {
		// EventMessage holds strings, numbers and a time: this cannot
		// happen, and losing the event is the only option left.
		h.dropped.Add(1)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.seq++
	f := eventFrame{seq: h.seq, data: data}
	if len(h.held) == eventsHeld {
		h.held = append(h.held[:0], h.held[1:]...)
	}
	h.held = append(h.held, f)
	for s := range h.subs {
		select {
		case s.frames <- f:
		default:
			s.missed++
			h.dropped.Add(1)
		}
	}
}

// Dropped is the number of events dropped for subscribers too slow to take
// them, since start.
func (h *eventHub) Dropped() uint64 { return h.dropped.Load() }

// Close ends every stream with a shutdown message and refuses new
// subscribers. It is safe to call more than once.
func (h *eventHub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// subscribe registers a subscriber. lastID is the Last-Event-ID it resumes
// from ("" for none); history asks for every held event when lastID is "".
// It returns the events to replay first and how many events after lastID
// are no longer held.
func (h *eventHub) subscribe(lastID string, history bool) (*eventSub, []eventFrame, uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, 0, errEventsClosed
	}
	var replay []eventFrame
	var missed uint64
	switch inst, seq, ok := h.parseID(lastID); {
	case ok && inst == h.instance:
		// A reconnection to this run: what came after seq.
		for _, f := range h.held {
			if f.seq > seq {
				replay = append(replay, f)
			}
		}
		if seq < h.seq && (len(h.held) == 0 || h.held[0].seq > seq+1) {
			oldest := h.seq + 1
			if len(h.held) > 0 {
				oldest = h.held[0].seq
			}
			missed = oldest - seq - 1
		}
	case lastID != "":
		// A reconnection to an earlier run of the agent (or an ID from
		// elsewhere): every event of this run is new to it.
		replay = append(replay, h.held...)
		if len(h.held) > 0 {
			missed = h.held[0].seq - 1
		} else {
			missed = h.seq
		}
	case history:
		replay = append(replay, h.held...)
	}
	s := &eventSub{frames: make(chan eventFrame, eventsQueued)}
	h.subs[s] = struct{}{}
	return s, replay, missed, nil
}

// unsubscribe removes s; its queue is no longer fed.
func (h *eventHub) unsubscribe(s *eventSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// takeMissed returns and resets how many events s missed.
func (h *eventHub) takeMissed(s *eventSub) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := s.missed
	s.missed = 0
	return n
}

// id is the SSE ID of the event numbered seq.
func (h *eventHub) id(seq uint64) string { return h.instance + "-" + strconv.FormatUint(seq, 10) }

// parseID splits an SSE ID into its instance and sequence number.
func (h *eventHub) parseID(id string) (string, uint64, bool) {
	inst, num, ok := strings.Cut(id, "-")
	if !ok {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	return inst, seq, err == nil
}

// ServeHTTP streams events to one subscriber until it goes away, a write to
// it blocks for eventsWriteTimeout, or the hub closes.
func (h *eventHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	history := false
	switch v := r.URL.Query().Get("history"); v {
	case "", "0", "false":
	case "1", "true":
		history = true
	default:
		http.Error(w, fmt.Sprintf("history=%q: want 1 or 0", v), http.StatusBadRequest)
		return
	}
	sub, replay, missed, err := h.subscribe(r.Header.Get("Last-Event-ID"), history)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer h.unsubscribe(sub)

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	out := &sseWriter{w: w, rc: http.NewResponseController(w)}
	out.printf("retry: %d\n\n", eventsRetry.Milliseconds())
	if missed > 0 {
		out.dropped(missed)
	}
	for _, f := range replay {
		out.frame(h, f)
	}
	if out.flush() != nil {
		return
	}

	keepalive := time.NewTicker(eventsKeepalive)
	defer keepalive.Stop()
	for {
		select {
		case f := <-sub.frames:
			out.frame(h, f)
		case <-keepalive.C:
			out.printf(": keepalive\n\n")
		case <-h.done:
			// Deliver what is queued, then say why the stream ends.
			for more := true; more; {
				select {
				case f := <-sub.frames:
					out.frame(h, f)
				default:
					more = false
				}
			}
			out.dropped(h.takeMissed(sub))
			out.printf("event: shutdown\ndata: {\"time\":%q}\n\n", time.Now().UTC().Format(time.RFC3339Nano))
			_ = out.flush()
			return
		case <-r.Context().Done():
			return
		}
		if len(sub.frames) == 0 {
			// The events dropped came after every queued one.
			out.dropped(h.takeMissed(sub))
		}
		if out.flush() != nil {
			return
		}
	}
}

// sseWriter writes SSE messages with a deadline; after the first error it
// writes nothing more and reports that error.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (s *sseWriter) printf(format string, a ...any) {
	if s.err != nil {
		return
	}
	if s.err = s.rc.SetWriteDeadline(time.Now().Add(eventsWriteTimeout)); s.err != nil {
		return
	}
	_, s.err = fmt.Fprintf(s.w, format, a...)
}

// frame writes one member event.
func (s *sseWriter) frame(h *eventHub, f eventFrame) {
	s.printf("id: %s\nevent: member\ndata: %s\n\n", h.id(f.seq), f.data)
}

// dropped tells the subscriber it missed n events (nothing when n is 0).
func (s *sseWriter) dropped(n uint64) {
	if n > 0 {
		s.printf("event: dropped\ndata: {\"missed\":%d,\"time\":%q}\n\n", n, time.Now().UTC().Format(time.RFC3339Nano))
	}
}

// flush sends what was written and returns the first error so far.
func (s *sseWriter) flush() error {
	if s.err == nil {
		s.err = s.rc.Flush()
	}
	return s.err
}
