// Command memberlist-agent runs one hashicorp/memberlist member as its own
// process, with an HTTP API the benchmark reads. It is hearsay-bench's
// counterpart of the hearsay agent in its process-per-member mode
// (hearsay-bench -procs): the same command-line shape, the same kind of API,
// the same way of counting traffic, so that both libraries are measured the
// same way. It is not meant for production use.
//
//	memberlist-agent --name N --bind HOST:PORT [--join HOST:PORT[,...]] [--http HOST:PORT] [--pprof]
//
// The member runs memberlist.DefaultLANConfig() with only what a process
// must set: Name, the bind and advertised address and port, and a Transport
// that is memberlist's own NetTransport wrapped to count what it sends and
// receives (package mlcount). It joins --join at start and retries every
// 200 ms until the join succeeds. memberlist's log goes to stderr without
// its [DEBUG] lines (the level an operator runs at); the agent logs, like
// the hearsay agent, one line when it serves ("agent started", with
// authority= and http=) and one per member event. SIGINT or SIGTERM makes it
// leave gracefully (Leave, then Shutdown) and exit 0.
//
// HTTP API:
//
//	GET /v1/members  JSON array of {"node_id","name","authority","status"}
//	                 (node_id and name are both memberlist's name): every
//	                 member memberlist lists (Members(): alive or suspect,
//	                 which memberlist's API does not tell apart) with status
//	                 "alive", and every member it reported gone (dead or
//	                 left, through its EventDelegate) with status "gone"
//	GET /v1/stats    JSON: the transport's counters (mlcount.Counts), the
//	                 times this member marked another suspect and dead or
//	                 left (memberlist's memberlist.msg.suspect and
//	                 memberlist.msg.dead metrics) and the member count
//	GET /healthz     200 "ok"
//	GET /debug/pprof/ Go's runtime profiles, only with --pprof
//
// Exit codes: 0 success, 1 a runtime failure, 2 a usage error.
//
// # Usage
//
//	go build -o /tmp/memberlist-agent ./tools/cmd/memberlist-agent
//	/tmp/memberlist-agent --name a --bind 127.0.0.1:7946 --http 127.0.0.1:8946 &
//	/tmp/memberlist-agent --name b --bind 127.0.0.1:7947 --http 127.0.0.1:8947 --join 127.0.0.1:7946 &
//	curl -s 127.0.0.1:8946/v1/members
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr, nil)
	stop()
	os.Exit(code)
}

// run runs the agent until ctx ends and returns the exit code. ready, if
// not nil, is told the agent once it serves.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(*agent)) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "memberlist-agent: %v\n", err)
		return exitUsage
	}
	if err := runAgent(ctx, o, stderr, ready); err != nil {
		fmt.Fprintf(stderr, "memberlist-agent: %v\n", err)
		return exitFailure
	}
	return exitOK
}
