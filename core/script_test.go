package core_test

// Scripted scenario tests, in the spirit of etcd-io/raft's interaction tests:
// each file under testdata/scripts drives a cluster on core/sim with one
// command per step and states what the nodes must show after it. A step is
// a command line, a line "----", and the expected output up to a blank line:
//
//	crash n3
//	----
//
//	wait n3 dead 30s
//	----
//	ok after 3.2s
//
// Lines starting with # are comments. Run with -rewrite to write the actual
// output into the files (then read the diff: it is the protocol's behaviour).
//
// Commands (nodes are named n0, n1, ...; durations are Go durations):
//
//	cluster N [seed=S]         N node slots on a 10 ms poll and a 5 ms delay
//	start nI                   nI starts a cluster of its own
//	join nI nJ...              nI starts and joins through nJ...
//	client nI nJ               nI starts as a client joining through nJ
//	run D                      advance virtual time by D
//	wait COND D                run until COND holds, at most D; prints when
//	crash nI | leave nI        crash nI; nI leaves gracefully
//	restart nI nJ              a new instance at nI's authority joins through nJ
//	pause nI D                 nI stalls for D
//	partition nI,nJ nK,...     split the network into groups; heal ends it
//	drop nI nJ                 every message from nI to nJ is lost; undrop restores
//	loss P                     every message is lost with probability P
//	quarantine nI nJ           nI's operator quarantines nJ's current instance
//	status [nI...]             each node's view: members as name=status/incarnation
//	events [nI...]             the member events each node emitted since the last
//	                           events command: name from->to/incarnation
//
// Conditions: "converged" (every live view lists exactly the live members,
// all Up), "nJ STATUS" (every live node other than nJ holds nJ with STATUS),
// "nI: nJ STATUS" (nI holds nJ with STATUS).

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/core/sim"
)

var rewrite = flag.Bool("rewrite", false, "write the actual output of testdata/scripts into the files")

func TestScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scripts", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata/scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

// step is one command of a script and the output it expects.
type step struct {
	line     int
	command  string
	expected string
}

// parseScript reads the steps of a script and the text before each (comments
// and blank lines), which rewrite keeps.
func parseScript(t *testing.T, path string) (steps []step, prefix []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	var pre []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "#") {
			pre = append(pre, l)
			continue
		}
		s := step{line: i + 1, command: l}
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: a command must be followed by a line \"----\"", path, i+1)
		}
		i += 2
		var out []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		s.expected = strings.Join(out, "\n")
		steps = append(steps, s)
		prefix = append(prefix, strings.Join(pre, "\n"))
		pre = nil
	}
	return steps, prefix
}

func runScript(t *testing.T, path string) {
	steps, prefix := parseScript(t, path)
	r := &scriptRunner{t: t}
	var rewritten strings.Builder
	for i, s := range steps {
		got, err := r.do(s.command)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", path, s.line, s.command, err)
		}
		if *rewrite {
			if prefix[i] != "" {
				rewritten.WriteString(prefix[i] + "\n")
			}
			rewritten.WriteString(s.command + "\n----\n")
			if got != "" {
				rewritten.WriteString(got + "\n")
			}
			rewritten.WriteString("\n")
			continue
		}
		if got != s.expected {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, s.line, s.command, got, s.expected)
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.TrimRight(rewritten.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// scriptRunner runs one script's commands against one cluster.
type scriptRunner struct {
	t      *testing.T
	c      *sim.Cluster
	n      int
	events [][]string // per node: member events since the last events command
}

func (r *scriptRunner) do(command string) (string, error) {
	f := strings.Fields(command)
	if f[0] != "cluster" && r.c == nil {
		return "", fmt.Errorf("no cluster yet: start the script with \"cluster N\"")
	}
	args := f[1:]
	switch f[0] {
	case "cluster":
		return "", r.newCluster(args)
	case "start", "join", "client", "restart":
		return "", r.boot(f[0], args)
	case "run":
		d, err := arg1Duration(args)
		if err != nil {
			return "", err
		}
		r.c.Run(d)
		return "", nil
	case "wait":
		return r.wait(args)
	case "crash", "leave":
		i, err := r.nodes(args, 1)
		if err != nil {
			return "", err
		}
		if f[0] == "crash" {
			r.c.Crash(i[0])
			return "", nil
		}
		return "", r.c.Leave(i[0])
	case "pause":
		if len(args) != 2 {
			return "", fmt.Errorf("pause nI D")
		}
		i, err := r.nodes(args[:1], 1)
		if err != nil {
			return "", err
		}
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return "", err
		}
		r.c.Pause(i[0], d)
		return "", nil
	case "partition", "heal":
		var groups [][]int
		for _, g := range args {
			ids, err := r.nodes(strings.Split(g, ","), -1)
			if err != nil {
				return "", err
			}
			groups = append(groups, ids)
		}
		r.c.Partition(groups...)
		return "", nil
	case "drop", "undrop":
		i, err := r.nodes(args, 2)
		if err != nil {
			return "", err
		}
		p := 1.0
		if f[0] == "undrop" {
			p = 0
		}
		r.c.SetLinkLoss(i[0], i[1], p)
		return "", nil
	case "loss":
		if len(args) != 1 {
			return "", fmt.Errorf("loss P")
		}
		p, err := strconv.ParseFloat(args[0], 64)
		if err != nil {
			return "", err
		}
		r.c.SetLoss(p)
		return "", nil
	case "quarantine":
		i, err := r.nodes(args, 2)
		if err != nil {
			return "", err
		}
		held, ok := r.c.Coordinator(i[0]).Member(r.c.Authority(i[1]))
		if !ok {
			return "", fmt.Errorf("%s holds no record of %s", args[0], args[1])
		}
		return "", r.c.Quarantine(i[0], r.c.Authority(i[1]), held.Incarnation)
	case "status":
		return r.status(args)
	case "events":
		return r.takeEvents(args)
	}
	return "", fmt.Errorf("unknown command %q", f[0])
}

func (r *scriptRunner) newCluster(args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("cluster N [seed=S]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	seed := uint64(1)
	for _, a := range args[1:] {
		v, ok := strings.CutPrefix(a, "seed=")
		if !ok {
			return fmt.Errorf("unknown option %q", a)
		}
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			return err
		}
	}
	r.n, r.events = n, make([][]string, n)
	r.c, err = sim.New(sim.Options{Nodes: n, Seed: seed, Tick: 10 * time.Millisecond, Delay: 5 * time.Millisecond,
		OnEvent: func(at int, ev core.MemberEvent) { r.events[at] = append(r.events[at], r.formatEvent(ev)) }})
	return err
}

func (r *scriptRunner) boot(cmd string, args []string) error {
	ids, err := r.nodes(args, -1)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fmt.Errorf("%s needs a node", cmd)
	}
	switch cmd {
	case "start":
		return r.c.Start(ids[0])
	case "join":
		return r.c.Join(ids[0], ids[1:]...)
	case "client":
		return r.c.StartClient(ids[0], ids[1:]...)
	}
	return r.c.Restart(ids[0], ids[1:]...)
}

func (r *scriptRunner) wait(args []string) (string, error) {
	if len(args) < 2 {
		return "", fmt.Errorf("wait COND D")
	}
	limit, err := time.ParseDuration(args[len(args)-1])
	if err != nil {
		return "", err
	}
	cond, err := r.condition(args[:len(args)-1])
	if err != nil {
		return "", err
	}
	took, ok := r.c.RunUntil(cond, limit)
	if !ok {
		return fmt.Sprintf("timed out after %v", took), nil
	}
	return fmt.Sprintf("ok after %v", took), nil
}

// condition parses "converged", "nJ STATUS" or "nI: nJ STATUS".
func (r *scriptRunner) condition(words []string) (func() bool, error) {
	switch {
	case len(words) == 1 && words[0] == "converged":
		return r.c.Converged, nil
	case len(words) == 2:
		j, err := r.nodes(words[:1], 1)
		if err != nil {
			return nil, err
		}
		s, err := parseStatus(words[1])
		if err != nil {
			return nil, err
		}
		return func() bool {
			for _, i := range r.c.LiveNodes() {
				if i != j[0] && r.statusAt(i, j[0]) != s {
					return false
				}
			}
			return true
		}, nil
	case len(words) == 3 && strings.HasSuffix(words[0], ":"):
		ids, err := r.nodes([]string{strings.TrimSuffix(words[0], ":"), words[1]}, 2)
		if err != nil {
			return nil, err
		}
		s, err := parseStatus(words[2])
		if err != nil {
			return nil, err
		}
		return func() bool { return r.statusAt(ids[0], ids[1]) == s }, nil
	}
	return nil, fmt.Errorf("unknown condition %q", strings.Join(words, " "))
}

func (r *scriptRunner) status(args []string) (string, error) {
	ids, err := r.nodesOrRunning(args)
	if err != nil {
		return "", err
	}
	var out []string
	for _, i := range ids {
		var members []string
		for _, rec := range r.c.Coordinator(i).Records() {
			members = append(members, fmt.Sprintf("%s=%s/%d", r.name(rec.Authority), rec.Status, rec.Incarnation))
		}
		slices.Sort(members)
		out = append(out, fmt.Sprintf("n%d: %s", i, strings.Join(members, " ")))
	}
	return strings.Join(out, "\n"), nil
}

func (r *scriptRunner) takeEvents(args []string) (string, error) {
	ids, err := r.nodesOrRunning(args)
	if err != nil {
		return "", err
	}
	var out []string
	for _, i := range ids {
		if len(r.events[i]) > 0 {
			out = append(out, fmt.Sprintf("n%d: %s", i, strings.Join(r.events[i], ", ")))
		}
	}
	for i := range r.events {
		r.events[i] = nil
	}
	return strings.Join(out, "\n"), nil
}

func (r *scriptRunner) formatEvent(ev core.MemberEvent) string {
	from := "none"
	if ev.From != 0 {
		from = ev.From.String()
	}
	s := fmt.Sprintf("%s %s->%s/%d", r.name(ev.Record.Authority), from, ev.To, ev.Record.Incarnation)
	if ev.Conflict {
		s += " (conflict)"
	}
	return s
}

func (r *scriptRunner) statusAt(i, j int) core.NodeStatus {
	rec, ok := r.c.Coordinator(i).Member(r.c.Authority(j))
	if !ok {
		return 0
	}
	return rec.Status
}

// name returns "nI" for the authority of slot I.
func (r *scriptRunner) name(authority string) string {
	for i := range r.n {
		if r.c.Authority(i) == authority {
			return fmt.Sprintf("n%d", i)
		}
	}
	return authority
}

// nodes parses node names; want is how many are needed (-1: any number).
func (r *scriptRunner) nodes(args []string, want int) ([]int, error) {
	if want >= 0 && len(args) != want {
		return nil, fmt.Errorf("want %d node names, got %q", want, args)
	}
	var ids []int
	for _, a := range args {
		v, ok := strings.CutPrefix(a, "n")
		i, err := strconv.Atoi(v)
		if !ok || err != nil || i < 0 || i >= r.n {
			return nil, fmt.Errorf("bad node name %q (n0 to n%d)", a, r.n-1)
		}
		ids = append(ids, i)
	}
	return ids, nil
}

// nodesOrRunning parses node names, or returns every running slot.
func (r *scriptRunner) nodesOrRunning(args []string) ([]int, error) {
	if len(args) > 0 {
		return r.nodes(args, -1)
	}
	var ids []int
	for i := range r.n {
		if r.c.IsRunning(i) {
			ids = append(ids, i)
		}
	}
	return ids, nil
}

func parseStatus(s string) (core.NodeStatus, error) {
	for st := core.StatusJoining; st <= core.StatusDead; st++ {
		if st.String() == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown status %q", s)
}

func arg1Duration(args []string) (time.Duration, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("want one duration, got %q", args)
	}
	return time.ParseDuration(args[0])
}
