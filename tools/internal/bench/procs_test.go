package bench

import (
	"strings"
	"testing"
)

// TestProcLogLine feeds an agent's log lines to a proc: the start line makes
// it ready with its addresses, and only the suspect and dead transitions
// about other members are counted.
func TestProcLogLine(t *testing.T) {
	p := &proc{name: "hs-0-1", ready: make(chan struct{}), ended: make(chan struct{})}
	for _, line := range []string{
		`time=T level=INFO msg=member name=hs-0-1 node=aa authority=127.0.0.1:7001 from=new to=up incarnation=1`,
		`time=T level=INFO msg="agent started" name=hs-0-1 node=aa authority=127.0.0.1:7001 http=127.0.0.1:8001 preset=lan`,
		`time=T level=INFO msg=member name=hs-0-1 node=aa authority=127.0.0.1:7001 from=up to=suspect incarnation=1`,
		`time=T level=INFO msg=member name=hs-0-2 node=bb authority=127.0.0.1:7002 from=up to=suspect incarnation=1`,
		`time=T level=INFO msg=member name=hs-0-2 node=bb authority=127.0.0.1:7002 from=suspect to=dead incarnation=1`,
		`time=T level=INFO msg=member name=hs-0-3 node=cc authority=127.0.0.1:7003 from=up to=leaving incarnation=1`,
		`time=T level=INFO msg=member node=ml-0-4 authority=127.0.0.1:7004 to=gone`,
		`2026/12/01 10:00:00 [WARN] memberlist: Refuting a suspect message (from: ml-0-4)`,
	} {
		p.logLine(line)
	}
	select {
	case <-p.ready:
	default:
		t.Fatal("not ready after the start line")
	}
	if p.authority != "127.0.0.1:7001" || p.baseURL() != "http://127.0.0.1:8001" {
		t.Errorf("addresses: %q %q", p.authority, p.baseURL())
	}
	if p.suspect.Load() != 1 || p.dead.Load() != 1 {
		t.Errorf("suspect %d dead %d, want 1 and 1 (its own suspicion is not counted)", p.suspect.Load(), p.dead.Load())
	}
	if tail := p.lastLines(); strings.Count(tail, " | ") != logTailLines-1 || !strings.HasSuffix(tail, "(from: ml-0-4)") {
		t.Errorf("tail: %q", tail)
	}
	if !p.running() {
		t.Error("a ready proc that has not ended is not running")
	}
	p.stopped.Store(true)
	if p.running() {
		t.Error("a stopped proc is running")
	}
}
