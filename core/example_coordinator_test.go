package core_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hearsay-go/hearsay/core"
)

// chanTransport is an in-memory GossipTransport: Send appends to the
// target's inbox.
type chanTransport struct {
	inboxes map[string]*[]core.GossipInbound
	self    string
}

func (t chanTransport) Send(out core.GossipOutbound) error {
	box, ok := t.inboxes[out.Target]
	if !ok {
		return fmt.Errorf("%w: no route to %s", core.ErrSendFailed, out.Target)
	}
	*box = append(*box, core.GossipInbound{Source: t.self, Message: out.Message})
	return nil
}

func (t chanTransport) PollDeltas() []core.GossipInbound {
	box := t.inboxes[t.self]
	in := *box
	*box = []core.GossipInbound{}
	return in
}

// Two members, one joining the other through a Driver each, in virtual time.
func ExampleMembershipCoordinator() {
	inboxes := map[string]*[]core.GossipInbound{"a:7946": {}, "b:7946": {}}
	newNode := func(id, authority string, seed uint64) *core.Driver {
		cfg := core.DefaultLocalConfig()
		cfg.NodeID, cfg.Authority = id, authority
		cfg.Rand = rand.New(rand.NewPCG(seed, seed))
		c, err := core.NewMembershipCoordinator(cfg)
		if err != nil {
			panic(err)
		}
		sink := core.EventSinkFunc(func(e core.Event) {
			if e.Member != nil && e.Member.Record.Authority != authority {
				fmt.Printf("%s: %s is %s\n", id, e.Member.Record.Authority, e.Member.To)
			}
		})
		return core.NewDriver(c, chanTransport{inboxes: inboxes, self: authority}, sink)
	}
	a, b := newNode("a", "a:7946", 1), newNode("b", "b:7946", 2)

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []*core.Driver{a, b} {
		out, _ := d.Coordinator().StartMember(now)
		_ = d.Apply(out)
	}
	out, _ := b.Coordinator().HandleJoin(now, []string{"a:7946"})
	_ = b.Apply(out)

	for i := 0; i < 100; i++ { // one virtual second
		now = now.Add(10 * time.Millisecond)
		_ = a.Step(now)
		_ = b.Step(now)
	}
	for _, r := range b.Coordinator().Members() {
		fmt.Println(r.Authority, r.Status)
	}
	// Output:
	// a: b:7946 is joining
	// a: b:7946 is up
	// b: a:7946 is up
	// a:7946 up
	// b:7946 up
}
