// Command hearsay runs a hearsay agent and talks to one.
//
//	hearsay agent --name N --bind HOST:PORT [--join HOST:PORT[,...]] [--http HOST:PORT] [--label L] [--preset lan|wan|local] [--keyring FILE]
//	hearsay members [--http HOST:PORT]
//
// The agent runs one long-lived member of a cluster over UDP and serves its
// view over HTTP. SIGINT or SIGTERM makes it leave the cluster gracefully and
// exit 0. members prints an agent's view as a table, like serf members.
//
// HTTP API:
//
//	GET /v1/members  JSON array, one object per record the node holds, Dead and
//	                 Removed tombstones included, sorted by authority:
//	                 {"node_id","authority","status","incarnation","meta"};
//	                 status is the lower-case name ("up", "suspect", "dead", ...),
//	                 meta the metadata as a string
//	GET /v1/self     this node's record, same shape
//	GET /healthz     200 "ok", or 503 with the status once this node is a tombstone
//	GET /metrics     Prometheus text: hearsay_members{status}, messages and bytes
//	                 sent/received, hearsay_dropped_total{reason}, suspicions
//	                 raised and refuted, tick lag, ...
//	GET /            a live page of the cluster (embedded; refreshes every second)
//
// Exit codes: 0 success, 1 a runtime failure, 2 a usage error (bad flags).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// defaultHTTP is where the agent serves its API and where members looks for it.
const defaultHTTP = "127.0.0.1:8946"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: hearsay <command> [flags]

commands:
  agent     run one long-lived cluster member with an HTTP API
  members   print the members an agent knows, as a table

Run "hearsay <command> -h" for the flags of a command.
`

// run executes the command in args and returns the process exit code. ctx
// ends the agent (as SIGINT/SIGTERM do).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "agent":
		opts, err := parseAgentFlags(args[1:], stderr)
		if err != nil {
			return usageExit(err, stderr)
		}
		if err := runAgent(ctx, opts, stdout, stderr, onAgentReady); err != nil {
			fmt.Fprintf(stderr, "hearsay agent: %v\n", err)
			return exitFailure
		}
		return exitOK
	case "members":
		opts, err := parseMembersFlags(args[1:], stderr)
		if err != nil {
			return usageExit(err, stderr)
		}
		if err := runMembers(ctx, opts, stdout); err != nil {
			fmt.Fprintf(stderr, "hearsay members: %v\n", err)
			return exitFailure
		}
		return exitOK
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "hearsay: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// usageError is a bad command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// usageExit reports a flag-parsing failure. -h is not a failure.
func usageExit(err error, stderr io.Writer) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "hearsay: %v (see -h)\n", err)
	}
	// Errors from flag.Parse itself were already printed, with the usage.
	return exitUsage
}

// onAgentReady, when set (by tests), is told each agent's node and HTTP
// address once it serves.
var onAgentReady func(n agentNode, httpAddr string)
