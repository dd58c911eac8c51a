// Command two-node is the first thing to run: two hearsay nodes on
// 127.0.0.1 meet, gossip and part, and the program prints what happened as a
// timeline.
//
//	go run ./examples/two-node
//
// Node a starts a cluster, node b joins it through a, both come Up, a emits
// a topology update, then b leaves gracefully and a sees it Removed. Both use
// ephemeral ports and core.DefaultLocalConfig's timings, so the whole run
// takes well under a second. If a step does not happen within its deadline,
// the program says which and exits 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// stepTimeout bounds each step of the timeline.
const stepTimeout = 5 * time.Second

func main() {
	if err := run(context.Background(), os.Stdout, stepTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "two-node: FAILED:", err)
		os.Exit(1)
	}
}

// timeline prints lines stamped with the time since it started.
type timeline struct {
	w     io.Writer
	start time.Time
}

func (t *timeline) printf(format string, a ...any) {
	fmt.Fprintf(t.w, "%+8.3fs  %s\n", time.Since(t.start).Seconds(), fmt.Sprintf(format, a...))
}

// watcher follows one node's events and prints those worth seeing.
type watcher struct {
	name   string
	node   *std.Node
	events <-chan core.Event
	cancel func()
	names  map[string]string // authority → node name, for readable lines
	tl     *timeline
	// known holds the authorities this node has had a member event about.
	known map[string]bool
	// removed is set by a member event to Removed.
	removed bool
	// topologyWith is the number of members of the latest topology update.
	topologyWith int
}

// print describes one event on the timeline and records it.
func (w *watcher) print(e core.Event) {
	switch {
	case e.Member != nil:
		m := e.Member
		who := w.names[m.Record.Authority]
		if who == "" {
			who = m.Record.Authority
		}
		if who == w.name {
			return // a node's own changes show in the other's view
		}
		w.known[m.Record.Authority] = true
		from := "new"
		if m.From != 0 {
			from = m.From.String()
		}
		verb := map[core.NodeStatus]string{
			core.StatusJoining: "is joining", core.StatusUp: "is up", core.StatusSuspect: "is suspect",
			core.StatusLeaving: "is leaving", core.StatusRemoved: "is removed", core.StatusDead: "is dead",
		}[m.To]
		w.tl.printf("%s: member %s %s (%s -> %s, incarnation %d)", w.name, who, verb, from, m.To, m.Record.Incarnation)
		if m.To == core.StatusRemoved {
			w.removed = true
		}
	case e.Topology != nil:
		u := e.Topology
		var members []string
		for _, r := range u.Members {
			members = append(members, r.NodeID)
		}
		slices.Sort(members)
		w.tl.printf("%s: topology update: %d member(s) [%s], joined [%s], left [%s], dead [%s], hash %016x",
			w.name, len(u.Members), strings.Join(members, " "), w.nameList(u.Joined), w.nameList(u.Left), w.nameList(u.Dead), u.Hash)
		w.topologyWith = len(u.Members)
	}
}

func (w *watcher) nameList(auths []string) string {
	out := make([]string, 0, len(auths))
	for _, a := range auths {
		if n := w.names[a]; n != "" {
			out = append(out, n)
		} else {
			out = append(out, a)
		}
	}
	return strings.Join(out, " ")
}

// status returns what node w holds for authority (0 if nothing).
func (w *watcher) status(authority string) core.NodeStatus {
	for _, r := range w.node.Records() {
		if r.Authority == authority {
			return r.Status
		}
	}
	return 0
}

// until prints the events of the watchers until cond holds, and fails when
// it does not within timeout. It re-checks cond after every event and every
// 20 ms, since a condition may read the nodes' tables as well as events.
func until(ctx context.Context, what string, timeout time.Duration, tl *timeline, ws []*watcher, cond func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	drain := func() {
		for _, w := range ws {
			for {
				select {
				case e := <-w.events:
					w.print(e)
					continue
				default:
				}
				break
			}
		}
	}
	// A nil channel never delivers: with one watcher, only its events count.
	var ev1 <-chan core.Event
	if len(ws) > 1 {
		ev1 = ws[1].events
	}
	for drain(); !cond(); drain() {
		select {
		case e := <-ws[0].events:
			ws[0].print(e)
		case e := <-ev1:
			ws[1].print(e)
		case <-tick.C:
		case <-deadline.C:
			return fmt.Errorf("step %q did not happen within %v", what, timeout)
		case <-ctx.Done():
			return fmt.Errorf("step %q: %w", what, ctx.Err())
		}
	}
	tl.printf("OK  %s", what)
	return nil
}

// run plays the two-node scenario and writes its timeline to out. Each step
// must happen within timeout.
func run(ctx context.Context, out io.Writer, timeout time.Duration) (err error) {
	tl := &timeline{w: out, start: time.Now()}
	fmt.Fprintln(out, "hearsay two-node example: two nodes on 127.0.0.1, core.DefaultLocalConfig timings")

	start := func(name string, seeds []string) (*watcher, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cfg := std.DefaultConfig()
		cfg.Core = core.DefaultLocalConfig()
		cfg.Core.NodeID = name
		cfg.Transport.BindAddr = "127.0.0.1:0"
		cfg.Transport.Label = "two-node-example"
		cfg.Seeds = seeds
		n, err := std.Start(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		events, cancelSub := n.Subscribe()
		return &watcher{name: name, node: n, events: events, cancel: cancelSub, tl: tl, known: map[string]bool{}}, nil
	}

	a, err := start("a", nil)
	if err != nil {
		return err
	}
	defer func() {
		a.cancel()
		err = errors.Join(err, a.node.Close())
	}()
	aAddr := a.node.LocalNode().Authority
	tl.printf("a: started at %s, a cluster of one", aAddr)

	b, err := start("b", []string{aAddr})
	if err != nil {
		return err
	}
	bClosed := false
	defer func() {
		if !bClosed {
			b.cancel()
			err = errors.Join(err, b.node.Close())
		}
	}()
	bAddr := b.node.LocalNode().Authority
	names := map[string]string{aAddr: "a", bAddr: "b"}
	a.names, b.names = names, names
	tl.printf("b: started at %s, joining through a at %s", bAddr, aAddr)
	ws := []*watcher{a, b}

	if err := until(ctx, "b joined: a knows b", timeout, tl, ws, func() bool {
		return a.known[bAddr]
	}); err != nil {
		return err
	}
	if err := until(ctx, "both up: a and b each see a and b up", timeout, tl, ws, func() bool {
		return a.status(aAddr) == core.StatusUp && a.status(bAddr) == core.StatusUp &&
			b.status(aAddr) == core.StatusUp && b.status(bAddr) == core.StatusUp
	}); err != nil {
		return err
	}
	if err := until(ctx, "a emitted a topology update with both members", timeout, tl, ws, func() bool {
		return a.topologyWith == 2
	}); err != nil {
		return err
	}

	tl.printf("b: leaving gracefully")
	// Leave returns once the leave has been gossiped; meanwhile the
	// timeline goes on printing what both nodes see.
	left := make(chan error, 1)
	go func() {
		leaveCtx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		left <- b.node.Leave(leaveCtx)
	}()
	var lerr error
	leaveDone := false
	if err := until(ctx, "b finished its graceful leave", timeout+time.Second, tl, ws, func() bool {
		select {
		case lerr = <-left:
			leaveDone = true
		default:
		}
		return leaveDone
	}); err != nil {
		return err
	}
	if lerr != nil {
		return fmt.Errorf("b: leave: %w", lerr)
	}
	b.cancel()
	bClosed = true
	if err := b.node.Close(); err != nil {
		return fmt.Errorf("b: close: %w", err)
	}
	tl.printf("b: closed")
	if err := until(ctx, "a sees b removed", timeout, tl, ws[:1:1], func() bool {
		return a.removed && a.status(bAddr) == core.StatusRemoved
	}); err != nil {
		return err
	}
	tl.printf("done: a's view is a=%s b=%s", a.status(aAddr), a.status(bAddr))
	return nil
}
