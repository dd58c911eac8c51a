package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// This file is the process mode (hearsay-bench -procs): every member is an
// agent process of its own, as agents are deployed (one per host). The
// measuring code reads the members' views and counters over each agent's
// HTTP API, and their CPU time and memory from /proc.

// agentKind is what differs between the two agents the process mode runs.
type agentKind struct {
	library string
	// prefix starts every member's name.
	prefix string
	// args is the command line (without the binary) of one member joining
	// join ("" for the seed).
	args func(name, join string) []string
	// active: a member in this status counts as alive (join convergence).
	active func(status string) bool
	// present: a member in this status is still a member (crash and leave
	// propagation wait until it is not).
	present func(status string) bool
	// sample reads one agent's counters over HTTP.
	sample func(ctx context.Context, client *http.Client, baseURL string) (agentCounters, error)
	// settings describes the configuration, for the report.
	settings []string
}

// agentCounters is one agent's counters, cumulative since it started.
type agentCounters struct {
	traffic Traffic
	// transitions is what the agent's API reports (memberlist); hearsay's
	// are counted from its log instead.
	transitions Transitions
	// hasTicks: the agent exports its gossip loop's tick lag (hearsay).
	hasTicks           bool
	ticks              uint64
	tickLag, tickLagMx time.Duration
}

// clusterSample is the sum of every live agent's counters at one instant.
type clusterSample struct {
	traffic     Traffic
	transitions Transitions
	ticks       uint64
	tickLag     time.Duration
	// tickLagMax is the largest single tick lag any member had since it
	// started.
	tickLagMax time.Duration
	hasTicks   bool
	// members is how many agents answered.
	members int
}

// processCluster is a Cluster whose members are OS processes. runOne
// measures such a cluster through these methods instead of the benchmark's
// own process.
type processCluster interface {
	Cluster
	// Refresh reads the views of the given members over their APIs,
	// concurrently; ActiveCount and Gone answer from the last views read.
	Refresh(ctx context.Context, members []int)
	// Sample reads the counters of every running member.
	Sample(ctx context.Context) (clusterSample, error)
	// PIDs maps each running member to its process id.
	PIDs() map[int]int
	// CloseIdle closes the benchmark's idle HTTP connections to the agents.
	CloseIdle()
	// Profile fetches path (a /debug/pprof/ URL path and query) from
	// member i into file; the agents run with --pprof only when the
	// options ask for profiles.
	Profile(ctx context.Context, i int, path, file string) error
}

// procStartTimeout bounds the wait for an agent's start line.
const procStartTimeout = 30 * time.Second

// procCluster runs one library's agents.
type procCluster struct {
	kind      agentKind
	bin       string
	pprof     bool
	formation int
	client    *http.Client
	transport *http.Transport

	mu    sync.Mutex
	n     int
	procs []*proc
	errorLog
	starting sync.WaitGroup
}

// proc is one agent process.
type proc struct {
	name  string
	cmd   *exec.Cmd
	ready chan struct{} // closed at the start line, or when the process ends
	ended chan struct{} // closed once the process has been waited for

	readyOnce sync.Once
	mu        sync.Mutex
	authority string // the gossip address it advertises
	httpAddr  string
	tail      []string // the last lines of its log
	waitErr   error

	stopped       atomic.Bool // crashed, left or closed by the benchmark
	suspect, dead atomic.Uint64
	// view is what the member listed at the last Refresh: authority ->
	// status. Members are told apart by the address they advertise, unique
	// per process here, which both agents report under the same key.
	view atomic.Pointer[map[string]string]
}

// logTailLines is how many of an agent's last log lines are kept for error
// messages.
const logTailLines = 8

func newProcFactory(kind agentKind, bin string, pprof bool) Factory {
	return func(s Setting, formation int) Cluster {
		tr := &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
		return &procCluster{kind: kind, bin: bin, pprof: pprof, formation: formation, n: 1,
			transport: tr, client: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
	}
}

func (c *procCluster) Library() string { return c.kind.library }

func (c *procCluster) Settings() []string {
	args := c.kind.args(c.kind.prefix+"-<cluster>-<member>", "<member 0>")
	if c.pprof {
		args = append(args, "--pprof")
	}
	return append([]string{"process=" + strings.Join(append([]string{filepath.Base(c.bin)}, args...), " ")},
		c.kind.settings...)
}

func (c *procCluster) ensureSlots(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.procs) < n {
		c.procs = append(c.procs, nil)
	}
}

// spawn starts member i's process and returns once it serves its API.
func (c *procCluster) spawn(ctx context.Context, i int, join string) error {
	name := fmt.Sprintf("%s-%d-%d", c.kind.prefix, c.formation, i)
	args := c.kind.args(name, join)
	if c.pprof {
		args = append(args, "--pprof")
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout = io.Discard
	// Children die with the benchmark, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, ready: make(chan struct{}), ended: make(chan struct{})}
	c.mu.Lock()
	c.procs[i] = p
	c.mu.Unlock()
	go p.readLog(stderr) // ends when the process exits

	timer := time.NewTimer(procStartTimeout)
	defer timer.Stop()
	select {
	case <-p.ready:
	case <-timer.C:
		p.stopped.Store(true)
		_ = cmd.Process.Kill()
		return fmt.Errorf("%s: no start line after %v: %s", name, procStartTimeout, p.lastLines())
	case <-ctx.Done():
		p.stopped.Store(true)
		_ = cmd.Process.Kill()
		return ctx.Err()
	}
	select {
	case <-p.ended:
		return fmt.Errorf("%s: exited at start (%v): %s", name, p.err(), p.lastLines())
	default:
	}
	return nil
}

// readLog reads the agent's log until the process closes it: its start line
// gives the addresses, its member lines the status changes it saw about
// other members (by authority: both agents log it). Then it waits for the
// process.
func (p *proc) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		p.logLine(sc.Text())
	}
	_, _ = io.Copy(io.Discard, r) // a line too long ends Scan; drain the rest
	err := p.cmd.Wait()
	p.mu.Lock()
	p.waitErr = err
	p.mu.Unlock()
	p.readyOnce.Do(func() { close(p.ready) })
	close(p.ended)
}

// logLine takes one line of the agent's log: the start line's addresses
// (then the agent is ready), and the suspect and dead transitions of its
// member lines about other members.
func (p *proc) logLine(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.tail) == logTailLines {
		p.tail = p.tail[1:]
	}
	p.tail = append(p.tail, line)
	kv := parseLogfmt(line)
	switch kv["msg"] {
	case "agent started":
		p.authority, p.httpAddr = kv["authority"], kv["http"]
		p.readyOnce.Do(func() { close(p.ready) })
	case "member":
		if kv["authority"] == p.authority {
			return
		}
		switch kv["to"] {
		case "suspect":
			p.suspect.Add(1)
		case "dead":
			p.dead.Add(1)
		}
	}
}

func (p *proc) lastLines() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, " | ")
}

func (p *proc) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

func (p *proc) baseURL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "http://" + p.httpAddr
}

func (p *proc) running() bool {
	if p == nil || p.stopped.Load() {
		return false
	}
	select {
	case <-p.ended:
		return false
	case <-p.ready:
		return true
	default:
		return false
	}
}

func (c *procCluster) proc(i int) *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.procs) {
		return nil
	}
	return c.procs[i]
}

func (c *procCluster) Seed(ctx context.Context) error {
	c.ensureSlots(1)
	return c.spawn(ctx, 0, "")
}

func (c *procCluster) Grow(ctx context.Context, n int) {
	c.ensureSlots(n)
	c.mu.Lock()
	c.n = n
	c.mu.Unlock()
	seed := c.proc(0)
	seed.mu.Lock()
	join := seed.authority
	seed.mu.Unlock()
	for i := 1; i < n; i++ {
		c.starting.Add(1)
		go func() { // ends once the agent serves, or fails to
			defer c.starting.Done()
			if err := c.spawn(ctx, i, join); err != nil {
				c.addErr(err)
			}
		}()
	}
}

func (c *procCluster) Size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *procCluster) Live(i int) bool { return c.proc(i).running() }

// apiConcurrency is how many agents the benchmark queries at once.
const apiConcurrency = 16

// eachRunning calls f for every running proc of procs, apiConcurrency at a
// time, and returns once every call has returned.
func eachRunning(procs []*proc, f func(p *proc)) {
	sem := make(chan struct{}, apiConcurrency)
	var wg sync.WaitGroup
	for _, p := range procs {
		if !p.running() {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() { // ends when f returns
			defer func() { <-sem; wg.Done() }()
			f(p)
		}()
	}
	wg.Wait()
}

// Refresh reads /v1/members of each given running member.
func (c *procCluster) Refresh(ctx context.Context, members []int) {
	procs := make([]*proc, 0, len(members))
	for _, i := range members {
		procs = append(procs, c.proc(i))
	}
	eachRunning(procs, func(p *proc) {
		view, err := c.members(ctx, p)
		if err != nil {
			p.view.Store(nil)
			return
		}
		p.view.Store(&view)
	})
}

// members reads one agent's /v1/members: authority -> status.
func (c *procCluster) members(ctx context.Context, p *proc) (map[string]string, error) {
	var ms []struct {
		Authority string `json:"authority"`
		Status    string `json:"status"`
	}
	if err := getJSON(ctx, c.client, p.baseURL()+"/v1/members", &ms); err != nil {
		return nil, err
	}
	view := make(map[string]string, len(ms))
	for _, m := range ms {
		view[m.Authority] = m.Status
	}
	return view, nil
}

// getJSON decodes the JSON body of GET url into v.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	body, err := get(ctx, client, url)
	if err != nil {
		return err
	}
	defer body.Close()
	if err := json.NewDecoder(body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// get returns the body of GET url, or an error for any status but 200.
func get(ctx context.Context, client *http.Client, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return resp.Body, nil
}

// ActiveCount counts the members member i listed alive at the last Refresh.
func (c *procCluster) ActiveCount(i int) int {
	p := c.proc(i)
	if !p.running() {
		return 0
	}
	v := p.view.Load()
	if v == nil {
		return 0
	}
	k := 0
	for _, st := range *v {
		if c.kind.active(st) {
			k++
		}
	}
	return k
}

// Gone reports whether, at the last Refresh, member i no longer listed
// victim as a member.
func (c *procCluster) Gone(i, victim int) bool {
	p, v := c.proc(i), c.proc(victim)
	if !p.running() || v == nil {
		return false
	}
	view := p.view.Load()
	if view == nil {
		return false
	}
	v.mu.Lock()
	authority := v.authority
	v.mu.Unlock()
	st, ok := (*view)[authority]
	return !ok || !c.kind.present(st)
}

// Crash kills member i with SIGKILL.
func (c *procCluster) Crash(i int) error {
	p := c.proc(i)
	if !p.running() {
		return fmt.Errorf("%s: member %d is not running", c.kind.library, i)
	}
	p.stopped.Store(true)
	return p.cmd.Process.Kill()
}

// leaveTimeout bounds a graceful leave: the agents' own bound (5 s by
// default) and their exit.
const leaveTimeout = 15 * time.Second

// Leave sends member i SIGTERM (the agent leaves, then exits) and waits for
// it to exit 0.
func (c *procCluster) Leave(ctx context.Context, i int) error {
	p := c.proc(i)
	if !p.running() {
		return fmt.Errorf("%s: member %d is not running", c.kind.library, i)
	}
	p.stopped.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	timer := time.NewTimer(leaveTimeout)
	defer timer.Stop()
	select {
	case <-p.ended:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		return fmt.Errorf("%s: not exited %v after SIGTERM: %s", p.name, leaveTimeout, p.lastLines())
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := p.err(); err != nil {
		return fmt.Errorf("%s: exit after SIGTERM: %v: %s", p.name, err, p.lastLines())
	}
	return nil
}

// Sample reads the counters of every running member, sixteen at a time.
// Transitions also include those counted in the logs of members that have
// stopped since.
func (c *procCluster) Sample(ctx context.Context) (clusterSample, error) {
	c.mu.Lock()
	procs := append([]*proc(nil), c.procs...)
	c.mu.Unlock()
	var (
		mu   sync.Mutex
		s    clusterSample
		errs []error
	)
	for _, p := range procs {
		if p != nil {
			s.transitions.Suspect += p.suspect.Load()
			s.transitions.Dead += p.dead.Load()
		}
	}
	eachRunning(procs, func(p *proc) {
		k, err := c.kind.sample(ctx, c.client, p.baseURL())
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
			return
		}
		s.members++
		s.traffic = s.traffic.add(k.traffic)
		s.transitions.Suspect += k.transitions.Suspect
		s.transitions.Dead += k.transitions.Dead
		if k.hasTicks {
			s.hasTicks = true
			s.ticks += k.ticks
			s.tickLag += k.tickLag
			s.tickLagMax = max(s.tickLagMax, k.tickLagMx)
		}
	})
	return s, errors.Join(errs...)
}

// Traffic is Sample's traffic (Cluster's interface; runOne samples once
// for both traffic and transitions instead).
func (c *procCluster) Traffic() Traffic {
	s, _ := c.Sample(context.Background())
	return s.traffic
}

// Transitions is Sample's transitions.
func (c *procCluster) Transitions() Transitions {
	s, _ := c.Sample(context.Background())
	return s.transitions
}

func (c *procCluster) PIDs() map[int]int {
	c.mu.Lock()
	procs := append([]*proc(nil), c.procs...)
	c.mu.Unlock()
	out := map[int]int{}
	for i, p := range procs {
		if p.running() {
			out[i] = p.cmd.Process.Pid
		}
	}
	return out
}

func (c *procCluster) CloseIdle() { c.transport.CloseIdleConnections() }

func (c *procCluster) Profile(ctx context.Context, i int, path, file string) error {
	p := c.proc(i)
	if !p.running() {
		return fmt.Errorf("%s: member %d is not running", c.kind.library, i)
	}
	client := &http.Client{Transport: c.transport} // a CPU profile takes its whole duration
	body, err := get(ctx, client, p.baseURL()+path)
	if err != nil {
		return err
	}
	defer body.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close kills every member still running and waits for their processes.
func (c *procCluster) Close() error {
	c.starting.Wait()
	c.mu.Lock()
	procs := append([]*proc(nil), c.procs...)
	c.mu.Unlock()
	for _, p := range procs {
		if p == nil {
			continue
		}
		p.stopped.Store(true)
		select {
		case <-p.ended:
		default:
			_ = p.cmd.Process.Kill()
		}
	}
	var errs []error
	for _, p := range procs {
		if p == nil {
			continue
		}
		select {
		case <-p.ended:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("%s: still running 10 s after SIGKILL", p.name))
		}
	}
	c.transport.CloseIdleConnections()
	return errors.Join(errs...)
}
