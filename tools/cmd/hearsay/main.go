// Command hearsay runs a hearsay agent and talks to one.
//
//	hearsay agent --name NAME --bind IP:PORT [--advertise IP[:PORT]] [--join HOST:PORT[,...]]
//	              [--tag KEY=VALUE ...] [--http HOST:PORT] [--http-max-conns N] [--label L]
//	              [--preset lan|wan|local] [--keyring FILE [--keyring-plaintext refuse|accept|send]]
//	              [--log-level debug|info|warn|error] [--leave-timeout D] [--pprof]
//	hearsay members [--http HOST:PORT] [--status STATUS[,...]] [--format table|json] [--detailed]
//	hearsay monitor [--http HOST:PORT] [--format text|json] [--history]
//	hearsay tags [--http HOST:PORT] [-set KEY=VALUE ...] [-delete KEY ...]
//	hearsay keygen
//	hearsay version
//
// The agent runs one long-lived member of a cluster over UDP and serves its
// view over HTTP. SIGINT or SIGTERM makes it leave the cluster gracefully and
// exit 0. SIGHUP makes it reload its --keyring file (see Key rotation).
// members prints an agent's view like serf members; monitor prints its
// member events as they happen (/v1/events), like serf monitor, until the
// agent stops; tags changes the tags a running agent publishes, like serf
// tags; keygen prints a new key for a keyring file; version prints
// the version, the source revision and the Go release.
//
// # Names, instances and tags
//
// Each start of the agent is a new instance of its node with a fresh node
// ID (16 hex digits, random), so nothing a previous life sent can be taken
// for the running one, and its record starts at an incarnation above the
// earlier lives' (the seconds since 2020). --name is for people: it travels in the node's
// metadata together with the --tag pairs, URL-encoded with the keys in
// order (name=web-1&role=db&zone=eu-1); members, /v1/members and the live
// page show the name and the tags. The encoding must fit the preset's
// MaxMetadataBytes (512 bytes): a longer --name or more --tag bytes are a
// usage error. A tag key is ASCII letters, digits and . _ - : /; the name
// and values are UTF-8 without control characters. Metadata of nodes that
// are not agents is shown raw. Tags change at runtime with hearsay tags
// (PUT /v1/tags): the new metadata spreads like any change and every
// member reports an "update" event; the name does not change.
//
// # Addresses
//
// --bind is the IP:PORT the agent listens on. Other nodes reach it there,
// unless --advertise says otherwise (NAT, containers): then --bind may be
// the wildcard 0.0.0.0:PORT or [::]:PORT, and --advertise IP takes --bind's
// port unless it gives one.
//
// # Joining
//
// --join takes IP:PORT or HOST:PORT. A host name is resolved at every join
// attempt (every join retry interval: 1 s with the lan preset) and every
// address it resolves to is a seed, so a name that does not resolve yet (a
// Kubernetes headless service before its first pod is ready) keeps the agent
// running and retrying: the agent logs each seed it cannot use ("seed
// unusable") and joins through the others. A join that has not completed
// after three retry intervals is late: the agent logs a warning ("join not
// complete") that names each seed, the addresses tried, the attempts, what
// arrived from those addresses and why it was dropped (another key, another
// label, no keyring), and the likely cause, again at doubling intervals; and
// /healthz answers 503 with that text until the agent joins. A seed that
// drops our join requests is silent: its own hearsay_dropped_total{reason}
// says why.
//
// # Failures
//
// Exit codes: 0 success, 1 a runtime failure, 2 a usage error (bad flags,
// a value over a limit, a keyring file that fails its checks).
//
// If another instance claims the agent's address with a newer record (a
// restart elsewhere of the same node, or a forgery in an open cluster)
// after the agent's claim window, the agent's node gives the address up
// and stops. The agent then logs an ERROR line that names the conflict,
// /healthz answers 503 "stopped", and it exits 1, for a supervisor to
// restart it.
//
// # HTTP API
//
//	GET /v1/members  JSON array, one object per record the node holds, Dead and
//	                 Removed tombstones included, sorted by authority:
//	                 {"node_id","name","authority","status","incarnation","tags","meta"};
//	                 status is the lower-case name ("up", "suspect", "dead", ...),
//	                 name and tags come from the metadata (empty for a node that
//	                 is not an agent; tags is {} then), meta is the metadata as a
//	                 string. ?status=up,suspect keeps only those statuses (serf's
//	                 alive, left and failed are accepted for up, removed and
//	                 dead); an unknown status or parameter is refused with 400
//	GET /v1/self     this node's record, same shape; status "stopped" once the
//	                 node has stopped
//	GET /v1/events   Server-Sent Events, one message per change as it happens:
//	                 "member" for a member's status change (JSON: kind — join, up,
//	                 suspect, leaving, left, dead, update or conflict — from, to,
//	                 time, and the record as in /v1/members); "dropped" with the
//	                 number of events this client missed (it read too slowly);
//	                 "shutdown" when the agent stops. Last-Event-ID resumes a
//	                 stream; ?history=1 first replays the last 256 events
//	PUT /v1/tags     change this node's tags at runtime (POST too): a JSON body
//	                 {"set":{"KEY":"VALUE",...},"delete":["KEY",...]}, sent with
//	                 Content-Type: application/json (anything else is refused
//	                 with 415, so a web page of another origin cannot send it
//	                 without a CORS preflight, which the agent never allows);
//	                 answers this node's record as /v1/self does; 400 for a
//	                 change --tag would refuse or metadata over the limit
//	GET /healthz     200 "ok", or 503 with the status once this node is a
//	                 tombstone or has stopped, or 503 "joining: " and what was
//	                 tried while the join is late (see Joining)
//	GET /metrics     Prometheus text: hearsay_members{status}, messages and bytes
//	                 sent/received, hearsay_dropped_total{reason}, suspicions
//	                 raised and refuted, tick lag (total and largest),
//	                 hearsay_plaintext_received_total (see below), ...
//	GET /            a live page of the cluster (embedded): live members apart
//	                 from tombstones, the members with their tags, events as they
//	                 happen; greyed out and marked stale when the agent stops
//	                 answering
//	GET /debug/pprof/ Go's runtime profiles (net/http/pprof), only with --pprof
//
// The server closes connections idle for 30 s, requests whose headers take
// over 5 s or whose reading takes over 10 s, and responses that take over
// 10 s to write (long-lived streams excepted), and serves at most
// --http-max-conns (128) connections at once; more wait to be accepted.
//
// # Key rotation
//
// With --keyring FILE every datagram is sealed with the file's first key,
// and accepted under any of its keys. On SIGHUP the agent reads FILE again,
// with the checks made at start (readable by its owner only, one base64 key
// of 32 bytes per line), and applies it to the running keyring in an order
// that is safe at every instant: it installs the keys it does not hold yet,
// then makes the file's first key primary, then drops the keys the file no
// longer lists. A file that fails the checks is logged as an error and
// changes nothing; the agent keeps running. The log tells how many keys were
// added and removed and whether the primary changed, never the keys.
// Without --keyring, SIGHUP is logged and ignored.
//
// To replace key OLD by key NEW in a running cluster without losing a
// datagram, finish each step on every agent before starting the next:
//
//  1. Install NEW: append NEW to FILE (OLD stays first), then SIGHUP. Every
//     agent now accepts both and still sends under OLD.
//  2. Use NEW: put NEW first in FILE (OLD second), then SIGHUP. Agents send
//     under NEW as they reload; every agent accepts both meanwhile.
//  3. Remove OLD: delete OLD from FILE, then SIGHUP.
//
// Check each step in an agent's log ("keyring reloaded") on every node; a
// step skipped on one node cuts it off from the cluster (its datagrams are
// dropped and counted as hearsay_dropped_total{reason="auth"}).
//
// # Turning encryption on
//
// --keyring-plaintext (with --keyring only; default refuse) says what the
// agent does with unsealed datagrams: refuse seals everything and drops
// plain datagrams; accept seals everything and accepts plain ones too; send
// sends plain and accepts both. Under accept and send the cluster is as
// open as without a keyring. To turn encryption on in a running cluster
// that has no keyring, finish each step on every agent before the next:
//
//  1. Restart each agent, one at a time, with --keyring FILE
//     --keyring-plaintext send. It still talks plain to the others.
//  2. Restart each agent, one at a time, with --keyring-plaintext accept.
//     It seals what it sends; all agents read both.
//  3. Once hearsay_plaintext_received_total stops growing on every agent
//     (nobody sends plain any more), restart each agent, one at a time,
//     with --keyring-plaintext refuse (or without the flag).
//
// The policy is read at start only; SIGHUP reloads keys, not the policy.
//
// # Processors
//
// The agent runs Go on one processor (GOMAXPROCS 1) unless the GOMAXPROCS
// environment variable sets another number. An agent is idle almost all
// the time and wakes a few times a second (a datagram, a protocol
// deadline); with more processors each wake also woke idle threads to look
// for work, which cost more CPU than the work itself (BENCHMARKS.md, "Where
// an idle agent's CPU goes"). One processor serves the agent's HTTP API
// and gossip together without trouble.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// defaultHTTP is where the agent serves its API and where members looks for it.
const defaultHTTP = "127.0.0.1:8946"

// clientFlagSet returns the flag set of a command that talks to a running
// agent (members, monitor, tags): errors and usage go to stderr, usage
// printing the command's text and then its flags, and -http (the agent's
// address) is declared into httpAddr.
func clientFlagSet(command, usage string, stderr io.Writer, httpAddr *string) *flag.FlagSet {
	fs := flag.NewFlagSet("hearsay "+command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(httpAddr, "http", defaultHTTP, "the agent's HTTP address, HOST:PORT")
	return fs
}

func main() {
	if n := agentProcs(os.Args[1:], os.Getenv); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	reload := make(chan os.Signal, 1)
	signal.Notify(reload, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, reload)
	signal.Stop(reload)
	stop()
	os.Exit(code)
}

// agentProcs returns the GOMAXPROCS the command in args should run with,
// or 0 to leave the runtime's choice: an agent runs on one processor (see
// Processors in the package documentation) unless the GOMAXPROCS
// environment variable, read through getenv, says otherwise.
func agentProcs(args []string, getenv func(string) string) int {
	if len(args) == 0 || args[0] != "agent" || getenv("GOMAXPROCS") != "" {
		return 0
	}
	return 1
}

const usage = `usage: hearsay <command> [flags]

commands:
  agent     run one long-lived cluster member with an HTTP API
  members   print the members an agent knows
  monitor   print an agent's member events as they happen
  tags      change the tags a running agent publishes
  keygen    print a new key for a --keyring file
  version   print the version

Run "hearsay <command> -h" for the flags of a command.
`

// run executes the command in args and returns the process exit code. ctx
// ends the agent (as SIGINT/SIGTERM do); each value from reload makes it
// reload its keyring (as SIGHUP does). reload may be nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, reload <-chan os.Signal) int {
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
		if err := runAgent(ctx, opts, stdout, stderr, reload, onAgentReady); err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return usageExit(err, stderr)
			}
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
	case "monitor":
		opts, err := parseMonitorFlags(args[1:], stderr)
		if err != nil {
			return usageExit(err, stderr)
		}
		if err := runMonitor(ctx, opts, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "hearsay monitor: %v\n", err)
			return exitFailure
		}
		return exitOK
	case "tags":
		opts, err := parseTagsFlags(args[1:], stderr)
		if err != nil {
			return usageExit(err, stderr)
		}
		if err := runTags(ctx, opts, stdout); err != nil {
			fmt.Fprintf(stderr, "hearsay tags: %v\n", err)
			return exitFailure
		}
		return exitOK
	case "keygen":
		return runKeygen(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "hearsay: version takes no arguments\n")
			return exitUsage
		}
		fmt.Fprintln(stdout, versionText())
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
