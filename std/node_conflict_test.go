//go:build go1.25

package std

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
)

// lockedBuffer is a log destination safe for the node's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// withLog returns cfg logging to a new buffer.
func withLog(cfg Config) (Config, *lockedBuffer) {
	b := &lockedBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(b, nil))
	return cfg, b
}

// Two processes started with one node ID at two addresses: both stay
// members, subscribers get a conflict event naming both, and each of the
// two logs it.
func TestConflictIsReportedAndLoggedOnBothSides(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		seed := startMemNode(t, net, localConfig("n0", "127.0.0.1:0"))
		events, cancel := seed.Subscribe()
		defer cancel()
		cfgA, logA := withLog(localConfig("twin", "127.0.0.1:0", seed.Addr()))
		a := startMemNode(t, net, cfgA)
		convergeWithin(t, convergeLimit, []*Node{seed, a})
		cfgB, logB := withLog(localConfig("twin", "127.0.0.1:0", seed.Addr()))
		b := startMemNode(t, net, cfgB)
		convergeWithin(t, convergeLimit, []*Node{seed, a, b})

		var conflict *core.MemberEvent
		within(t, 5*time.Second, 10*time.Millisecond, func() bool {
			for {
				select {
				case e := <-events:
					if e.Member != nil && e.Member.Conflict {
						conflict = e.Member
					}
					continue
				default:
				}
				return conflict != nil && strings.Contains(logA.String(), "conflict: one node ID") &&
					strings.Contains(logB.String(), "conflict: one node ID")
			}
		}, "conflict not reported: event %v; a's log:\n%s\nb's log:\n%s", conflict, logA, logB)
		assert.Equal(t, "twin", conflict.Record.NodeID)
		assert.Equal(t, "twin", conflict.Other.NodeID)
		assert.ElementsMatch(t, []string{a.Addr(), b.Addr()}, []string{conflict.Record.Authority, conflict.Other.Authority})
		assert.Contains(t, logA.String(), "and_at=")
		assert.Len(t, seed.Members(), 3, "both claimants stay members")
	})
}

// Core.Admit refuses a member through std as in core: it never shows up at
// the node that refuses it, and the refusals are counted.
func TestAdmitThroughStd(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		cfg := localConfig("n0", "127.0.0.1:0")
		cfg.Core.Admit = func(r core.NodeRecord) error {
			if string(r.Meta) != "version=2" {
				return errors.New("wrong version")
			}
			return nil
		}
		seed := startMemNode(t, net, cfg)
		oldCfg := localConfig("old", "127.0.0.1:0", seed.Addr())
		oldCfg.Core.Meta = []byte("version=1")
		old := startMemNode(t, net, oldCfg)
		newCfg := localConfig("new", "127.0.0.1:0", seed.Addr())
		newCfg.Core.Meta = []byte("version=2")
		newer := startMemNode(t, net, newCfg)
		convergeWithin(t, convergeLimit, []*Node{seed, newer})
		advance(3 * time.Second)
		assert.Zero(t, statusOf(seed, old.Addr()), "the refused member got in")
		assert.Equal(t, core.StatusJoining, old.LocalNode().Status, "the refused member got an answer")
		assert.Positive(t, seed.Stats().Coordinator.AdmissionsRefused)
	})
}
