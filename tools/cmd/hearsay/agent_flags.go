package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// agentOptions is the agent's command line.
type agentOptions struct {
	name string
	// tags are the --tag pairs; meta is what the node publishes: the name
	// and the tags (see nodemeta.go).
	tags tagFlag
	meta []byte
	// bind is the UDP address to listen on; advertise the address others
	// reach this node at ("" when it is bind).
	bind, advertise string
	join            []string
	http            string
	label           string
	preset          string
	logLevel        slog.Level
	// keyringFile is --keyring; keyring holds its keys (nil without one)
	// and, as its PlaintextPolicy, --keyring-plaintext.
	keyringFile string
	keyring     *std.Keyring
	// leaveTimeout bounds the graceful leave on SIGINT/SIGTERM.
	leaveTimeout time.Duration
	// httpLimits bounds the HTTP server's connections (--http-max-conns;
	// the timeouts are fixed, tests shorten them).
	httpLimits httpLimits
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

// logLevels maps --log-level to slog's levels.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
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

// agentUsage is the agent's -h, above the flags.
const agentUsage = `usage: hearsay agent --name NAME --bind IP:PORT [--advertise IP[:PORT]] [--join HOST:PORT[,...]]
                    [--tag KEY=VALUE ...] [--http HOST:PORT] [--label L] [--preset lan|wan|local]
                    [--keyring FILE [--keyring-plaintext refuse|accept|send]] [--log-level LEVEL]

Runs one long-lived cluster member over UDP and serves its view over HTTP.
Each start is a new instance with a fresh node ID; --name is for people.

Limits (a command line over them is refused with exit status 2):
  --name and the --tag pairs travel in the node's metadata, URL-encoded
  (name=NAME&KEY=VALUE...): at most %d bytes together. A tag key is ASCII
  letters, digits and . _ - : /; names and values are UTF-8 without control
  characters. --label is at most %d bytes. The HTTP API serves at most
  --http-max-conns connections at once.

Flags:
`

func parseAgentFlags(args []string, stderr io.Writer) (agentOptions, error) {
	o := agentOptions{tags: tagFlag{}, httpLimits: defaultHTTPLimits}
	var join joinList
	fs := flag.NewFlagSet("hearsay agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, agentUsage, maxMetaBytes(), std.MaxLabelBytes)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.name, "name", "", "this node's name, for people: shown by members and the live page (required)")
	fs.StringVar(&o.bind, "bind", "", "UDP address to gossip on, IP:PORT (required; port 0 picks one; 0.0.0.0 or [::] needs --advertise)")
	fs.StringVar(&o.advertise, "advertise", "", "address other nodes reach this one at, IP[:PORT] (NAT, containers; the port defaults to --bind's); default --bind")
	fs.Var(&join, "join", "seeds to join, HOST:PORT[,HOST:PORT...] (repeatable; none starts a new cluster); names are resolved at every attempt, all their addresses are seeds")
	fs.Var(o.tags, "tag", "KEY=VALUE published with this node (repeatable); shown by members and the live page")
	fs.StringVar(&o.http, "http", defaultHTTP, "TCP address of the HTTP API, HOST:PORT")
	fs.IntVar(&o.httpLimits.MaxConns, "http-max-conns", defaultHTTPLimits.MaxConns, "most HTTP connections served at once; more wait to be accepted")
	fs.StringVar(&o.label, "label", "", "cluster label; nodes with another label ignore this one")
	fs.StringVar(&o.preset, "preset", "lan", "timing preset: lan, wan or local")
	fs.StringVar(&o.keyringFile, "keyring", "", keyringHelp)
	plaintext := fs.String("keyring-plaintext", "refuse", plaintextHelp)
	fs.DurationVar(&o.leaveTimeout, "leave-timeout", 5*time.Second, "how long a graceful leave may take on SIGINT/SIGTERM")
	fs.BoolVar(&o.pprof, "pprof", false, "debugging: serve Go profiles under /debug/pprof/ on the HTTP API (go tool pprof)")
	level := fs.String("log-level", "info", "least severe log level written: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.join = join
	var ok bool
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
	case o.httpLimits.MaxConns < 1:
		return o, usagef("agent: --http-max-conns must be >= 1, got %d", o.httpLimits.MaxConns)
	case len(o.label) > std.MaxLabelBytes:
		return o, usagef("agent: --label is %d bytes, over the limit of %d", len(o.label), std.MaxLabelBytes)
	}
	if o.logLevel, ok = logLevels[*level]; !ok {
		return o, usagef("agent: --log-level must be debug, info, warn or error, got %q", *level)
	}
	if err := checkText("--name", o.name); err != nil {
		return o, usagef("agent: %v", err)
	}
	o.meta = encodeNodeMeta(o.name, o.tags)
	if limit := presets[o.preset]().MaxMetadataBytes; len(o.meta) > limit {
		return o, usagef("agent: --name and --tag take %d bytes of metadata (URL-encoded), over the limit of %d", len(o.meta), limit)
	}
	if err := checkBind(o.bind, o.advertise != ""); err != nil {
		return o, err
	}
	if o.advertise != "" {
		adv, err := advertiseAddr(o.advertise, o.bind)
		if err != nil {
			return o, err
		}
		o.advertise = adv
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

// maxMetaBytes is the smallest metadata bound of the presets (they share
// it), for the help.
func maxMetaBytes() int {
	limit := 0
	for _, p := range presets {
		if n := p().MaxMetadataBytes; limit == 0 || n < limit {
			limit = n
		}
	}
	return limit
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

// checkBind checks --bind: an IP literal. Unless the node advertises
// another address, it is also the address others reach, so it must not be
// a wildcard.
func checkBind(v string, advertised bool) error {
	if err := checkHostPort("--bind", v); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(v)
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return usagef("--bind %q: the host must be an IP address", v)
	case ip.IsUnspecified() && !advertised:
		return usagef("--bind %q: other nodes cannot reach %s; bind to their address, or give --advertise", v, host)
	}
	return nil
}

// advertiseAddr checks --advertise (IP or IP:PORT) and returns it as
// IP:PORT, the port taken from bind when it has none.
func advertiseAddr(adv, bind string) (string, error) {
	if ap, err := netip.ParseAddrPort(adv); err == nil {
		switch {
		case ap.Addr().IsUnspecified():
			return "", usagef("--advertise %q: other nodes cannot reach %s", adv, ap.Addr())
		case ap.Port() == 0:
			return "", usagef("--advertise %q: the port must not be 0", adv)
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String(), nil
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(adv, "["), "]"))
	if err != nil {
		return "", usagef("--advertise %q: want IP or IP:PORT", adv)
	}
	if ip.IsUnspecified() {
		return "", usagef("--advertise %q: other nodes cannot reach %s", adv, ip)
	}
	_, port, _ := net.SplitHostPort(bind)
	if port == "0" {
		return "", usagef("--advertise %q has no port and --bind %q picks one at random: give --advertise a port", adv, bind)
	}
	return net.JoinHostPort(ip.Unmap().String(), port), nil
}
