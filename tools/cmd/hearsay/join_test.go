package main

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// healthz returns an agent's /healthz status code and body.
func healthz(t *testing.T, a *testAgent) (int, string) {
	t.Helper()
	code, _, body := get(t, "http://"+a.http, "/healthz")
	return code, body
}

// An agent whose join cannot complete keeps running, warns in its log with
// what it tried, and answers /healthz 503 with that until it joins: a wrong
// key, another label, a seed that never answers.
func TestAgentJoinThatCannotCompleteSaysWhy(t *testing.T) {
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	tests := []struct {
		name string
		// seed and joiner are the flags of the seed agent (none: the
		// silent socket is the seed) and of the joining one.
		seed, joiner []string
		want         string
	}{
		{
			name:   "wrong key",
			seed:   []string{"--keyring", writeKeyring(t, b64Key(1)+"\n", 0o600)},
			joiner: []string{"--keyring", writeKeyring(t, b64Key(2)+"\n", 0o600)},
			want:   "we send with no label, sealed with our keyring",
		},
		{
			name:   "other label",
			seed:   []string{"--label", "blue"},
			joiner: []string{"--label", "green"},
			want:   `we send with label "green"`,
		},
		{
			name: "silent seed",
			want: "we send with no label, not sealed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seedAddr := silent.LocalAddr().String()
			if tt.seed != nil {
				seed := startAgent(t, "seed", append([]string{"--bind", "127.0.0.1:0"}, tt.seed...)...)
				seedAddr = seed.gossip
			}
			a := startAgent(t, "joiner", append([]string{"--bind", "127.0.0.1:0", "--join", seedAddr}, tt.joiner...)...)
			waitFor(t, "/healthz 503 with the join's problem", 30*time.Second, func() (bool, string) {
				code, body := healthz(t, a)
				return code == http.StatusServiceUnavailable && strings.HasPrefix(body, "joining: not joined after"), body
			})
			_, body := healthz(t, a)
			for _, w := range []string{"seed " + seedAddr + ": no answer, and nothing arrived from it", "attempts", tt.want} {
				if !strings.Contains(body, w) {
					t.Errorf("/healthz %q lacks %q", body, w)
				}
			}
			waitFor(t, "a warning in the log", 30*time.Second, func() (bool, string) {
				return strings.Contains(a.stderr.String(), `level=WARN msg="join not complete"`), a.stderr.String()
			})
			if s := a.node.LocalNode().Status.String(); s != "joining" {
				t.Errorf("the joiner is %s, want joining", s)
			}
		})
	}
}

// fakeResolver answers host names from a table that the test changes; no
// query leaves the process.
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]netip.Addr
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r *fakeResolver) set(host string, addr netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hosts[host] = []netip.Addr{addr}
}

// An agent whose --join name does not resolve yet (a Kubernetes headless
// service before its first pod is ready) starts, keeps running and says
// why it has not joined; it joins once the name resolves. No crash loop.
func TestAgentSeedNameNotResolvableYet(t *testing.T) {
	r := &fakeResolver{hosts: map[string][]netip.Addr{}}
	seedResolver = r
	t.Cleanup(func() { seedResolver = net.DefaultResolver })
	seed := startAgent(t, "seed", "--bind", "127.0.0.1:0")
	port := strconv.Itoa(int(netip.MustParseAddrPort(seed.gossip).Port()))
	a := startAgent(t, "joiner", "--bind", "127.0.0.1:0", "--join", "hearsay.default.svc.test:"+port)
	waitFor(t, "/healthz 503: the seed is unusable", 30*time.Second, func() (bool, string) {
		code, body := healthz(t, a)
		return code == http.StatusServiceUnavailable &&
			strings.Contains(body, "seed hearsay.default.svc.test:"+port+" is unusable: lookup hearsay.default.svc.test: no such host"), body
	})
	if !strings.Contains(a.stderr.String(), `level=WARN msg="seed unusable"`) {
		t.Errorf("the unusable seed is not logged:\n%s", a.stderr.String())
	}
	select {
	case code := <-a.done:
		t.Fatalf("the agent exited %d:\n%s", code, a.stderr.String())
	default:
	}

	r.set("hearsay.default.svc.test", netip.MustParseAddr("127.0.0.1"))
	waitFor(t, "joined once the name resolves", 30*time.Second, func() (bool, string) {
		code, body := healthz(t, a)
		return code == http.StatusOK && a.node.LocalNode().Status.String() == "up", body
	})
}
