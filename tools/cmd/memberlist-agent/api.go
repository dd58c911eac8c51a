package main

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"sort"

	"github.com/hearsay-go/hearsay/tools/internal/bench/mlcount"
)

// Member is one element of /v1/members, with the keys of the hearsay
// agent's. memberlist names a member by its name only, so NodeID and Name
// are both the name.
type Member struct {
	NodeID    string `json:"node_id"`
	Name      string `json:"name"`
	Authority string `json:"authority"`
	// Status is "alive" (memberlist's alive or suspect) or "gone" (dead or
	// left).
	Status string `json:"status"`
}

// Stats is /v1/stats.
type Stats struct {
	mlcount.Counts
	// Suspect and Dead count the times this member marked another suspect,
	// and dead or left (memberlist's memberlist.msg.suspect and
	// memberlist.msg.dead metrics).
	Suspect uint64 `json:"suspect"`
	Dead    uint64 `json:"dead"`
	// Members is memberlist's NumMembers(): alive and suspect members.
	Members int `json:"members"`
}

func (a *agent) members() []Member {
	var out []Member
	listed := map[string]bool{}
	for _, n := range a.ml.Members() {
		listed[n.Name] = true
		out = append(out, Member{NodeID: n.Name, Name: n.Name, Authority: authority(n), Status: "alive"})
	}
	for name, auth := range a.events.goneMembers() {
		if !listed[name] {
			out = append(out, Member{NodeID: name, Name: name, Authority: auth, Status: "gone"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

func (a *agent) stats() Stats {
	t := transitions.counts()
	return Stats{Counts: a.tr.Counts(), Suspect: t.suspect, Dead: t.dead, Members: a.ml.NumMembers()}
}

func (a *agent) handler() http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /v1/members", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, a.members()) })
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, a.stats()) })
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// withPprof serves Go's runtime profiles under /debug/pprof/ next to api.
func withPprof(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.Handle("/", api)
	return mux
}
