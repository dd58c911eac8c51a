package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// options is the agent's command line.
type options struct {
	name, bind, http string
	join             []string
	leaveTimeout     time.Duration
	pprof            bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var join string
	fs := flag.NewFlagSet("memberlist-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.name, "name", "", "this member's name, unique in the cluster (required)")
	fs.StringVar(&o.bind, "bind", "", "IP:PORT for memberlist's UDP and TCP (required; port 0 picks one)")
	fs.StringVar(&join, "join", "", "seed addresses to join, HOST:PORT[,HOST:PORT...]")
	fs.StringVar(&o.http, "http", "127.0.0.1:0", "TCP address of the HTTP API, HOST:PORT")
	fs.DurationVar(&o.leaveTimeout, "leave-timeout", 5*time.Second, "how long a graceful leave may take on SIGINT/SIGTERM")
	fs.BoolVar(&o.pprof, "pprof", false, "debugging: serve Go profiles under /debug/pprof/ on the HTTP API")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, s := range strings.Split(join, ",") {
		if s = strings.TrimSpace(s); s != "" {
			o.join = append(o.join, s)
		}
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.name == "":
		return o, fmt.Errorf("--name is required")
	case o.leaveTimeout <= 0:
		return o, fmt.Errorf("--leave-timeout must be > 0, got %v", o.leaveTimeout)
	}
	if _, _, err := bindAddr(o.bind); err != nil {
		return o, err
	}
	if _, _, err := net.SplitHostPort(o.http); err != nil {
		return o, fmt.Errorf("--http %q: %v", o.http, err)
	}
	for _, s := range o.join {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return o, fmt.Errorf("--join %q: %v", s, err)
		}
	}
	return o, nil
}

// bindAddr splits --bind into an IP literal and a port.
func bindAddr(v string) (string, int, error) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", 0, fmt.Errorf("--bind %q: want IP:PORT: %v", v, err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		return "", 0, fmt.Errorf("--bind %q: want the IP address other members reach", v)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("--bind %q: bad port", v)
	}
	return host, int(p), nil
}
