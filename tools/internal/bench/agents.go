package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HearsayAgents is the Factory of the hearsay side in the process mode.
// Every member is `bin agent --name NAME --bind 127.0.0.1:0 --http
// 127.0.0.1:0 --preset lan [--join SEED]` (the hearsay agent, with --pprof
// when pprof is set), so it runs core.DefaultLANConfig() as the agent
// builds it. Its traffic and tick lag are read from /metrics
// (hearsay_messages_sent_total, hearsay_bytes_sent_total: the datagrams its
// socket accepted and their payload), its view from /v1/members, and the
// status changes it saw about other members from its log's "member" lines
// (to=suspect, to=dead), which are the member events its node published.
func HearsayAgents(bin string, pprof bool) Factory {
	return newProcFactory(hearsayAgent(), bin, pprof)
}

// MemberlistAgents is the Factory of the memberlist side in the process
// mode: every member is `bin --name NAME --bind 127.0.0.1:0 --http
// 127.0.0.1:0 [--join SEED]` (tools/cmd/memberlist-agent), which runs
// memberlist.DefaultLANConfig() on NetTransport wrapped by package mlcount.
// Its traffic and the suspect and dead transitions it made (memberlist's own
// metrics) are read from /v1/stats, its view from /v1/members.
func MemberlistAgents(bin string, pprof bool) Factory {
	return newProcFactory(memberlistAgent(), bin, pprof)
}

func hearsayAgent() agentKind {
	return agentKind{
		library: "hearsay",
		prefix:  "hs",
		args: func(name, join string) []string {
			a := []string{"agent", "--name", name, "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0", "--preset", "lan"}
			if join != "" {
				a = append(a, "--join", join)
			}
			return a
		},
		active:  func(st string) bool { return st == "up" || st == "suspect" },
		present: func(st string) bool { return st == "joining" || st == "up" || st == "suspect" || st == "leaving" },
		sample:  sampleHearsayAgent,
		settings: append([]string{"config=core.DefaultLANConfig() (--preset lan)"},
			append((&hsCluster{setting: Setting{Name: "preset"}}).values(),
				"log=the agent's own (Info level, one line per member event) to a pipe the benchmark reads",
				"join=--join member 0 (join requests retried by the coordinator)",
				"crash=SIGKILL; leave=SIGTERM (the agent leaves, bounded by its --leave-timeout 5s, then exits)")...),
	}
}

func memberlistAgent() agentKind {
	return agentKind{
		library: "memberlist",
		prefix:  "ml",
		args: func(name, join string) []string {
			a := []string{"--name", name, "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0"}
			if join != "" {
				a = append(a, "--join", join)
			}
			return a
		},
		active:  func(st string) bool { return st == "alive" },
		present: func(st string) bool { return st == "alive" },
		sample:  sampleMemberlistAgent,
		settings: append([]string{"config=memberlist.DefaultLANConfig()"},
			append((&mlCluster{setting: Setting{Name: "preset"}}).values(),
				"Transport=NetTransport{BindAddrs:[127.0.0.1] BindPort:<the agent's>} wrapped by mlcount to count sends and receives",
				"LogOutput=stderr without [DEBUG] lines, plus one line per member event, to a pipe the benchmark reads",
				"join=memberlist.Join([member 0]), retried every 200ms on error",
				"crash=SIGKILL; leave=SIGTERM (Leave(5s), then Shutdown(), then exit)")...),
	}
}

// sampleHearsayAgent reads the hearsay agent's /metrics.
func sampleHearsayAgent(ctx context.Context, client *http.Client, base string) (agentCounters, error) {
	body, err := get(ctx, client, base+"/metrics")
	if err != nil {
		return agentCounters{}, err
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return agentCounters{}, err
	}
	m := parsePromText(string(b))
	want := []string{"hearsay_messages_sent_total", "hearsay_bytes_sent_total", "hearsay_ticks_total",
		"hearsay_tick_lag_seconds_total", "hearsay_tick_lag_max_seconds"}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			return agentCounters{}, fmt.Errorf("%s/metrics has no %s", base, k)
		}
	}
	return agentCounters{
		traffic:   Traffic{Datagrams: uint64(m[want[0]]), Bytes: uint64(m[want[1]])},
		hasTicks:  true,
		ticks:     uint64(m[want[2]]),
		tickLag:   time.Duration(m[want[3]] * float64(time.Second)),
		tickLagMx: time.Duration(m[want[4]] * float64(time.Second)),
	}, nil
}

// sampleMemberlistAgent reads memberlist-agent's /v1/stats.
func sampleMemberlistAgent(ctx context.Context, client *http.Client, base string) (agentCounters, error) {
	var s struct {
		DatagramsSent      uint64 `json:"datagrams_sent"`
		BytesSent          uint64 `json:"bytes_sent"`
		StreamBytesSent    uint64 `json:"stream_bytes_sent"`
		StreamSegmentsSent uint64 `json:"stream_segments_sent"`
		Suspect            uint64 `json:"suspect"`
		Dead               uint64 `json:"dead"`
	}
	if err := getJSON(ctx, client, base+"/v1/stats", &s); err != nil {
		return agentCounters{}, err
	}
	return agentCounters{
		traffic:     Traffic{Datagrams: s.DatagramsSent, Bytes: s.BytesSent, StreamBytes: s.StreamBytesSent, StreamSegments: s.StreamSegmentsSent},
		transitions: Transitions{Suspect: s.Suspect, Dead: s.Dead},
	}, nil
}
