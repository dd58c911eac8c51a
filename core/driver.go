package core

import (
	"errors"
	"fmt"
	"time"
)

// Event is one thing a Driver publishes: exactly one field is set.
type Event struct {
	// Member is a member's status change.
	Member *MemberEvent
	// Topology is a batched topology update.
	Topology *TopologyUpdate
	// Quarantine is an instance put in or let out of quarantine.
	Quarantine *QuarantineEvent
	// User is an application message delivered to this node.
	User *UserMessage
}

// EventSink receives the events a Driver publishes. Publish is called from
// the goroutine that calls Step or Apply, and must not block for long.
type EventSink interface {
	// Publish delivers one event.
	Publish(Event)
}

// EventSinkFunc adapts a function to an EventSink.
type EventSinkFunc func(Event)

// Publish calls f(e).
func (f EventSinkFunc) Publish(e Event) { f(e) }

// DriverStats counts what a Driver did.
type DriverStats struct {
	// Steps is the number of Step calls.
	Steps uint64
	// Received is the number of inbound messages drained from the transport.
	Received uint64
	// HandleErrors is the number of inbound messages the coordinator refused.
	HandleErrors uint64
	// Sent is the number of messages the transport accepted.
	Sent uint64
	// SendErrors is the number of messages the transport refused.
	SendErrors uint64
	// EventsPublished is the number of events handed to the sink.
	EventsPublished uint64
}

// Driver binds a MembershipCoordinator to a GossipTransport and an EventSink.
// Like the coordinator it is synchronous and not safe for concurrent use: one
// goroutine (std's Gossiper, or a test loop) owns both and calls Step as time
// passes and Apply with the outcomes of the calls it makes itself (join,
// leave, quarantine), so that nothing they produce is lost.
type Driver struct {
	c     *MembershipCoordinator
	t     GossipTransport
	sink  EventSink
	stats DriverStats
}

// NewDriver returns a driver for c over t publishing to sink; sink may be nil
// to discard events.
func NewDriver(c *MembershipCoordinator, t GossipTransport, sink EventSink) *Driver {
	return &Driver{c: c, t: t, sink: sink}
}

// Coordinator returns the driven coordinator.
func (d *Driver) Coordinator() *MembershipCoordinator { return d.c }

// Stats returns the driver's counters.
func (d *Driver) Stats() DriverStats { return d.stats }

// Step drains every inbound message from the transport into the coordinator,
// then polls it at now, publishes every event and sends every outbound
// message. Refused inbound messages and failed sends do not stop the step:
// they are counted and returned joined (handle errors first, then send
// errors); a nil result means everything was handled and sent.
func (d *Driver) Step(now time.Time) error {
	d.stats.Steps++
	var out Outcome
	var errs []error
	for _, in := range d.t.PollDeltas() {
		d.stats.Received++
		o, err := d.c.HandleGossip(now, in)
		if err != nil {
			d.stats.HandleErrors++
			errs = append(errs, fmt.Errorf("from %s: %w", in.Source, err))
		}
		out.Append(o)
	}
	out.Append(d.c.Poll(now))
	if err := d.Apply(out); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Apply publishes o's events (member events, then quarantine events, then the
// topology update, then user messages) and sends all of o's outbound messages. Every send is
// attempted; the failures are counted and returned joined.
func (d *Driver) Apply(o Outcome) error {
	if d.sink != nil {
		for i := range o.Members {
			d.sink.Publish(Event{Member: &o.Members[i]})
			d.stats.EventsPublished++
		}
		for i := range o.Quarantine {
			d.sink.Publish(Event{Quarantine: &o.Quarantine[i]})
			d.stats.EventsPublished++
		}
		if o.Topology != nil {
			d.sink.Publish(Event{Topology: o.Topology})
			d.stats.EventsPublished++
		}
		for i := range o.User {
			d.sink.Publish(Event{User: &o.User[i]})
			d.stats.EventsPublished++
		}
	}
	var errs []error
	for _, m := range o.Outbound {
		if err := d.t.Send(m); err != nil {
			d.stats.SendErrors++
			errs = append(errs, fmt.Errorf("to %s: %w", m.Target, err))
			continue
		}
		d.stats.Sent++
	}
	return errors.Join(errs...)
}
