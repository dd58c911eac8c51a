//go:build go1.25

package std

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeResolver answers seed names from a table that tests change, and
// counts lookups; no query leaves the process.
type fakeResolver struct {
	mu      sync.Mutex
	hosts   map[string][]netip.Addr
	lookups map[string]int
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{hosts: map[string][]netip.Addr{}, lookups: map[string]int{}}
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups[host]++
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// set makes host resolve to addrs (none: not at all).
func (r *fakeResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(addrs) == 0 {
		delete(r.hosts, host)
		return
	}
	r.hosts[host] = nil
	for _, a := range addrs {
		r.hosts[host] = append(r.hosts[host], netip.MustParseAddr(a))
	}
}

func (r *fakeResolver) count(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups[host]
}

// portOf is the port of an "ip:port" address.
func portOf(addr string) string {
	return strconv.Itoa(int(netip.MustParseAddrPort(addr).Port()))
}

// A seed name that does not resolve yet (a Kubernetes headless service
// before its first pod is ready) does not fail Start: the node stays
// Joining, resolves the name at every attempt, says why it cannot join, and
// joins once the name resolves.
func TestSeedNameNotResolvableYet(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		a := startMemNode(t, net, localConfig("a", "127.0.0.1:0"))
		r := newFakeResolver()
		seed := "seeds.hearsay.test:" + portOf(a.Addr())
		cfg := localConfig("b", "127.0.0.1:0", seed)
		cfg.Resolver = r
		log := logTo(&cfg)
		b := startMemNode(t, net, cfg)

		retry := cfg.Core.JoinRetryInterval
		advance(10 * retry)
		assert.Equal(t, core.StatusJoining, b.LocalNode().Status)
		assert.GreaterOrEqual(t, r.count("seeds.hearsay.test"), 10, "the name is resolved at every attempt")
		js := b.JoinState()
		assert.Empty(t, js.Addrs)
		assert.Zero(t, js.Attempts, "no address, no join request")
		assert.Contains(t, js.Problem, "seed "+seed+" is unusable: lookup seeds.hearsay.test: no such host")
		assert.Equal(t, 1, strings.Count(log.String(), `msg="seed unusable"`), "an unusable seed is logged when it changes, not at every attempt:\n%s", log)
		assert.Contains(t, log.String(), `msg="join not complete"`)

		r.set("seeds.hearsay.test", "127.0.0.1")
		took := within(t, 2*retry, retry/10, func() bool { return b.LocalNode().Status == core.StatusUp },
			"not Up after the name resolved")
		t.Logf("joined %v after the name resolved", took)
		assert.Equal(t, []string{a.Addr()}, b.JoinState().Addrs)
		assert.Empty(t, b.JoinState().Problem)
		assertLogged(t, log, `msg="seed resolved"`, "seed="+seed, "addrs="+a.Addr())
		convergeWithin(t, convergeLimit, []*Node{a, b})
	})
}

// Every address a name resolves to is a seed: the node joins through the
// one that answers.
func TestEveryAddressOfASeedNameIsASeed(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		a := startMemNode(t, net, localConfig("a", "127.0.0.1:0"))
		r := newFakeResolver()
		r.set("seeds.hearsay.test", "127.0.0.2", "127.0.0.1") // nobody at 127.0.0.2
		cfg := localConfig("b", "127.0.0.1:0", "seeds.hearsay.test:"+portOf(a.Addr()))
		cfg.Resolver = r
		b := startMemNode(t, net, cfg)
		convergeWithin(t, convergeLimit, []*Node{a, b})
		assert.Equal(t, []string{"127.0.0.2:" + portOf(a.Addr()), a.Addr()}, b.JoinState().Addrs)
	})
}

// One seed that is not usable holds nothing up: the node joins through the
// others and logs the one it cannot use.
func TestUnusableSeedDoesNotHoldUpTheOthers(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		a := startMemNode(t, net, localConfig("a", "127.0.0.1:0"))
		r := newFakeResolver()
		r.set("v6only.hearsay.test", "::1")
		cfg := localConfig("b", "127.0.0.1:0", "never.hearsay.test:7946", "v6only.hearsay.test:7946", a.Addr())
		cfg.Resolver = r
		log := logTo(&cfg)
		b := startMemNode(t, net, cfg)
		convergeWithin(t, convergeLimit, []*Node{a, b})
		assertLogged(t, log, `level=WARN msg="seed unusable"`, "seed=never.hearsay.test:7946", `err="lookup never.hearsay.test: no such host"`)
		assertLogged(t, log, `level=WARN msg="seed unusable"`, "seed=v6only.hearsay.test:7946",
			`err="v6only.hearsay.test resolves only to addresses of the other IP family (::1)`)
	})
}

// Once joined, a node that lost every peer probes its seeds, and resolves
// their names again for that: it finds the cluster at the name's new
// address.
func TestSeedNameResolvedAgainWhenProbing(t *testing.T) {
	inBubble(t, func(t *testing.T) {
		net := newMemNetwork()
		a := startMemNode(t, net, localConfig("a", "127.0.0.1:0"))
		port := portOf(a.Addr())
		c := startMemNode(t, net, localConfig("c", "127.0.0.2:"+port)) // another cluster, where the name will point
		r := newFakeResolver()
		r.set("seeds.hearsay.test", "127.0.0.1")
		cfg := localConfig("b", "127.0.0.3:0", "seeds.hearsay.test:"+port)
		cfg.Resolver = r
		b := startMemNode(t, net, cfg)
		convergeWithin(t, convergeLimit, []*Node{a, b})

		r.set("seeds.hearsay.test", "127.0.0.2")
		require.NoError(t, a.Close())
		within(t, 2*time.Minute, 100*time.Millisecond, func() bool { return statusOf(c, b.Addr()) == core.StatusUp },
			"b never reached c at the name's new address; b's view: %s", views([]*Node{b}))
		assert.Equal(t, []string{c.Addr()}, b.JoinState().Addrs)
	})
}

// Seeds are checked at Start: a port must be a number, and a host name
// needs a Resolver.
func TestSeedConfig(t *testing.T) {
	cfg := localConfig("b", "127.0.0.1:0", "seeds.hearsay.test:gossip")
	err := cfg.Validate()
	require.ErrorIs(t, err, core.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "Config.Seeds[0]")
	cfg.Seeds = []string{"seeds.hearsay.test:7946"}
	cfg.Resolver = nil
	err = cfg.Validate()
	require.ErrorIs(t, err, core.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "Config.Resolver")
	cfg.Seeds = []string{"127.0.0.1:7946"}
	require.NoError(t, cfg.Validate(), "IP seeds need no resolver")
}
