package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// When a member crashes, exactly the keys it owned move, each to a
// survivor, and every survivor's router agrees on every owner.
func TestOnlyTheDeadMembersKeysMove(t *testing.T) {
	var out bytes.Buffer
	res, err := run(context.Background(), &out, 5, 1000, 30*time.Second)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for k, before := range res.before {
		after, ok := res.after[k]
		if !ok {
			t.Fatalf("key %s not routed after the crash", k)
		}
		switch {
		case after == res.dead:
			t.Errorf("key %s still routed to the dead member", k)
		case before == res.dead:
			moved++
		case after != before:
			t.Errorf("key %s moved from %s, alive, to %s", k, before, after)
		}
	}
	if moved == 0 {
		t.Fatal("the dead member owned no key: the test shows nothing")
	}
	if len(res.before) != 1000 || len(res.after) != 1000 {
		t.Errorf("routed %d keys before and %d after, want 1000", len(res.before), len(res.after))
	}
	t.Logf("%d of %d keys moved, all the dead member's", moved, len(res.before))
}
