package sim

// The event queue: a binary min-heap of small values ordered by virtual time,
// then by insertion order, so that a run is reproducible to the event. It is
// written out rather than built on container/heap to avoid boxing every event
// in an interface.

// eventKind says what an event does when its time comes.
type eventKind uint8

const (
	// evDeliver hands the in-flight message in slot ref to node.
	evDeliver eventKind = iota + 1
	// evPoll is node's poll tick; gen must still match the node's generation.
	evPoll
	// evResume ends a pause of node (generation gen).
	evResume
	// evAction runs the scheduled function actions[ref].
	evAction
)

// event is one entry of the queue.
type event struct {
	at   int64  // virtual nanoseconds since the cluster's start
	seq  uint64 // insertion order: the tie-break that makes runs reproducible
	node int32
	ref  int32  // in-flight slot (evDeliver) or action index (evAction)
	gen  uint32 // the node's generation when scheduled (evPoll, evResume)
	kind eventKind
}

// eventQueue is a min-heap of events.
type eventQueue struct {
	items []event
	seq   uint64
}

func (q *eventQueue) len() int { return len(q.items) }

func (q *eventQueue) less(i, j int) bool {
	a, b := &q.items[i], &q.items[j]
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

// push adds e, stamping its sequence number.
func (q *eventQueue) push(e event) {
	q.seq++
	e.seq = q.seq
	q.items = append(q.items, e)
	i := len(q.items) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q.items[i], q.items[p] = q.items[p], q.items[i]
		i = p
	}
}

// peek returns the earliest event's time; the queue must not be empty.
func (q *eventQueue) peek() int64 { return q.items[0].at }

// pop removes and returns the earliest event; the queue must not be empty.
func (q *eventQueue) pop() event {
	top := q.items[0]
	last := len(q.items) - 1
	q.items[0] = q.items[last]
	q.items = q.items[:last]
	i, n := 0, last
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q.less(r, l) {
			m = r
		}
		if !q.less(m, i) {
			break
		}
		q.items[i], q.items[m] = q.items[m], q.items[i]
		i = m
	}
	return top
}
