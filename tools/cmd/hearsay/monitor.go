package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

type monitorOptions struct {
	http    string
	timeout time.Duration // to connect and get the stream's headers
	format  string        // "text" or "json"
	history bool
}

const monitorUsage = `usage: hearsay monitor [--http HOST:PORT] [--format text|json] [--history]

Prints an agent's member events as they happen (its /v1/events stream), one
line each, like serf monitor, until the agent stops (exit 0), the stream
breaks (exit 1) or the monitor is interrupted (exit 0). --history first
prints the events the agent still holds (the last 256). --format json prints
one JSON object per line, each with a "kind": a member event as /v1/events
sends it (join, up, suspect, leaving, left, dead, update, conflict), or
{"kind":"dropped","missed":N} when the monitor read too slowly and N events
were lost, or {"kind":"shutdown"} when the agent stops. Control characters
in what members publish are printed as escapes in text.

Flags:
`

func parseMonitorFlags(args []string, stderr io.Writer) (monitorOptions, error) {
	var o monitorOptions
	fs := clientFlagSet("monitor", monitorUsage, stderr, &o.http)
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the agent to answer")
	fs.StringVar(&o.format, "format", "text", "output format: text or json (one object per line)")
	fs.BoolVar(&o.history, "history", false, "first print the recent events the agent holds")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, usagef("monitor: unexpected argument %q", fs.Arg(0))
	}
	if err := checkHostPort("--http", o.http); err != nil {
		return o, err
	}
	if o.timeout <= 0 {
		return o, usagef("monitor: --timeout must be > 0, got %v", o.timeout)
	}
	if o.format != "text" && o.format != "json" {
		return o, usagef("monitor: --format must be text or json, got %q", o.format)
	}
	return o, nil
}

// errStreamEnded: the agent's stream ended without saying it stops.
var errStreamEnded = errors.New("the agent's event stream ended without a shutdown message (the agent crashed or the connection broke)")

// runMonitor prints the agent's events to stdout until the agent stops
// (nil), ctx ends (nil) or the stream breaks (an error).
func runMonitor(ctx context.Context, o monitorOptions, stdout, stderr io.Writer) error {
	client := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: o.timeout}).DialContext,
		ResponseHeaderTimeout: o.timeout,
	}}
	defer client.CloseIdleConnections()
	url := "http://" + o.http + "/v1/events"
	if o.history {
		url += "?history=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, printable(strings.TrimSpace(string(body))))
	}
	if o.format == "text" {
		fmt.Fprintf(stderr, "monitoring the agent at %s (Ctrl-C to stop)\n", o.http)
	}
	r := newSSEReader(resp.Body)
	for {
		m, err := r.Next()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return errStreamEnded
		}
		if err != nil {
			return err
		}
		line, done, err := monitorLine(m, o.format)
		if err != nil {
			return err
		}
		if line != "" {
			if _, err := fmt.Fprintln(stdout, line); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}

// monitorLine formats one message of /v1/events; done is true for the
// message that ends the stream. Messages of other types are skipped ("").
func monitorLine(m sseMessage, format string) (line string, done bool, err error) {
	switch m.Event {
	case "member":
		var e EventMessage
		if err := json.Unmarshal([]byte(m.Data), &e); err != nil {
			return "", false, fmt.Errorf("event stream: member event: %w", err)
		}
		if format == "json" {
			return m.Data, false, nil
		}
		return memberEventText(e), false, nil
	case "dropped", "shutdown":
		var d struct {
			Missed uint64    `json:"missed"`
			Time   time.Time `json:"time"`
		}
		if err := json.Unmarshal([]byte(m.Data), &d); err != nil {
			return "", false, fmt.Errorf("event stream: %s message: %w", m.Event, err)
		}
		done = m.Event == "shutdown"
		if format == "json" {
			out, err := json.Marshal(struct {
				Kind   string    `json:"kind"`
				Missed uint64    `json:"missed,omitempty"`
				Time   time.Time `json:"time"`
			}{m.Event, d.Missed, d.Time})
			return string(out), done, err
		}
		ts := d.Time.UTC().Format(monitorTime)
		if done {
			return ts + "  shutdown  the agent is stopping", true, nil
		}
		return fmt.Sprintf("%s  dropped   %d events missed: this monitor read too slowly", ts, d.Missed), false, nil
	}
	return "", false, nil
}

// monitorTime is the time format of monitor's text lines.
const monitorTime = "2006-01-02T15:04:05.000Z07:00"

// memberEventText is one member event as a line of text:
//
//	TIME  KIND  NAME  ADDRESS  FROM -> TO  incarnation N  TAGS
func memberEventText(e EventMessage) string {
	name := e.Name
	if name == "" {
		name = e.NodeID
	}
	from := e.From
	if from == "" {
		from = "new"
	}
	line := fmt.Sprintf("%s  %-8s  %s  %s  %s -> %s  incarnation %d", e.Time.UTC().Format(monitorTime), printable(e.Kind),
		printable(name), printable(e.Authority), printable(from), printable(e.To), e.Incarnation)
	if tags := formatTags(e.Tags); tags != "" {
		line += "  " + printable(tags)
	}
	return line
}
