package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/hearsay-go/hearsay/tools/internal/bench/mlcount"
)

// agent is the running member and what its API reads.
type agent struct {
	ml       *memberlist.Memberlist
	tr       *mlcount.Transport
	events   *eventLog
	httpAddr string
}

// joinRetry is how long the agent waits between failed joins, as
// hearsay-bench's in-process memberlist members do.
const joinRetry = 200 * time.Millisecond

// runAgent runs one member until ctx ends, then leaves gracefully.
func runAgent(ctx context.Context, o options, stderr io.Writer, ready func(*agent)) (err error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	host, port, err := bindAddr(o.bind)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	tr, err := mlcount.Listen(host, port, mlcount.Options{CountReceived: true})
	if err != nil {
		ln.Close()
		return err
	}
	installTransitionSink()
	events := &eventLog{logger: logger, gone: map[string]string{}}
	conf := memberlist.DefaultLANConfig()
	conf.Name = o.name
	conf.BindAddr = host
	conf.BindPort = tr.GetAutoBindPort()
	conf.AdvertisePort = conf.BindPort
	conf.Transport = tr
	conf.LogOutput = dropDebug{stderr}
	conf.Events = events
	ml, err := memberlist.Create(conf)
	if err != nil {
		_ = tr.Shutdown()
		ln.Close()
		return fmt.Errorf("memberlist: %w", err)
	}
	a := &agent{ml: ml, tr: tr, events: events, httpAddr: ln.Addr().String()}
	self := ml.LocalNode()
	logger.Info("agent started", "node", o.name, "authority", net.JoinHostPort(self.Addr.String(), strconv.Itoa(int(self.Port))),
		"http", a.httpAddr, "config", "memberlist.DefaultLANConfig()", "seeds", strings.Join(o.join, ","))

	h := a.handler()
	if o.pprof {
		h = withPprof(h)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }() // ends at Shutdown

	joinCtx, stopJoin := context.WithCancel(ctx)
	joined := make(chan struct{})
	go func() { // ends once joined, or when the agent stops
		defer close(joined)
		joinUntilDone(joinCtx, ml, o.join, logger)
	}()
	if ready != nil {
		ready(a)
	}

	select {
	case <-ctx.Done():
		logger.Info("signal received, leaving the cluster")
	case err = <-served:
		err = fmt.Errorf("http: %w", err)
	}
	stopJoin()
	<-joined
	if lerr := ml.Leave(o.leaveTimeout); lerr != nil {
		logger.Warn("graceful leave incomplete", "err", lerr)
	} else {
		logger.Info("left the cluster")
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), o.leaveTimeout)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		srv.Close()
	}
	if err == nil {
		<-served
	}
	if serr := ml.Shutdown(); serr != nil {
		err = errors.Join(err, fmt.Errorf("shutdown: %w", serr))
	}
	logger.Info("agent stopped")
	return err
}

// joinUntilDone joins seeds, retrying every joinRetry until one join
// succeeds or ctx ends. No seeds: nothing to do.
func joinUntilDone(ctx context.Context, ml *memberlist.Memberlist, seeds []string, logger *slog.Logger) {
	if len(seeds) == 0 {
		return
	}
	for {
		n, err := ml.Join(seeds)
		if err == nil {
			logger.Info("joined", "contacted", n)
			return
		}
		logger.Warn("join failed, retrying", "err", err, "retry", joinRetry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(joinRetry):
		}
	}
}

// eventLog is memberlist's EventDelegate: it logs every member event and
// remembers the members reported gone (dead or left), for /v1/members.
type eventLog struct {
	logger *slog.Logger
	mu     sync.Mutex
	gone   map[string]string // name -> authority
}

func authority(n *memberlist.Node) string {
	return net.JoinHostPort(n.Addr.String(), strconv.Itoa(int(n.Port)))
}

// NotifyJoin logs a member that joined (or came back).
func (e *eventLog) NotifyJoin(n *memberlist.Node) {
	e.mu.Lock()
	delete(e.gone, n.Name)
	e.mu.Unlock()
	e.logger.Info("member", "node", n.Name, "authority", authority(n), "to", "alive")
}

// NotifyLeave logs a member that died or left.
func (e *eventLog) NotifyLeave(n *memberlist.Node) {
	e.mu.Lock()
	e.gone[n.Name] = authority(n)
	e.mu.Unlock()
	e.logger.Info("member", "node", n.Name, "authority", authority(n), "to", "gone")
}

// NotifyUpdate logs a member whose metadata changed.
func (e *eventLog) NotifyUpdate(n *memberlist.Node) {
	e.logger.Info("member", "node", n.Name, "authority", authority(n), "to", "updated")
}

// goneMembers returns the members reported gone and not back since.
func (e *eventLog) goneMembers() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(e.gone))
	for k, v := range e.gone {
		out[k] = v
	}
	return out
}

// dropDebug passes memberlist's log lines to w without the [DEBUG] ones
// (memberlist's logger writes one line per Write).
type dropDebug struct{ w io.Writer }

func (d dropDebug) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("[DEBUG]")) {
		return len(p), nil
	}
	return d.w.Write(p)
}
