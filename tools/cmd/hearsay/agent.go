package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/std"
)

// reloadKeyring applies the --keyring file to the running keyring and logs
// what changed; a bad file is logged and changes nothing.
func (o agentOptions) reloadKeyring(logger *slog.Logger) {
	if o.keyring == nil {
		logger.Warn("reload requested, but there is no keyring to reload (no --keyring)")
		return
	}
	ch, err := reloadKeyring(o.keyring, o.keyringFile)
	if err != nil {
		// A bad file fails before any change; the counts are for a failure
		// applying a good one, which only a concurrent change could cause.
		logger.Error("keyring reload failed", "file", o.keyringFile, "err", err, "added", ch.Added, "removed", ch.Removed)
		return
	}
	primary := "unchanged"
	switch {
	case ch.PrimaryWas < 0:
		primary = "new key"
	case ch.PrimaryWas > 0:
		primary = fmt.Sprintf("installed key %d", ch.PrimaryWas+1)
	}
	logger.Info("keyring reloaded", "file", o.keyringFile, "added", ch.Added, "removed", ch.Removed,
		"keys", ch.Keys, "primary", primary)
}

// agentNode is the running member the agent serves.
type agentNode interface {
	Source
	// Leave gossips a graceful leave, bounded by ctx.
	Leave(ctx context.Context) error
	// Close stops the node; every goroutine has exited when it returns.
	Close() error
	// Stopped is closed when the node stopped on its own (it gave its
	// address up to another instance); StopReason then says why.
	Stopped() <-chan struct{}
	// StopReason is why the node stopped on its own, once Stopped is closed.
	StopReason() error
}

// startAgentNode starts the node the agent serves: startNode, or a fake
// in tests.
var startAgentNode = startNode

// stopCheckInterval is how often the agent checks that its node still runs,
// in case the event that says it stopped was lost (the event itself stops
// the agent at once). Each check is a query to the gossip loop, a wake-up of
// an otherwise idle process: once a second it cost about a tenth of an idle
// agent's CPU (BENCHMARKS.md, "Where an idle agent's CPU goes").
var stopCheckInterval = 10 * time.Second

// runAgent runs one member until ctx ends, then leaves gracefully. Each value
// from reload (nil: none) reloads the keyring file. ready, if not nil, is
// called with the node and the HTTP address once both serve. If the node
// stops on its own, runAgent logs why at ERROR, closes it and returns the
// reason (the process then exits 1, for a supervisor to restart it).
func runAgent(ctx context.Context, o agentOptions, stdout, stderr io.Writer, reload <-chan os.Signal,
	ready func(n agentNode, httpAddr string)) (err error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.logLevel}))

	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	node, err := startAgentNode(ctx, o, logger)
	if err != nil {
		ln.Close()
		return err
	}
	self := node.LocalNode()
	logger.Info("agent started", "name", o.name, "node", self.NodeID, "authority", self.Authority,
		"incarnation", self.Incarnation, "bind", o.bind, "http", ln.Addr().String(), "preset", o.preset,
		"seeds", strings.Join(o.join, ","), "tags", formatTags(o.tags))
	if o.keyring != nil && o.keyring.PlaintextPolicy() != std.PlaintextRefused {
		logger.Warn("keyring set, but plain datagrams are accepted: the cluster is as open as without a keyring until --keyring-plaintext refuse",
			"keyring_plaintext", o.keyring.PlaintextPolicy().String())
	}

	handler := newHandler(node, logger)
	if o.pprof {
		handler = withPprof(handler)
	}
	srv := newHTTPServer(handler, o.httpLimits, logger)
	if es, ok := node.(eventStreamer); ok {
		srv.RegisterOnShutdown(es.eventStream().Close) // /v1/events streams never go idle
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(limitListener(ln, o.httpLimits)) }()
	if ready != nil {
		ready(node, ln.Addr().String())
	}

	check := time.NewTicker(stopCheckInterval)
	defer check.Stop()
	stopped := false
wait:
	for {
		select {
		case <-ctx.Done():
			logger.Info("signal received, leaving the cluster")
			break wait
		case err = <-served:
			err = fmt.Errorf("http: %w", err)
			break wait
		case <-reload:
			o.reloadKeyring(logger)
		case <-node.Stopped():
			stopped = true
			break wait
		case <-check.C:
			if !node.LocalNode().Status.Valid() {
				// The event that says why may be on its way: give it as
				// long again.
				select {
				case <-node.Stopped():
				case <-time.After(stopCheckInterval):
				}
				stopped = true
				break wait
			}
		}
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), o.leaveTimeout)
	defer cancel()
	if stopped {
		err = node.StopReason()
		if err == nil {
			err = errNodeStopped
		}
		self := node.LocalNode()
		logger.Error("the node has stopped; exiting for a supervisor to restart the agent", "err", err,
			"name", o.name, "node", self.NodeID, "authority", self.Authority)
	} else if lerr := node.Leave(shutdownCtx); lerr != nil {
		logger.Warn("graceful leave incomplete", "err", lerr)
	} else {
		logger.Info("left the cluster")
	}
	if serr := srv.Shutdown(shutdownCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		srv.Close()
	}
	if err == nil || stopped {
		<-served // Serve returns ErrServerClosed once Shutdown began.
	}
	if cerr := node.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close: %w", cerr))
	}
	logger.Info("agent stopped")
	return err
}

// errNodeStopped: the node stopped and the event saying why was lost.
var errNodeStopped = errors.New("the node stopped running (its coordinator stopped; the event that says why was lost)")
