package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestTimeline runs the example and checks that its timeline tells the story
// in order: b joins, both are up, a topology update, b leaves and a sees it
// removed.
func TestTimeline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	began := time.Now()
	if err := run(ctx, &out, 5*time.Second); err != nil {
		t.Fatalf("run: %v\ntimeline:\n%s", err, out.String())
	}
	t.Logf("timeline (%v):\n%s", time.Since(began).Round(time.Millisecond), out.String())

	steps := []string{
		"a: started at 127.0.0.1:",
		"b: started at 127.0.0.1:",
		"a: member b is ",
		"OK  b joined: a knows b",
		"OK  both up: a and b each see a and b up",
		"OK  a emitted a topology update with both members",
		"b: leaving gracefully",
		"a: member b is removed (leaving -> removed",
		"OK  a sees b removed",
		"done: a's view is a=up b=removed",
	}
	text := out.String()
	pos := 0
	for _, s := range steps {
		i := strings.Index(text[pos:], s)
		if i < 0 {
			t.Fatalf("timeline lacks %q after position %d:\n%s", s, pos, text)
		}
		pos += i + len(s)
	}
	for _, s := range []string{"a: topology update: 2 member(s) [a b], joined [b]", "b: member a is up"} {
		if !strings.Contains(text, s) {
			t.Errorf("timeline lacks %q", s)
		}
	}
	// A node's topology updates name the others that joined, never itself.
	for _, s := range []string{"a: topology update: 1 member(s) [a], joined [a]", "joined [a b]"} {
		if strings.Contains(text, s) {
			t.Errorf("timeline holds %q: a node is listed among those it joined", s)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n")[1:] {
		if !strings.HasPrefix(strings.TrimSpace(line), "+") {
			t.Errorf("line without a relative timestamp: %q", line)
		}
	}
}

// TestTimelineDeadline checks that a step that cannot happen in time fails
// with a message naming it, rather than hanging.
func TestTimelineDeadline(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, time.Nanosecond)
	if err == nil {
		t.Fatalf("run with a 1ns deadline succeeded:\n%s", out.String())
	}
	if !strings.Contains(err.Error(), "did not happen within") && !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error = %v, want one naming the missed step", err)
	}
}
