// Command hscheck waits until hearsay agents' views meet an expectation, for
// the multi-host script (tools/netns/multihost.sh). It polls GET /v1/members
// on every agent in -views until each view holds every -expect pair (and,
// with -count, exactly that many records), or until -timeout, and prints
// what it saw either way.
//
//	hscheck -timeout 60s -views 198.18.0.1:8946,198.18.0.2:8946 \
//	    -expect 198.18.0.3:7946=dead -expect 198.18.0.1:7946=up
//
// Exit status: 0 when every view met the expectation, 1 at the deadline, 2
// for bad flags.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// member is the part of the agent's /v1/members record this checks.
type member struct {
	NodeID      string `json:"node_id"`
	Name        string `json:"name"`
	Authority   string `json:"authority"`
	Status      string `json:"status"`
	Incarnation uint64 `json:"incarnation"`
}

type list []string

func (l *list) String() string { return strings.Join(*l, ",") }
func (l *list) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	var views, expects, atLeast list
	fs := flag.NewFlagSet("hscheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&views, "views", "agent HTTP addresses whose views to check, HOST:PORT[,...]")
	fs.Var(&expects, "expect", "AUTHORITY=STATUS that every view must show (repeatable, comma-separated)")
	fs.Var(&atLeast, "at-least", "STATUS=N: every view must hold at least N records in STATUS (repeatable)")
	count := fs.Int("count", -1, "if >= 0, the number of records every view must hold")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait")
	what := fs.String("what", "", "a description printed with the result")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	want := map[string]string{}
	for _, e := range expects {
		auth, status, ok := strings.Cut(e, "=")
		if !ok || auth == "" || status == "" {
			fmt.Fprintf(stderr, "hscheck: -expect %q: want AUTHORITY=STATUS\n", e)
			return 2
		}
		want[auth] = status
	}
	min := map[string]int{}
	for _, e := range atLeast {
		status, n, ok := strings.Cut(e, "=")
		k, err := strconv.Atoi(n)
		if !ok || status == "" || err != nil || k < 1 {
			fmt.Fprintf(stderr, "hscheck: -at-least %q: want STATUS=N with N >= 1\n", e)
			return 2
		}
		min[status] = k
	}
	if len(views) == 0 || (len(want) == 0 && len(min) == 0 && *count < 0) {
		fmt.Fprintln(stderr, "hscheck: need -views and one of -expect, -at-least, -count")
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	start := time.Now()
	last := map[string]string{} // view → what was wrong with it last time
	for {
		for _, v := range views {
			last[v] = checkView(ctx, client, v, want, min, *count)
		}
		bad := 0
		for _, v := range views {
			if last[v] != "" {
				bad++
			}
		}
		if bad == 0 {
			fmt.Fprintf(stdout, "PASS %s: %d view(s) agree after %.1fs\n", *what, len(views), time.Since(start).Seconds())
			for _, v := range views {
				fmt.Fprintf(stdout, "    view of %s: %s\n", v, summary(ctx, client, v))
			}
			return 0
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(stdout, "FAIL %s: not met within %v\n", *what, *timeout)
			for _, v := range views {
				fmt.Fprintf(stdout, "    view of %s: %s\n", v, orOK(last[v]))
			}
			return 1
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func orOK(s string) string {
	if s == "" {
		return "ok"
	}
	return s
}

// checkView returns "" when the view at addr meets want and count, else what
// is wrong with it.
func checkView(ctx context.Context, client *http.Client, addr string, want map[string]string, min map[string]int, count int) string {
	ms, err := fetch(ctx, client, addr)
	if err != nil {
		return err.Error()
	}
	got := map[string]string{}
	for _, m := range ms {
		got[m.Authority] = m.Status
	}
	var wrong []string
	for _, auth := range sortedKeys(want) {
		if got[auth] != want[auth] {
			wrong = append(wrong, fmt.Sprintf("%s is %q, want %q", auth, got[auth], want[auth]))
		}
	}
	byStatus := map[string]int{}
	for _, m := range ms {
		byStatus[m.Status]++
	}
	for _, st := range sortedKeys(min) {
		if byStatus[st] < min[st] {
			wrong = append(wrong, fmt.Sprintf("%d %s, want at least %d", byStatus[st], st, min[st]))
		}
	}
	if count >= 0 && len(ms) != count {
		wrong = append(wrong, fmt.Sprintf("%d records, want %d", len(ms), count))
	}
	if len(wrong) == 0 {
		return ""
	}
	return strings.Join(wrong, "; ") + " (view: " + format(ms) + ")"
}

func summary(ctx context.Context, client *http.Client, addr string) string {
	ms, err := fetch(ctx, client, addr)
	if err != nil {
		return err.Error()
	}
	return format(ms)
}

func format(ms []member) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		who := m.NodeID
		if m.Name != "" {
			who = m.Name + "/" + m.NodeID
		}
		parts = append(parts, fmt.Sprintf("%s(%s)=%s/%d", who, m.Authority, m.Status, m.Incarnation))
	}
	return strings.Join(parts, " ")
}

func fetch(ctx context.Context, client *http.Client, addr string) ([]member, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/members", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/members: %s", resp.Status)
	}
	var ms []member
	if err := json.NewDecoder(resp.Body).Decode(&ms); err != nil {
		return nil, fmt.Errorf("GET /v1/members: %w", err)
	}
	return ms, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
