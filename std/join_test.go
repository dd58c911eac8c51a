package std

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/hearsay-go/hearsay/core"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logBuffer is an io.Writer safe for concurrent use, for a node's text log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logTo sets cfg's logger to a text log in a new buffer, and returns it.
func logTo(cfg *Config) *logBuffer {
	var buf logBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return &buf
}

// assertLogged checks that a line of log holds every one of parts.
func assertLogged(t *testing.T, log *logBuffer, parts ...string) {
	t.Helper()
	for _, line := range strings.Split(log.String(), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return
		}
	}
	t.Errorf("no log line holds all of %q; log:\n%s", parts, log)
}

// A join that cannot complete says so: the node stays Joining, and once
// the join is late JoinState.Problem and a warning in the log name the
// seed, its address, the attempts and the likely cause. A seed that drops
// our join requests reaches us only as silence; when it sends to us too (it
// lists us as a seed), what we drop of its datagrams, and why, names the
// cause.
func TestJoinThatCannotCompleteSaysWhy(t *testing.T) {
	tests := []struct {
		name string
		// seed and joiner change the seed's and the joiner's configs.
		seed, joiner func(t *testing.T, c *Config)
		// seedTalks: the seed also sends the joiner join requests.
		seedTalks bool
		want      []string
	}{
		{
			name:      "wrong key",
			seed:      func(t *testing.T, c *Config) { c.Transport.Keyring = mustKeyring(t, testKey(1)) },
			joiner:    func(t *testing.T, c *Config) { c.Transport.Keyring = mustKeyring(t, testKey(2)) },
			seedTalks: true,
			want:      []string{"not opened by our keyring", "it seals with a key our keyring lacks", "sealed with our keyring"},
		},
		{
			name:      "missing keyring",
			seed:      func(t *testing.T, c *Config) { c.Transport.Keyring = mustKeyring(t, testKey(1)) },
			joiner:    func(*testing.T, *Config) {},
			seedTalks: true,
			want:      []string{"undecodable", "it seals with a keyring and we have none", "not sealed (no keyring)"},
		},
		{
			name:      "other label",
			seed:      func(_ *testing.T, c *Config) { c.Transport.Label = "blue" },
			joiner:    func(_ *testing.T, c *Config) { c.Transport.Label = "green" },
			seedTalks: true,
			want:      []string{"of another cluster label", "it belongs to another cluster", `label "green"`},
		},
		{
			name:   "other label, seed silent",
			seed:   func(_ *testing.T, c *Config) { c.Transport.Label = "blue" },
			joiner: func(_ *testing.T, c *Config) { c.Transport.Label = "green" },
			want:   []string{"nothing arrived from it", "another label, another keyring or none"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seedCfg := localConfig("seed", "127.0.0.1:0")
			tt.seed(t, &seedCfg)
			seed := startNode(t, seedCfg)
			cfg := localConfig("joiner", "127.0.0.1:0", seed.Addr())
			tt.joiner(t, &cfg)
			log := logTo(&cfg)
			n := startNode(t, cfg)
			if tt.seedTalks {
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				require.NoError(t, seed.Join(ctx, n.Addr()), "the seed is Up: its Join returns once the requests are sent")
			}
			var js JoinState
			eventually(t, waitTimeout, func() bool {
				js = n.JoinState()
				return js.Problem != "" && strings.Contains(log.String(), "join not complete") &&
					(!tt.seedTalks || strings.Contains(js.Problem, "datagrams arrived"))
			}, "no late-join problem reported; state %+v; log:\n%s", n.JoinState(), log.String())
			t.Logf("problem: %s", js.Problem)
			assert.True(t, js.Joined.IsZero())
			assert.Equal(t, core.StatusJoining, n.LocalNode().Status)
			assert.Equal(t, []string{seed.Addr()}, js.Addrs)
			assert.GreaterOrEqual(t, js.Attempts, uint64(joinLateRetries))
			assert.Contains(t, js.Problem, "seed "+seed.Addr())
			assert.Contains(t, js.Problem, "attempts")
			for _, w := range tt.want {
				assert.Contains(t, js.Problem, w)
			}
			assertLogged(t, log, `level=WARN msg="join not complete"`, "problem=")
		})
	}
}

// A seed that never answers (a socket that reads nothing) is reported as
// silent, with the address tried and the attempts.
func TestJoinSilentSeedSaysWhy(t *testing.T) {
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer silent.Close()
	cfg := localConfig("joiner", "127.0.0.1:0", silent.LocalAddr().String())
	log := logTo(&cfg)
	n := startNode(t, cfg)
	var js JoinState
	eventually(t, waitTimeout, func() bool { js = n.JoinState(); return js.Problem != "" },
		"no late-join problem reported; log:\n%s", log.String())
	assert.Contains(t, js.Problem, "seed "+silent.LocalAddr().String()+": no answer, and nothing arrived from it")
	assert.Contains(t, js.Problem, `we send with label "test", not sealed (no keyring)`)
	eventually(t, waitTimeout, func() bool { return strings.Contains(log.String(), "join not complete") },
		"no warning logged:\n%s", log.String())

	// Join gives up with ctx, and says why.
	ctx, cancel := context.WithTimeout(context.Background(), 50*joinLateRetries*cfg.Core.JoinRetryInterval/100)
	defer cancel()
	err = n.Join(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "nothing arrived from it")
}

// A node that joins in time reports when, and no problem.
func TestJoinStateOfAJoinedNode(t *testing.T) {
	a := startNode(t, localConfig("a", "127.0.0.1:0"))
	require.False(t, a.JoinState().Joined.IsZero(), "a node with no seeds has joined at Start")
	cfg := localConfig("b", "127.0.0.1:0", a.Addr())
	log := logTo(&cfg)
	b := startNode(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(t, b.Join(ctx))
	js := b.JoinState()
	assert.False(t, js.Joined.IsZero())
	assert.False(t, js.Joined.Before(js.Since))
	assert.Empty(t, js.Problem)
	assert.Equal(t, []string{a.Addr()}, js.Addrs)
	assert.Positive(t, js.Attempts)
	eventually(t, waitTimeout, func() bool { return strings.Contains(log.String(), "msg=joined") },
		"the join is not logged:\n%s", log.String())
}
