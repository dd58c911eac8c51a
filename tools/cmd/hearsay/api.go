package main

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source is what the HTTP API reads. The agent serves a std Node through
// nodeSource; tests may serve anything that has members and counters.
type Source interface {
	// Records returns a copy of the membership table, tombstones included
	// (std.Node.Records).
	Records() []core.NodeRecord
	// LocalNode returns this node's own record.
	LocalNode() core.NodeRecord
	// Counters returns the node's counters at this instant.
	Counters() Counters
}

// joinReporter is a Source that says how its join goes (a std Node): while
// the join is late, /healthz answers 503 with the problem.
type joinReporter interface {
	JoinState() std.JoinState
}

// Counters are the figures /metrics exports, read at scrape time.
type Counters struct {
	// MessagesSent and BytesSent count datagrams the socket accepted.
	MessagesSent, BytesSent uint64
	// MessagesReceived and BytesReceived count datagrams read, before
	// filtering and decoding.
	MessagesReceived, BytesReceived uint64
	// Drops counts messages dropped or refused, by reason ("decode_error",
	// "send_queue_full", ...).
	Drops map[string]uint64
	// SuspicionsRaised counts suspicions this node raised about others.
	SuspicionsRaised uint64
	// SuspicionsRefuted counts suspicions held here that the suspect refuted.
	SuspicionsRefuted uint64
	// Refutations counts times this node raised its incarnation to refute a
	// suspicion or a death.
	Refutations uint64
	// DeadDeclared counts members this node declared Dead itself.
	DeadDeclared uint64
	// Ticks counts the gossip loop's ticks.
	Ticks uint64
	// TickLag is the sum, since start, of every tick's lag: how late the
	// gossip loop began the tick's step after the ticker fired, as the loop
	// measured it.
	TickLag time.Duration
	// TickLagMax is the largest lag of a single tick since start.
	TickLagMax time.Duration
	// StallsForgiven counts ticks late enough that the node blamed itself,
	// not its peers (Lifeguard local health).
	StallsForgiven uint64
	// LocalHealth is the Lifeguard local-health score (0 when healthy).
	LocalHealth int
	// EventsDropped counts events a slow subscriber did not take.
	EventsDropped uint64
	// PlaintextReceived counts unsealed datagrams accepted although a
	// keyring is set (--keyring-plaintext accept or send): while it grows,
	// some node still sends plain.
	PlaintextReceived uint64
}

// Member is the JSON shape of one record in /v1/members and /v1/self.
type Member struct {
	// NodeID identifies the instance: an agent takes a fresh one at every
	// start.
	NodeID string `json:"node_id"`
	// Name is the agent's --name, from the metadata; empty for a node
	// whose metadata is not in the agent's encoding (nodemeta.go).
	Name      string `json:"name"`
	Authority string `json:"authority"`
	// Status is the lower-case status ("up", "suspect", "dead", ...), or
	// "stopped" for this node once it stopped running.
	Status      string `json:"status"`
	Incarnation uint64 `json:"incarnation"`
	// Tags are the agent's --tag pairs, from the metadata; never null.
	Tags map[string]string `json:"tags"`
	// Meta is the record's metadata as a string; bytes that are not valid
	// UTF-8 are replaced by U+FFFD.
	Meta string `json:"meta"`
}

// statusStopped names the status of a node that stopped running (its
// record's status is then 0, which is no status).
const statusStopped = "stopped"

// statusName is the name of st in the API.
func statusName(st core.NodeStatus) string {
	if st == 0 {
		return statusStopped
	}
	return st.String()
}

func toMember(r core.NodeRecord) Member {
	name, tags, _ := decodeNodeMeta(r.Meta)
	return Member{
		NodeID:      r.NodeID,
		Name:        name,
		Authority:   r.Authority,
		Status:      statusName(r.Status),
		Incarnation: r.Incarnation,
		Tags:        tags,
		Meta:        string(r.Meta),
	}
}

// sortedMembers returns the members that filter keeps, ordered by
// authority, for stable output.
func sortedMembers(src Source, filter statusFilter) []Member {
	recs := src.Records()
	out := make([]Member, 0, len(recs))
	for _, r := range recs {
		if filter.keeps(r.Status) {
			out = append(out, toMember(r))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Authority != out[j].Authority {
			return out[i].Authority < out[j].Authority
		}
		return out[i].NodeID < out[j].NodeID
	})
	return out
}

//go:embed web
var webFiles embed.FS

// newHandler returns the agent's HTTP API over src: /v1/members, /v1/self,
// /healthz, /metrics, /v1/events when src is an eventStreamer, PUT and POST
// /v1/tags when src is a tagSetter, and the live page at /.
func newHandler(src Source, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err := json.NewEncoder(w).Encode(v); err != nil {
			logger.Debug("write response", "err", err)
		}
	}
	mux.HandleFunc("GET /v1/members", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for k := range q {
			if k != "status" {
				http.Error(w, fmt.Sprintf("unknown parameter %q: /v1/members takes status", k), http.StatusBadRequest)
				return
			}
		}
		filter, err := parseStatusFilter(strings.Join(q["status"], ","))
		if err != nil || (q.Has("status") && filter == nil) {
			if err == nil {
				err = fmt.Errorf("empty status: want %s", statusNames)
			}
			http.Error(w, "status: "+err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, sortedMembers(src, filter))
	})
	mux.HandleFunc("GET /v1/self", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, toMember(src.LocalNode()))
	})
	if ts, ok := src.(tagSetter); ok {
		mux.HandleFunc("PUT /v1/tags", tagsHandler(ts, logger))
		mux.HandleFunc("POST /v1/tags", tagsHandler(ts, logger))
	}
	if es, ok := src.(eventStreamer); ok {
		// The stream bounds each of its writes itself.
		mux.Handle("GET /v1/events", longLived(es.eventStream()))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		self := src.LocalNode()
		if self.Status.IsTombstone() || !self.Status.Valid() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(statusName(self.Status) + "\n"))
			return
		}
		if jr, ok := src.(joinReporter); ok {
			if js := jr.JoinState(); js.Joined.IsZero() && js.Problem != "" {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write([]byte("joining: " + printable(js.Problem) + "\n"))
				return
			}
		}
		_, _ = w.Write([]byte("ok\n"))
	})

	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(src))
	reg.MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}))

	static, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	mux.Handle("GET /", http.FileServerFS(static))
	return mux
}
