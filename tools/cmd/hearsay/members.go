package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"
)

type membersOptions struct {
	http     string
	timeout  time.Duration
	status   string // as given, checked by parseStatusFilter
	format   string // "table" or "json"
	detailed bool
}

const membersUsage = `usage: hearsay members [--http HOST:PORT] [--status STATUS[,...]] [--format table|json] [--detailed]

Prints the members an agent knows, tombstones included, like serf members:
name (the node ID for a node that publishes none), address, status and
tags; --detailed adds the node ID, the incarnation and the raw metadata.
Control characters in what members publish are printed as escapes (\x1b).
--format json prints the agent's /v1/members records unchanged.

Flags:
`

func parseMembersFlags(args []string, stderr io.Writer) (membersOptions, error) {
	var o membersOptions
	fs := clientFlagSet("members", membersUsage, stderr, &o.http)
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the agent")
	fs.StringVar(&o.status, "status", "", "show only members in these statuses, comma-separated: "+statusNames)
	fs.StringVar(&o.format, "format", "table", "output format: table or json")
	fs.BoolVar(&o.detailed, "detailed", false, "also show node IDs, incarnations and raw metadata")
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
	if _, err := parseStatusFilter(o.status); err != nil {
		return o, usagef("members: --status: %v", err)
	}
	if o.format != "table" && o.format != "json" {
		return o, usagef("members: --format must be table or json, got %q", o.format)
	}
	return o, nil
}

func runMembers(ctx context.Context, o membersOptions, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	members, err := fetchMembers(ctx, http.DefaultClient, "http://"+o.http, o.status)
	if err != nil {
		return err
	}
	if o.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(members)
	}
	return writeMembersTable(stdout, members, o.detailed)
}

// fetchMembers reads an agent's /v1/members at baseURL ("http://host:port"),
// only those in the statuses of the comma-separated status list (all when
// empty).
func fetchMembers(ctx context.Context, client *http.Client, baseURL, status string) ([]Member, error) {
	u := baseURL + "/v1/members"
	if status != "" {
		u += "?" + url.Values{"status": {status}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("GET %s: %s: %s", req.URL, resp.Status, printable(string(body)))
	}
	members := []Member{}
	if err := json.NewDecoder(resp.Body).Decode(&members); err != nil {
		return nil, fmt.Errorf("GET %s: decode: %w", req.URL, err)
	}
	return members, nil
}

// writeMembersTable prints members the way serf members does: one line each,
// columns aligned, every field through printable.
func writeMembersTable(w io.Writer, members []Member, detailed bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if detailed {
		fmt.Fprintln(tw, "Name\tNode\tAddress\tStatus\tIncarnation\tTags\tMeta")
	} else {
		fmt.Fprintln(tw, "Name\tAddress\tStatus\tTags")
	}
	for _, m := range members {
		name := m.Name
		if name == "" {
			name = m.NodeID
		}
		tags := printable(formatTags(m.Tags))
		if detailed {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", printable(name), printable(m.NodeID), printable(m.Authority),
				printable(m.Status), m.Incarnation, tags, printable(m.Meta))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", printable(name), printable(m.Authority), printable(m.Status), tags)
	}
	return tw.Flush()
}
