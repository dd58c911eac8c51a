package std

import (
	"fmt"
	"testing"
	"time"
)

// eventually polls cond until it holds or timeout passes, then fails the
// test with the message. Timeouts are generous: a loaded CI machine must not
// fail a test by being slow.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %s", timeout, fmt.Sprintf(format, args...))
		}
		<-tick.C
	}
}

// waitTimeout is the deadline of every condition in these tests.
const waitTimeout = 30 * time.Second
