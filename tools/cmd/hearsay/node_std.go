package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// stdNode serves a std Node to the HTTP API and logs its member events.
type stdNode struct {
	*std.Node
	logged chan struct{} // closed when the event logger has exited
	events *eventHub     // /v1/events, fed by the event logger
}

var _ agentNode = (*stdNode)(nil)

// startNode starts the std node the agent serves, from its options.
func startNode(ctx context.Context, o agentOptions, logger *slog.Logger) (agentNode, error) {
	cfg := std.DefaultConfig()
	cfg.Core = presets[o.preset]()
	cfg.Core.NodeID = o.name
	cfg.Core.Meta = []byte(o.meta)
	cfg.Transport.BindAddr = o.bind
	cfg.Transport.Label = o.label
	cfg.Transport.Keyring = o.keyring
	cfg.Seeds = o.join
	cfg.Logger = logger
	n, err := std.Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("start node: %w", err)
	}
	s := &stdNode{Node: n, logged: make(chan struct{}), events: newEventHub()}
	events, _ := n.Subscribe() // Close ends the subscription
	go s.logEvents(events, logger)
	return s, nil
}

// logEvents logs member and topology events, and hands them to /v1/events,
// until the subscription closes (at Close).
func (s *stdNode) logEvents(events <-chan core.Event, logger *slog.Logger) {
	defer close(s.logged)
	for e := range events {
		s.events.Publish(e)
		switch {
		case e.Member != nil:
			from := "new"
			if e.Member.From != 0 {
				from = e.Member.From.String()
			}
			logger.Info("member", "node", e.Member.Record.NodeID, "authority", e.Member.Record.Authority,
				"from", from, "to", e.Member.To.String(), "incarnation", e.Member.Record.Incarnation)
		case e.Topology != nil:
			logger.Info("topology", "members", len(e.Topology.Members), "joined", e.Topology.Joined,
				"left", e.Topology.Left, "dead", e.Topology.Dead, "hash", fmt.Sprintf("%016x", e.Topology.Hash))
		}
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
		EventsDropped:     st.EventsDropped + s.events.Dropped(),
		PlaintextReceived: t.ReceivedPlaintext,
	}
}
