package std

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// JoinState says whether and when a node joined its cluster and, while it
// has not, what it has tried (Node.JoinState).
type JoinState struct {
	// Joined is when this node first joined: a member turned Up (a seed
	// answered, or it had no seed but itself), a client learnt of a member.
	// It is the zero Time while the node has not joined.
	Joined time.Time
	// Since is when the latest join began: Start, or Node.Join with seeds.
	Since time.Time
	// Attempts counts rounds of join requests sent to the seeds since then
	// (core.CoordinatorStats.JoinAttempts): the first, each retry, and,
	// once joined, the reconnect probes of the seeds.
	Attempts uint64
	// Addrs are the addresses ("ip:port") the seeds resolved to at the
	// latest attempt: every address of a name.
	Addrs []string
	// Problem, once the join is late (not joined three
	// Core.JoinRetryIntervals after Since), says in one line what was tried
	// and the likely cause; the node also logs it as a warning. It is empty
	// while the join is on time, and once the node has joined.
	Problem string
}

// joinLateRetries is how many JoinRetryIntervals a join may take before it
// is late: JoinState.Problem then explains it and the node warns.
const joinLateRetries = 3

// maxJoinWarnInterval bounds the interval between two warnings of a late
// join (it doubles from the first).
const maxJoinWarnInterval = 10 * time.Minute

// seedLookupTimeout bounds the resolution of the seeds at one attempt.
const seedLookupTimeout = 5 * time.Second

// joiner resolves a node's seeds and keeps its join going. Seeds may be
// host names: it resolves them on every attempt (every JoinRetryInterval
// while the node has not joined; afterwards, whenever the node probes its
// seeds because no live peer is left) and hands every address they resolve
// to to the coordinator (SetSeeds), so that a name that does not resolve
// yet, or one of several that never will, delays nothing else: the node
// keeps trying while any seed is usable and logs those that are not. While
// the node joins it watches the seeds' addresses on the transport, and once
// the join is late it explains what was tried.
//
// Its goroutine starts in newJoiner and exits at stop.
type joiner struct {
	g        *gossiper
	watch    *sourceWatch
	resolver Resolver // nil when no seed is a name
	bind     netip.Addr
	retry    time.Duration // Core.JoinRetryInterval
	probe    time.Duration // Core.ReconnectInterval
	label    string
	keyring  *Keyring
	log      *slog.Logger

	requests chan joinRequest
	ctx      context.Context // ends at stop
	cancel   context.CancelFunc
	done     chan struct{}

	mu    sync.Mutex
	state JoinState // what JoinState returns, but Joined and Attempts

	// The goroutine's own state.
	seeds    []seed
	base     uint64            // JoinAttempts when the join began
	seen     uint64            // JoinAttempts at the latest resolution
	resolved []seedAddrs       // the latest attempt's results
	logged   map[string]string // seed → what it resolved to, as last logged
	warnAt   time.Time         // when the next warning of a late join is due
	warned   bool              // a late join was reported
}

// joinRequest is Node.Join's: join seeds now.
type joinRequest struct {
	seeds []seed
	done  chan error
}

// newJoiner starts the joiner of a node that began to join at since, with
// the seeds of cfg, whose IP literals, addrs, the coordinator already has.
func newJoiner(cfg joinerConfig, since time.Time, addrs []string) *joiner {
	ctx, cancel := context.WithCancel(context.Background())
	j := &joiner{
		g: cfg.g, watch: cfg.watch, resolver: cfg.resolver, bind: cfg.bind, retry: cfg.retry, probe: cfg.probe,
		label: cfg.label, keyring: cfg.keyring, log: cfg.log,
		requests: make(chan joinRequest),
		ctx:      ctx, cancel: cancel,
		done:   make(chan struct{}),
		seeds:  cfg.seeds,
		logged: map[string]string{},
	}
	j.state.Since, j.state.Addrs = since, addrs
	go j.run()
	return j
}

// joinerConfig is what a joiner needs of its node.
type joinerConfig struct {
	g        *gossiper
	watch    *sourceWatch
	resolver Resolver
	bind     netip.Addr
	seeds    []seed
	retry    time.Duration
	probe    time.Duration
	label    string
	keyring  *Keyring
	log      *slog.Logger
}

// stop ends the goroutine (cutting short a resolution under way) and
// returns once it has exited.
func (j *joiner) stop() {
	j.cancel()
	<-j.done
}

// join makes seeds the node's seeds and sends them join requests at once,
// resolved; the node keeps retrying them. It returns once the requests are
// sent, ctx's error if ctx ends first, or ErrNotRunning.
func (j *joiner) join(ctx context.Context, seeds []seed) error {
	req := joinRequest{seeds: seeds, done: make(chan error, 1)}
	select {
	case j.requests <- req:
	case <-j.done:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// snapshot returns the state JoinState reports, but Joined and Attempts.
func (j *joiner) snapshot() (JoinState, uint64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.state
	s.Addrs = slices.Clone(s.Addrs)
	return s, j.base
}

func (j *joiner) run() {
	defer close(j.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	if len(j.seeds) == 0 {
		timer.Stop()
	}
	_, joined := j.g.Joined()
	for {
		select {
		case <-j.ctx.Done():
			return
		case req := <-j.requests:
			j.seeds = req.seeds
			req.done <- j.attempt(true)
			switch {
			case joined != nil:
				timer.Reset(j.retry)
			case hasNames(j.seeds):
				timer.Reset(j.probe)
			}
		case <-joined:
			joined = nil
			j.joined()
			timer.Stop()
			if j.resolved == nil && hasNames(j.seeds) {
				// Joined through an IP seed before the first resolution:
				// resolve the names once anyway, so that an unusable seed is
				// logged and the seed probes know the names' addresses.
				if err := j.attempt(false); err != nil {
					return // the node left or closed
				}
			}
			if hasNames(j.seeds) {
				timer.Reset(j.probe)
			}
		case <-timer.C:
			if joined == nil {
				j.reprobe()
				timer.Reset(j.probe)
				continue
			}
			if err := j.attempt(false); err != nil {
				return // the node left or closed
			}
			timer.Reset(j.retry)
		}
	}
}

// attempt resolves the seeds and gives their addresses to the coordinator:
// with now, as a new join (HandleJoin: requests go out at once); otherwise
// as a retry's targets (SetSeeds). It returns the coordinator's error
// (ErrNotRunning once the node has left).
func (j *joiner) attempt(now bool) error {
	res := j.resolve()
	addrs, targets := addrsOf(res)
	var before, after uint64
	err := j.g.do(j.ctx, func(t time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		before = c.Stats().JoinAttempts
		var o core.Outcome
		var err error
		if now && len(targets) > 0 {
			o, err = c.HandleJoin(t, targets)
		} else {
			o, err = c.SetSeeds(t, targets)
		}
		after = c.Stats().JoinAttempts
		return o, err
	}, nil)
	if err != nil {
		return err
	}
	at := time.Now()
	joinedAt, _ := j.g.Joined()
	j.mu.Lock()
	if now {
		j.state.Since, j.base, j.warned = at, before, false
	}
	j.seen = after
	j.state.Addrs = targets
	late := joinedAt.IsZero() && at.Sub(j.state.Since) >= joinLateRetries*j.retry
	j.state.Problem = ""
	if late {
		j.state.Problem = j.problem(at, after-j.base)
	}
	problem, since := j.state.Problem, j.state.Since
	j.mu.Unlock()
	if joinedAt.IsZero() {
		j.watch.watch(addrs)
	}
	if late && (!j.warned || !at.Before(j.warnAt)) {
		j.log.Warn("join not complete", "problem", problem)
		j.warned = true
		j.warnAt = at.Add(min(at.Sub(since), maxJoinWarnInterval))
	}
	return nil
}

// reprobe resolves the seeds again, once joined, when the node has probed
// them since the last resolution (no live peer is left): the next probe
// goes to their current addresses.
func (j *joiner) reprobe() {
	if !hasNames(j.seeds) {
		return
	}
	var attempts uint64
	err := j.g.do(j.ctx, func(_ time.Time, c *core.MembershipCoordinator) (core.Outcome, error) {
		attempts = c.Stats().JoinAttempts
		return core.Outcome{}, nil
	}, nil)
	if err != nil || attempts == j.seen {
		return
	}
	_ = j.attempt(false)
}

// joined reports the join and stops watching the seeds.
func (j *joiner) joined() {
	j.watch.watch(nil)
	at, _ := j.g.Joined()
	j.mu.Lock()
	j.state.Problem = ""
	since := j.state.Since
	j.mu.Unlock()
	if len(j.seeds) > 0 {
		j.log.Info("joined", "after", at.Sub(since).Round(time.Millisecond), "seeds", seedTexts(j.seeds))
	}
}

// resolve resolves every seed, logs those whose result changed and keeps
// the results.
func (j *joiner) resolve() []seedAddrs {
	ctx, cancel := context.WithTimeout(j.ctx, seedLookupTimeout)
	defer cancel()
	res := make([]seedAddrs, len(j.seeds))
	for i, s := range j.seeds {
		res[i] = s.resolve(ctx, j.resolver, j.bind)
		d := res[i].describe()
		if j.logged[s.text] == d {
			continue
		}
		j.logged[s.text] = d
		switch {
		case res[i].err != nil:
			j.log.Warn("seed unusable", "seed", s.text, "err", res[i].err)
		case s.host != "":
			j.log.Info("seed resolved", "seed", s.text, "addrs", d)
		}
	}
	j.resolved = res
	return res
}

// addrsOf returns every address of res, and the same as "ip:port" strings.
func addrsOf(res []seedAddrs) ([]netip.AddrPort, []string) {
	var addrs []netip.AddrPort
	var targets []string
	for _, r := range res {
		for _, a := range r.addrs {
			if !slices.Contains(addrs, a) {
				addrs = append(addrs, a)
				targets = append(targets, a.String())
			}
		}
	}
	return addrs, targets
}

func seedTexts(seeds []seed) string {
	t := make([]string, len(seeds))
	for i, s := range seeds {
		t[i] = s.text
	}
	return strings.Join(t, ",")
}

// problem explains a late join: how long and how many attempts, then, for
// each seed, what it resolved to and what arrived from those addresses (a
// seed that drops our requests is silent, but what we drop of its datagrams,
// and why, names the cause), and what we send with, to compare with the
// seeds' settings.
func (j *joiner) problem(now time.Time, attempts uint64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "not joined after %v and %d attempts", now.Sub(j.state.Since).Round(time.Millisecond), attempts)
	for _, r := range j.resolved {
		b.WriteString("; seed ")
		b.WriteString(r.seed.text)
		if r.err != nil {
			fmt.Fprintf(&b, " is unusable: %v", r.err)
			continue
		}
		if r.seed.host != "" {
			fmt.Fprintf(&b, " (%s)", r.describe())
		}
		b.WriteString(": ")
		b.WriteString(j.heard(r.addrs))
	}
	label := "no label"
	if j.label != "" {
		label = fmt.Sprintf("label %q", j.label)
	}
	keys := "not sealed (no keyring)"
	switch {
	case j.keyring == nil:
	case j.keyring.PlaintextPolicy() == PlaintextSent:
		keys = "not sealed (our keyring's policy sends plain datagrams)"
	default:
		keys = "sealed with our keyring"
	}
	fmt.Fprintf(&b, "; we send with %s, %s", label, keys)
	return b.String()
}

// heard says what arrived from addrs since they were watched, and what it
// suggests.
func (j *joiner) heard(addrs []netip.AddrPort) string {
	var sum [dropReasons]uint64
	for _, a := range addrs {
		t := j.watch.tally(a)
		for i := range t {
			sum[i] += t[i]
		}
	}
	var parts []string
	for r := range dropReasons {
		if sum[r] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", sum[r], r))
		}
	}
	switch {
	case len(parts) == 0:
		return "no answer, and nothing arrived from it: it is down or unreachable at that address, " +
			"or it drops our join requests (another label, another keyring or none, its address filter: its drop counters say which)"
	case sum[dropAuth] > 0:
		return "datagrams arrived: " + strings.Join(parts, ", ") + ": it seals with a key our keyring lacks, or sends plain datagrams we refuse"
	case sum[dropWrongLabel] > 0:
		return "datagrams arrived: " + strings.Join(parts, ", ") + ": it belongs to another cluster (label)"
	case sum[dropDecode] > 0:
		return "datagrams arrived: " + strings.Join(parts, ", ") + ": it seals with a keyring and we have none, or speaks another protocol version"
	case sum[dropFiltered] > 0:
		return "datagrams arrived: " + strings.Join(parts, ", ") + ": our Transport.Filter refuses its address"
	}
	return "datagrams arrived: " + strings.Join(parts, ", ") + ", but no answer to our join requests"
}
