// Command key-router shows hearsay doing a job users have: routing keys
// (cache entries, shards, tenants) to the node that owns them, and moving
// as few of them as possible when a node crashes.
//
//	go run ./examples/key-router
//
// Five nodes start on 127.0.0.1, each with a Router (router.go) that
// follows its node's topology updates and routes keys by rendezvous
// hashing. Once every router sees the five owners, the program routes 1000
// keys through each router and checks that they all agree; then it crashes
// one node (Close, no graceful leave), waits until every survivor's router
// has dropped it, and routes the keys again: exactly the keys the dead node
// owned have moved, every other key kept its owner, and the survivors agree
// on every owner. It uses core.DefaultLocalConfig's timings, so the crash
// is detected within seconds; a step that does not happen within its
// deadline fails the program (exit 1).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

func main() {
	if _, err := run(context.Background(), os.Stdout, 5, 1000, 30*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "key-router: FAILED:", err)
		os.Exit(1)
	}
}

// result is what a run found.
type result struct {
	dead          string            // the crashed node's authority
	before, after map[string]string // key → owner, agreed by every router
}

// run starts nodes nodes with a router each, routes keys keys, crashes one
// node and routes them again, writing what happens to out. Each step must
// happen within timeout.
func run(ctx context.Context, out io.Writer, nodes, keys int, timeout time.Duration) (res result, err error) {
	var ns []*std.Node
	var routers []*Router
	defer func() {
		for _, r := range routers {
			if r != nil {
				r.Close()
			}
		}
		for _, n := range ns {
			err = errors.Join(err, n.Close())
		}
	}()
	for i := range nodes {
		cfg := std.DefaultConfig()
		cfg.Core = core.DefaultLocalConfig()
		cfg.Core.NodeID = fmt.Sprintf("node-%d", i)
		cfg.Transport.BindAddr = "127.0.0.1:0"
		cfg.Transport.Label = "key-router-example"
		if i > 0 {
			cfg.Seeds = []string{ns[0].Addr()}
		}
		n, err := std.Start(ctx, cfg)
		if err != nil {
			return res, err
		}
		ns = append(ns, n)
		routers = append(routers, NewRouter(n))
	}
	all := make([]string, len(ns))
	for i, n := range ns {
		all[i] = n.Addr()
	}
	slices.Sort(all)
	if err := waitOwners(ctx, routers, all, timeout); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "%d nodes, every router sees the %d owners\n", nodes, nodes)

	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("key-%d", i)
	}
	if res.before, err = agreed(routers, names); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "%d keys, every router agrees: %s\n", keys, spread(res.before, all))

	victim := len(ns) / 2
	res.dead = ns[victim].Addr()
	routers[victim].Close()
	routers[victim] = nil
	if err := ns[victim].Close(); err != nil {
		return res, err
	}
	ns = slices.Delete(ns, victim, victim+1)
	live := slices.DeleteFunc(slices.Clone(routers), func(r *Router) bool { return r == nil })
	fmt.Fprintf(out, "crashed %s, which owned %d keys\n", res.dead, count(res.before, res.dead))
	survivors := slices.DeleteFunc(slices.Clone(all), func(a string) bool { return a == res.dead })
	if err := waitOwners(ctx, live, survivors, timeout); err != nil {
		return res, err
	}
	if res.after, err = agreed(live, names); err != nil {
		return res, err
	}
	var moved, kept, wrong int
	for _, k := range names {
		switch b, a := res.before[k], res.after[k]; {
		case b == res.dead:
			moved++
		case a == b:
			kept++
		default:
			wrong++
		}
	}
	if wrong > 0 {
		return res, fmt.Errorf("%d keys of live owners moved", wrong)
	}
	fmt.Fprintf(out, "every survivor agrees again: %d keys moved, all of them %s's; %d kept their owner\n", moved, res.dead, kept)
	fmt.Fprintf(out, "now: %s\n", spread(res.after, survivors))
	return res, nil
}

// waitOwners waits until every router's owners are want.
func waitOwners(ctx context.Context, routers []*Router, want []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok := true
		for _, r := range routers {
			got, _ := r.Owners()
			ok = ok && slices.Equal(got, want)
		}
		if ok {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("routers did not all see the owners %v: %w", want, ctx.Err())
		}
	}
}

// agreed routes keys through every router and returns the owners if every
// router named the same.
func agreed(routers []*Router, keys []string) (map[string]string, error) {
	owners := map[string]string{}
	for _, k := range keys {
		owners[k] = routers[0].Owner(k)
		for _, r := range routers[1:] {
			if o := r.Owner(k); o != owners[k] {
				return nil, fmt.Errorf("routers disagree on %s: %s and %s", k, owners[k], o)
			}
		}
	}
	return owners, nil
}

func count(owners map[string]string, owner string) int {
	n := 0
	for _, o := range owners {
		if o == owner {
			n++
		}
	}
	return n
}

// spread lists how many keys each owner has.
func spread(owners map[string]string, all []string) string {
	parts := make([]string, len(all))
	for i, a := range all {
		parts[i] = fmt.Sprintf("%s owns %d", a, count(owners, a))
	}
	return strings.Join(parts, ", ")
}
