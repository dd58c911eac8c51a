package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// agentOptions is the agent's command line.
type agentOptions struct {
	name   string
	bind   string
	join   []string
	http   string
	label  string
	preset string
	meta   string
	// keyringFile is --keyring; keyring holds its keys (nil without one)
	// and, as its PlaintextPolicy, --keyring-plaintext.
	keyringFile string
	keyring     *std.Keyring
	// leaveTimeout bounds the graceful leave on SIGINT/SIGTERM.
	leaveTimeout time.Duration
	// pprof serves net/http/pprof under /debug/pprof/ (debugging only).
	pprof bool
}

// presets maps --preset to core's timing presets.
var presets = map[string]func() core.Config{
	"lan":   core.DefaultLANConfig,
	"wan":   core.DefaultWANConfig,
	"local": core.DefaultLocalConfig,
}

// plaintextPolicies maps --keyring-plaintext to the keyring's policy.
var plaintextPolicies = map[string]std.PlaintextPolicy{
	"refuse": std.PlaintextRefused,
	"accept": std.PlaintextAccepted,
	"send":   std.PlaintextSent,
}

// joinList is a repeatable, comma-separated --join.
type joinList []string

func (j *joinList) String() string { return strings.Join(*j, ",") }

func (j *joinList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*j = append(*j, s)
		}
	}
	return nil
}

func parseAgentFlags(args []string, stderr io.Writer) (agentOptions, error) {
	o := agentOptions{}
	var join joinList
	fs := flag.NewFlagSet("hearsay agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hearsay agent --name N --bind HOST:PORT [--join HOST:PORT[,...]] [--http HOST:PORT] [--label L] [--preset lan|wan|local] [--keyring FILE [--keyring-plaintext refuse|accept|send]]")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.name, "name", "", "this node's name, unique in the cluster (required)")
	fs.StringVar(&o.bind, "bind", "", "UDP address to gossip on and advertise, HOST:PORT (required; port 0 picks one)")
	fs.Var(&join, "join", "seed addresses to join, HOST:PORT[,HOST:PORT...] (repeatable; none starts a new cluster)")
	fs.StringVar(&o.http, "http", defaultHTTP, "TCP address of the HTTP API, HOST:PORT")
	fs.StringVar(&o.label, "label", "", "cluster label; nodes with another label ignore this one")
	fs.StringVar(&o.preset, "preset", "lan", "timing preset: lan, wan or local")
	fs.StringVar(&o.meta, "meta", "", "metadata this node publishes with its record")
	fs.StringVar(&o.keyringFile, "keyring", "", keyringHelp)
	plaintext := fs.String("keyring-plaintext", "refuse", plaintextHelp)
	fs.DurationVar(&o.leaveTimeout, "leave-timeout", 5*time.Second, "how long a graceful leave may take on SIGINT/SIGTERM")
	fs.BoolVar(&o.pprof, "pprof", false, "debugging: serve Go profiles under /debug/pprof/ on the HTTP API (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.join = join
	switch {
	case fs.NArg() > 0:
		return o, usagef("agent: unexpected argument %q", fs.Arg(0))
	case o.name == "":
		return o, usagef("agent: --name is required")
	case o.bind == "":
		return o, usagef("agent: --bind is required")
	case presets[o.preset] == nil:
		return o, usagef("agent: --preset must be lan, wan or local, got %q", o.preset)
	case o.leaveTimeout <= 0:
		return o, usagef("agent: --leave-timeout must be > 0, got %v", o.leaveTimeout)
	}
	if err := checkBind(o.bind); err != nil {
		return o, err
	}
	if err := checkHostPort("--http", o.http); err != nil {
		return o, err
	}
	for _, s := range o.join {
		if err := checkHostPort("--join", s); err != nil {
			return o, err
		}
	}
	policy, ok := plaintextPolicies[*plaintext]
	if !ok {
		return o, usagef("agent: --keyring-plaintext must be refuse, accept or send, got %q", *plaintext)
	}
	if o.keyringFile == "" {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "keyring-plaintext" })
		if set {
			return o, usagef("agent: --keyring-plaintext needs --keyring")
		}
		return o, nil
	}
	k, err := loadKeyring(o.keyringFile)
	if err != nil {
		return o, err
	}
	if err := k.SetPlaintextPolicy(policy); err != nil {
		return o, usagef("agent: --keyring-plaintext: %v", err)
	}
	o.keyring = k
	return o, nil
}

// checkHostPort checks that v is HOST:PORT with a non-empty host and a
// numeric port.
func checkHostPort(flagName, v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return usagef("%s %q: want HOST:PORT: %v", flagName, v, err)
	}
	if host == "" {
		return usagef("%s %q: the host is empty", flagName, v)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && flagName == "--join") {
		return usagef("%s %q: bad port %q", flagName, v, port)
	}
	return nil
}

// checkBind checks --bind: an IP literal that others can reach, since the
// bind address is also the advertised authority.
func checkBind(v string) error {
	if err := checkHostPort("--bind", v); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(v)
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return usagef("--bind %q: the host must be an IP address", v)
	case ip.IsUnspecified():
		return usagef("--bind %q: bind to the address other nodes should reach, not %s", v, host)
	}
	return nil
}

// reloadKeyring applies the --keyring file to the running keyring and logs
// what changed; a bad file is logged and changes nothing.
func (o agentOptions) reloadKeyring(logger *slog.Logger) {
	if o.keyring == nil {
		logger.Warn("reload requested, but there is no keyring to reload (no --keyring)")
		return
	}
	ch, err := reloadKeyring(o.keyring, o.keyringFile)
	if err != nil {
		// A bad file fails before any change; the counts are for a failure
		// applying a good one, which only a concurrent change could cause.
		logger.Error("keyring reload failed", "file", o.keyringFile, "err", err, "added", ch.Added, "removed", ch.Removed)
		return
	}
	primary := "unchanged"
	switch {
	case ch.PrimaryWas < 0:
		primary = "new key"
	case ch.PrimaryWas > 0:
		primary = fmt.Sprintf("installed key %d", ch.PrimaryWas+1)
	}
	logger.Info("keyring reloaded", "file", o.keyringFile, "added", ch.Added, "removed", ch.Removed,
		"keys", ch.Keys, "primary", primary)
}

// agentNode is the running member the agent serves.
type agentNode interface {
	Source
	// Leave gossips a graceful leave, bounded by ctx.
	Leave(ctx context.Context) error
	// Close stops the node; every goroutine has exited when it returns.
	Close() error
}

// runAgent runs one member until ctx ends, then leaves gracefully. Each value
// from reload (nil: none) reloads the keyring file. ready, if not nil, is
// called with the node and the HTTP address once both serve.
func runAgent(ctx context.Context, o agentOptions, stdout, stderr io.Writer, reload <-chan os.Signal,
	ready func(n agentNode, httpAddr string)) (err error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	node, err := startNode(ctx, o, logger)
	if err != nil {
		ln.Close()
		return err
	}
	self := node.LocalNode()
	logger.Info("agent started", "node", self.NodeID, "authority", self.Authority,
		"http", ln.Addr().String(), "preset", o.preset, "seeds", strings.Join(o.join, ","))
	if o.keyring != nil && o.keyring.PlaintextPolicy() != std.PlaintextRefused {
		logger.Warn("keyring set, but plain datagrams are accepted: the cluster is as open as without a keyring until --keyring-plaintext refuse",
			"keyring_plaintext", o.keyring.PlaintextPolicy().String())
	}

	handler := newHandler(node, logger)
	if o.pprof {
		handler = withPprof(handler)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	if es, ok := node.(eventStreamer); ok {
		srv.RegisterOnShutdown(es.eventStream().Close) // /v1/events streams never go idle
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if ready != nil {
		ready(node, ln.Addr().String())
	}

wait:
	for {
		select {
		case <-ctx.Done():
			logger.Info("signal received, leaving the cluster")
			break wait
		case err = <-served:
			err = fmt.Errorf("http: %w", err)
			break wait
		case <-reload:
			o.reloadKeyring(logger)
		}
	}

	leaveCtx, cancel := context.WithTimeout(context.Background(), o.leaveTimeout)
	defer cancel()
	if lerr := node.Leave(leaveCtx); lerr != nil {
		logger.Warn("graceful leave incomplete", "err", lerr)
	} else {
		logger.Info("left the cluster")
	}
	if serr := srv.Shutdown(leaveCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		srv.Close()
	}
	if err == nil {
		<-served // Serve returns ErrServerClosed once Shutdown began.
	}
	if cerr := node.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close: %w", cerr))
	}
	logger.Info("agent stopped")
	return err
}
