package std_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// Two nodes on loopback: b joins a, both see each other Up, then b leaves
// gracefully and a sees it Removed.
func ExampleStart() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	config := func(id string, seeds ...string) std.Config {
		cfg := std.DefaultConfig()
		cfg.Core = core.DefaultLocalConfig() // fast timings for one host
		cfg.Core.NodeID = id
		cfg.Transport.BindAddr = "127.0.0.1:0" // port 0: any free port
		cfg.Seeds = seeds
		return cfg
	}

	a, err := std.Start(ctx, config("a"))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := std.Start(ctx, config("b", a.Addr()))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	if err := b.Join(ctx); err != nil { // wait until a answered
		log.Fatal(err)
	}
	members := b.Members()
	slices.SortFunc(members, func(x, y core.NodeRecord) int { return strings.Compare(x.NodeID, y.NodeID) })
	for _, m := range members {
		fmt.Println(m.NodeID, m.Status)
	}

	if err := b.Leave(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("b left:", waitFor(ctx, a, b.Addr(), core.StatusRemoved))
	// Output:
	// a up
	// b up
	// b left: removed
}

// A config starts from DefaultConfig, the LAN preset; each setting has one
// place: identity and timings in Core, the socket in Transport.
func ExampleDefaultConfig() {
	cfg := std.DefaultConfig()
	cfg.Core.NodeID = "a"
	cfg.Core.HeartbeatInterval = time.Second // the rest of the preset stays
	cfg.Transport.BindAddr = "127.0.0.1:7946"
	cfg.Transport.Label = "prod"
	cfg.Seeds = []string{"127.0.0.1:7947"}
	fmt.Println(cfg.Validate())

	cfg.Transport.MaxDatagramBytes = 100
	fmt.Println(cfg.Validate())
	// Output:
	// <nil>
	// hearsay: invalid config: Config.Transport.MaxDatagramBytes must be in [512, 65507], got 100
}

// waitFor polls n until it holds authority at status, or ctx ends.
func waitFor(ctx context.Context, n *std.Node, authority string, status core.NodeStatus) core.NodeStatus {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, m := range n.Records() {
			if m.Authority == authority && (m.Status == status || ctx.Err() != nil) {
				return m.Status
			}
		}
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
	}
}
