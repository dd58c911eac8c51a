package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"
)

type membersOptions struct {
	http    string
	timeout time.Duration
	status  string
}

func parseMembersFlags(args []string, stderr io.Writer) (membersOptions, error) {
	var o membersOptions
	fs := flag.NewFlagSet("hearsay members", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hearsay members [--http HOST:PORT] [--status STATUS]")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.http, "http", defaultHTTP, "the agent's HTTP address, HOST:PORT")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the agent")
	fs.StringVar(&o.status, "status", "", "show only members in this status (up, suspect, dead, ...)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, usagef("members: unexpected argument %q", fs.Arg(0))
	}
	if err := checkHostPort("--http", o.http); err != nil {
		return o, err
	}
	if o.timeout <= 0 {
		return o, usagef("members: --timeout must be > 0, got %v", o.timeout)
	}
	return o, nil
}

func runMembers(ctx context.Context, o membersOptions, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	members, err := fetchMembers(ctx, http.DefaultClient, "http://"+o.http)
	if err != nil {
		return err
	}
	if o.status != "" {
		kept := members[:0]
		for _, m := range members {
			if m.Status == o.status {
				kept = append(kept, m)
			}
		}
		members = kept
	}
	return writeMembersTable(stdout, members)
}

// fetchMembers reads an agent's /v1/members at baseURL ("http://host:port").
func fetchMembers(ctx context.Context, client *http.Client, baseURL string) ([]Member, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/v1/members", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	var members []Member
	if err := json.NewDecoder(resp.Body).Decode(&members); err != nil {
		return nil, fmt.Errorf("GET %s: decode: %w", req.URL, err)
	}
	return members, nil
}

// writeMembersTable prints members the way serf members does: one line each,
// columns aligned.
func writeMembersTable(w io.Writer, members []Member) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "Node\tAddress\tStatus\tIncarnation\tMeta")
	for _, m := range members {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", m.NodeID, m.Authority, m.Status, m.Incarnation, m.Meta)
	}
	return tw.Flush()
}
