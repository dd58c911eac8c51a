package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"sync"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// stdNode serves a std Node to the HTTP API and logs its member events.
type stdNode struct {
	*std.Node
	logged chan struct{} // closed when the event logger has exited
	events *eventHub     // /v1/events, fed by the event logger

	stopOnce sync.Once
	stopped  chan struct{} // closed when the node gave its address up
	stopErr  error         // why; written before stopped is closed

	// name is --name; metaLimit the preset's MaxMetadataBytes; tags the
	// tags published last (--tag, then each SetTags), under tagsMu.
	name      string
	metaLimit int
	tagsMu    sync.Mutex
	tags      map[string]string
}

var _ agentNode = (*stdNode)(nil)

// seedResolver resolves --join host names, at every join attempt (a fake
// in tests).
var seedResolver std.Resolver = net.DefaultResolver

// startNode starts the std node the agent serves, from its options, as a
// new instance (see instance.go).
func startNode(ctx context.Context, o agentOptions, logger *slog.Logger) (agentNode, error) {
	cfg, err := nodeConfig(o, logger)
	if err != nil {
		return nil, err
	}
	n, err := std.Start(ctx, cfg)
	if errors.Is(err, core.ErrInvalidConfig) {
		// Everything in the config comes from the command line.
		return nil, usagef("agent: %v", err)
	}
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	s := &stdNode{Node: n, logged: make(chan struct{}), events: newEventHub(), stopped: make(chan struct{}),
		name: o.name, metaLimit: cfg.Core.MaxMetadataBytes, tags: maps.Clone(map[string]string(o.tags))}
	events, _ := n.Subscribe() // Close ends the subscription
	go s.logEvents(events, n.LocalNode(), logger)
	return s, nil
}

// logEvents logs member and topology events, and hands them to /v1/events,
// until the subscription closes (at Close); it stops the agent when self,
// this node, lost its address to another instance.
func (s *stdNode) logEvents(events <-chan core.Event, self core.NodeRecord, logger *slog.Logger) {
	defer close(s.logged)
	for e := range events {
		s.events.Publish(e)
		switch {
		case e.Member != nil && e.Member.Conflict && e.Member.Record.Authority != e.Member.Other.Authority:
			// One node ID at two addresses; std logs it too.
			r := e.Member.Record
			name, _, _ := decodeNodeMeta(r.Meta)
			logger.Warn("conflict: one node ID at two addresses", "name", name, "node", r.NodeID,
				"authority", r.Authority, "other_authority", e.Member.Other.Authority)
		case e.Member != nil && e.Member.Conflict:
			r := e.Member.Record
			name, _, _ := decodeNodeMeta(r.Meta)
			if r.Authority == self.Authority && r.NodeID == self.NodeID {
				s.stop(fmt.Errorf("another instance claims this node's address %s with a newer record (incarnation above %d); this instance gave the address up and stopped",
					r.Authority, r.Incarnation))
				continue
			}
			logger.Warn("conflict: two instances claim one address; this one lost", "name", name, "node", r.NodeID,
				"authority", r.Authority, "incarnation", r.Incarnation)
		case e.Member != nil:
			from := "new"
			if e.Member.From != 0 {
				from = e.Member.From.String()
			}
			r := e.Member.Record
			name, tags, _ := decodeNodeMeta(r.Meta)
			logger.Info("member", "name", name, "node", r.NodeID, "authority", r.Authority,
				"from", from, "to", e.Member.To.String(), "incarnation", r.Incarnation, "tags", formatTags(tags))
		case e.Topology != nil:
			logger.Info("topology", "members", len(e.Topology.Members), "joined", e.Topology.Joined,
				"left", e.Topology.Left, "dead", e.Topology.Dead, "hash", fmt.Sprintf("%016x", e.Topology.Hash))
		}
	}
}

// stop records why the node stopped on its own and closes stopped (once).
func (s *stdNode) stop(reason error) {
	s.stopOnce.Do(func() {
		s.stopErr = reason
		close(s.stopped)
	})
}

// Stopped is closed when the node gave its address up to another instance.
func (s *stdNode) Stopped() <-chan struct{} { return s.stopped }

// StopReason says why the node stopped, once Stopped is closed.
func (s *stdNode) StopReason() error {
	select {
	case <-s.stopped:
		return s.stopErr
	default:
		return nil
	}
}

// Close stops the node, which closes the subscription, and waits for the
// event logger.
func (s *stdNode) Close() error {
	err := s.Node.Close()
	<-s.logged
	s.events.Close()
	return err
}

// eventStream is the hub /v1/events serves.
func (s *stdNode) eventStream() *eventHub { return s.events }

// Counters maps std's statistics to what /metrics exports.
func (s *stdNode) Counters() Counters {
	st := s.Node.Stats()
	t := st.Transport
	return Counters{
		MessagesSent:     t.DatagramsSent,
		BytesSent:        t.BytesSent,
		MessagesReceived: t.DatagramsReceived,
		BytesReceived:    t.BytesReceived,
		Drops: map[string]uint64{
			"filtered":        t.DroppedFiltered,
			"oversize":        t.DroppedOversize,
			"wrong_label":     t.DroppedWrongLabel,
			"decode_error":    t.DroppedDecodeError,
			"auth":            t.DroppedAuth,
			"fair_share":      t.DroppedFairShare,
			"inbound_full":    t.DroppedInboundFull,
			"send_queue_full": t.SendQueueFull,
			"send_oversize":   t.SendOversize,
			"send_bad_target": t.SendBadTarget,
			"send_encode":     t.SendEncodeError,
			"send_closed":     t.SendClosed,
			"send_error":      t.SendErrors,
			"rejected":        st.Coordinator.MessagesRejected,
		},
		SuspicionsRaised:  st.Coordinator.SuspicionsRaised,
		SuspicionsRefuted: st.Coordinator.SuspicionsRefuted,
		Refutations:       st.Coordinator.Refutations,
		DeadDeclared:      st.Coordinator.DeadDeclared,
		Ticks:             st.Driver.Steps,
		TickLag:           st.TickLagTotal,
		TickLagMax:        st.TickLagMax,
		StallsForgiven:    st.Coordinator.StallsForgiven,
		LocalHealth:       st.LocalHealth,
		EventsDropped:     st.EventsDropped + s.events.Dropped(),
		PlaintextReceived: t.ReceivedPlaintext,
	}
}

// nodeConfig is the std configuration of a new instance of the agent's node,
// from its options. An agent whose cluster is open (no keyring, or one that
// accepts plain datagrams) keeps failure detection to members heard from
// directly (core.Config.ProveMembers): anyone who reaches its port could
// otherwise gossip fake members that become monitors (SECURITY.md,
// "Injected members").
func nodeConfig(o agentOptions, logger *slog.Logger) (std.Config, error) {
	id, err := newInstanceID()
	if err != nil {
		return std.Config{}, err
	}
	cfg := std.DefaultConfig()
	cfg.Core = presets[o.preset]()
	cfg.Core.NodeID = id
	cfg.Core.InitialIncarnation = initialIncarnation(time.Now())
	cfg.Core.Meta = o.meta
	cfg.Transport.BindAddr = o.bind
	cfg.Transport.AdvertiseAddr = o.advertise
	cfg.Transport.Label = o.label
	cfg.Transport.Keyring = o.keyring
	cfg.Seeds = o.join
	cfg.Resolver = seedResolver
	cfg.Logger = logger
	cfg.Core.ProveMembers = o.keyring == nil || o.keyring.PlaintextPolicy() != std.PlaintextRefused
	return cfg, nil
}
