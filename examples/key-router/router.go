package main

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"sync"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// Router routes keys to the members of a hearsay cluster that own them, by
// rendezvous hashing (highest random weight): every owner scores every key
// with a hash of (owner, key), and the highest score owns the key. When an
// owner goes, only its own keys move, each to the owner that scored second
// for it; every other key stays where it was.
//
// Owners are the members Up or Suspect in the node's latest topology
// update: a suspect keeps its keys (most suspicions are refuted, and moving
// keys on each would churn), a joining member gets keys once it is Up, and
// a leaving one gives them up as it starts to leave. Each topology update
// carries the whole view, so a router that missed one is right again at the
// next; routers whose nodes see the same members (the same topology hash)
// route every key to the same owner.
type Router struct {
	mu     sync.RWMutex
	owners []string // authorities, sorted
	hash   uint64   // the topology hash of the view they come from

	cancel func()
	done   chan struct{}
}

// NewRouter returns a router that follows n's membership until Close.
func NewRouter(n *std.Node) *Router {
	events, cancel := n.Subscribe()
	r := &Router{cancel: cancel, done: make(chan struct{})}
	r.follow(n.Members(), 0)
	go func() {
		defer close(r.done)
		for e := range events {
			if e.Topology != nil {
				r.follow(e.Topology.Members, e.Topology.Hash)
			}
		}
	}()
	return r
}

// follow takes the owners from a view of the members.
func (r *Router) follow(members []core.NodeRecord, hash uint64) {
	var owners []string
	for _, m := range members {
		if m.Status == core.StatusUp || m.Status == core.StatusSuspect {
			owners = append(owners, m.Authority)
		}
	}
	slices.Sort(owners)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.owners, r.hash = owners, hash
}

// Owner returns the authority of the member that owns key ("" with no
// owner).
func (r *Router) Owner(key string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var best string
	var top uint64
	for _, o := range r.owners {
		if s := score(o, key); best == "" || s > top {
			best, top = o, s
		}
	}
	return best
}

// Owners returns the owners' authorities, sorted, and the topology hash of
// the view they come from (0 before the first update).
func (r *Router) Owners() ([]string, uint64) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.owners), r.hash
}

// Close stops following the node.
func (r *Router) Close() {
	r.cancel()
	<-r.done
}

// score is owner's weight for key: the first 8 bytes of SHA-256 over both.
// Any hash that mixes well does; every router must use the same one.
func score(owner, key string) uint64 {
	h := sha256.Sum256([]byte(owner + "\x00" + key))
	return binary.BigEndian.Uint64(h[:8])
}
