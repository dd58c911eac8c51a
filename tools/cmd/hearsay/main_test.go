package main

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// TestSignals runs this test binary as the hearsay command.
	if os.Getenv("HEARSAY_TEST_RUN_MAIN") == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no command", nil, "usage: hearsay"},
		{"unknown command", []string{"serve"}, `unknown command "serve"`},
		{"unknown flag", []string{"agent", "--name", "a", "--bind", "127.0.0.1:0", "--bogus"}, "flag provided but not defined: -bogus"},
		{"missing name", []string{"agent", "--bind", "127.0.0.1:7946"}, "--name is required"},
		{"missing bind", []string{"agent", "--name", "a"}, "--bind is required"},
		{"bind without port", []string{"agent", "--name", "a", "--bind", "127.0.0.1"}, `--bind "127.0.0.1": want HOST:PORT`},
		{"bind hostname", []string{"agent", "--name", "a", "--bind", "localhost:7946"}, "must be an IP address"},
		{"bind unspecified", []string{"agent", "--name", "a", "--bind", "0.0.0.0:7946"}, "other nodes cannot reach 0.0.0.0; bind to their address, or give --advertise"},
		{"bind unspecified v6", []string{"agent", "--name", "a", "--bind", "[::]:7946"}, "give --advertise"},
		{"advertise unspecified", []string{"agent", "--name", "a", "--bind", "0.0.0.0:7946", "--advertise", "0.0.0.0:7946"}, "other nodes cannot reach 0.0.0.0"},
		{"advertise hostname", []string{"agent", "--name", "a", "--bind", "0.0.0.0:7946", "--advertise", "example.com:7946"}, "want IP or IP:PORT"},
		{"advertise port 0", []string{"agent", "--name", "a", "--bind", "0.0.0.0:7946", "--advertise", "127.0.0.2:0"}, "the port must not be 0"},
		{"advertise no port, random bind port", []string{"agent", "--name", "a", "--bind", "0.0.0.0:0", "--advertise", "127.0.0.2"}, "give --advertise a port"},
		{"bind bad port", []string{"agent", "--name", "a", "--bind", "127.0.0.1:99999"}, `bad port "99999"`},
		{"join bad", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--join", "127.0.0.1:7947,nope"}, `--join "nope"`},
		{"join port 0", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--join", "127.0.0.1:0"}, `bad port "0"`},
		{"http empty host", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--http", ":8080"}, "the host is empty"},
		{"bad preset", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--preset", "moon"}, "--preset must be lan, wan or local"},
		{"stray argument", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "extra"}, `unexpected argument "extra"`},
		{"bad duration", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--leave-timeout", "soon"}, "invalid value"},
		{"plaintext without keyring", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--keyring-plaintext", "accept"}, "--keyring-plaintext needs --keyring"},
		{"plaintext refuse without keyring", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--keyring-plaintext", "refuse"}, "--keyring-plaintext needs --keyring"},
		{"plaintext bad value", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--keyring-plaintext", "maybe"}, "--keyring-plaintext must be refuse, accept or send"},
		{"tag without value", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--tag", "role"}, `want key=value, got "role"`},
		{"tag reserved key", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--tag", "name=b"}, `the key "name" is reserved for --name`},
		{"tag bad key", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--tag", "ro le=x"}, "only ASCII letters, digits"},
		{"tag twice", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--tag", "r=1", "--tag", "r=2"}, `tag "r" given twice`},
		{"tag control character", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--tag", "r=\x1b[31m"}, "control character U+001B"},
		{"name control character", []string{"agent", "--name", "a\x1b[2J", "--bind", "127.0.0.1:7946"}, "control character U+001B"},
		{"name bidi override", []string{"agent", "--name", "a\u202eb", "--bind", "127.0.0.1:7946"}, "control character U+202E"},
		{"name not UTF-8", []string{"agent", "--name", "a\xff", "--bind", "127.0.0.1:7946"}, "not valid UTF-8"},
		{"metadata over the limit", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--tag", "blob=" + strings.Repeat("x", 600)},
			"--name and --tag take 612 bytes of metadata (URL-encoded), over the limit of 512"},
		{"name over the limit", []string{"agent", "--name", strings.Repeat("n", 10000), "--bind", "127.0.0.1:7946"},
			"--name and --tag take 10005 bytes of metadata (URL-encoded), over the limit of 512"},
		{"label over the limit", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--label", strings.Repeat("l", 256)},
			"--label is 256 bytes, over the limit of 255"},
		{"bad log level", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--log-level", "loud"}, "--log-level must be debug, info, warn or error"},
		{"http max conns 0", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--http-max-conns", "0"}, "--http-max-conns must be >= 1"},
		{"meta is gone", []string{"agent", "--name", "a", "--bind", "127.0.0.1:7946", "--meta", "x"}, "flag provided but not defined: -meta"},
		{"members bad http", []string{"members", "--http", "nowhere"}, `--http "nowhere"`},
		{"members unknown status", []string{"members", "--status", "alive,gone"}, `--status: unknown status "gone"`},
		{"members bad format", []string{"members", "--format", "xml"}, "--format must be table or json"},
		{"keygen argument", []string{"keygen", "x"}, `unexpected argument "x"`},
		{"monitor bad format", []string{"monitor", "--format", "xml"}, "--format must be text or json"},
		{"monitor stray", []string{"monitor", "x"}, `unexpected argument "x"`},
		{"monitor bad http", []string{"monitor", "--http", "nowhere"}, `--http "nowhere"`},
		{"version argument", []string{"version", "x"}, "version takes no arguments"},
		{"members stray", []string{"members", "x"}, `unexpected argument "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr, nil)
			if code != exitUsage {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tt.args, code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tt.args, stderr.String(), tt.want)
			}
		})
	}
}

func TestHelpExits0(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"agent", "-h"}, {"members", "--help"}, {"keygen", "-h"}, {"monitor", "-h"}, {"version"}, {"--version"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr, nil); code != exitOK {
			t.Errorf("run(%q) = %d, want 0", args, code)
		}
		if stdout.Len()+stderr.Len() == 0 {
			t.Errorf("run(%q) printed nothing", args)
		}
	}
}

func TestParseAgentFlags(t *testing.T) {
	var stderr bytes.Buffer
	o, err := parseAgentFlags([]string{"--name", "n1", "--bind", "198.18.0.1:7946",
		"--join", "198.18.0.2:7946, 198.18.0.3:7946", "--join", "198.18.0.4:7946",
		"--http", "198.18.0.1:8946", "--label", "prod", "--preset", "local"}, &stderr)
	if err != nil {
		t.Fatalf("parseAgentFlags: %v (%s)", err, stderr.String())
	}
	want := []string{"198.18.0.2:7946", "198.18.0.3:7946", "198.18.0.4:7946"}
	if strings.Join(o.join, " ") != strings.Join(want, " ") {
		t.Errorf("join = %q, want %q", o.join, want)
	}
	if o.name != "n1" || o.bind != "198.18.0.1:7946" || o.http != "198.18.0.1:8946" || o.label != "prod" || o.preset != "local" {
		t.Errorf("options = %+v", o)
	}
}

func TestParseAgentFlagsAdvertiseAndTags(t *testing.T) {
	for _, tt := range []struct {
		args          []string
		wantAdvertise string
	}{
		{[]string{"--bind", "0.0.0.0:7946", "--advertise", "198.18.0.9"}, "198.18.0.9:7946"},
		{[]string{"--bind", "0.0.0.0:0", "--advertise", "198.18.0.9:17946"}, "198.18.0.9:17946"},
		{[]string{"--bind", "[::]:7946", "--advertise", "[2001:db8::1]"}, "[2001:db8::1]:7946"},
		{[]string{"--bind", "198.18.0.1:7946"}, ""},
	} {
		var stderr bytes.Buffer
		args := append([]string{"--name", "web 1", "--tag", "role=db", "--tag", "zone=eu/west 1", "--log-level", "debug"}, tt.args...)
		o, err := parseAgentFlags(args, &stderr)
		if err != nil {
			t.Fatalf("parseAgentFlags(%q): %v (%s)", args, err, stderr.String())
		}
		if o.advertise != tt.wantAdvertise {
			t.Errorf("parseAgentFlags(%q): advertise %q, want %q", args, o.advertise, tt.wantAdvertise)
		}
		if got, want := string(o.meta), "name=web+1&role=db&zone=eu%2Fwest+1"; got != want {
			t.Errorf("metadata %q, want %q", got, want)
		}
		if o.logLevel != slog.LevelDebug {
			t.Errorf("log level %v, want debug", o.logLevel)
		}
	}
}

func TestNodeMetaRoundTrip(t *testing.T) {
	tags := map[string]string{"role": "db", "zone": "eu/west 1", "empty": "", "app.example.com/tier": "a=b&c"}
	meta := encodeNodeMeta("web 1 ☃", tags)
	name, got, ok := decodeNodeMeta(meta)
	if !ok || name != "web 1 ☃" || !maps.Equal(got, tags) {
		t.Fatalf("decodeNodeMeta(%q) = %q, %v, %v; want the name and %v", meta, name, got, ok, tags)
	}
	for _, raw := range []string{"free form", "a=1&a=2", "%zz", "k=\xff", "bad key=1"} {
		if name, tags, ok := decodeNodeMeta([]byte(raw)); ok || name != "" || len(tags) != 0 || tags == nil {
			t.Errorf("decodeNodeMeta(%q) = %q, %v, %v; want another format: no name, no tags", raw, name, tags, ok)
		}
	}
	if name, tags, ok := decodeNodeMeta(nil); !ok || name != "" || len(tags) != 0 {
		t.Errorf("decodeNodeMeta(nil) = %q, %v, %v; want empty and ok", name, tags, ok)
	}
}

// TestAgentHelpStatesLimits checks that agent -h says every limit a
// command line is checked against.
func TestAgentHelpStatesLimits(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"agent", "-h"}, &stdout, &stderr, nil); code != exitOK {
		t.Fatalf("agent -h = %d", code)
	}
	help := stdout.String() + stderr.String()
	for _, want := range []string{
		"at most 512 bytes together", "--label is at most 255 bytes", "A tag key is ASCII",
		"without control\n  characters", "--http-max-conns connections at once",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("agent -h does not say %q:\n%s", want, help)
		}
	}
}

// TestAgentLogLevel runs an agent with --log-level warn, which writes no
// INFO or DEBUG line, and one with debug, which writes both.
func TestAgentLogLevel(t *testing.T) {
	a := startAgent(t, "quiet", "--bind", "127.0.0.1:0", "--log-level", "warn")
	if code := a.stop(t); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	log := a.stderr.String()
	if strings.Contains(log, "level=INFO") || strings.Contains(log, "level=DEBUG") {
		t.Errorf("--log-level warn wrote INFO or DEBUG lines:\n%s", log)
	}
	b := startAgent(t, "loud", "--bind", "127.0.0.1:0", "--log-level", "debug")
	if code := b.stop(t); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if log := b.stderr.String(); !strings.Contains(log, "level=DEBUG") || !strings.Contains(log, `level=INFO msg="agent started"`) {
		t.Errorf("--log-level debug wrote no DEBUG line, or not the INFO ones:\n%s", log)
	}
}

// TestAgentProcs: the agent runs on one processor unless the GOMAXPROCS
// environment variable chooses; the other commands keep the runtime's
// choice.
func TestAgentProcs(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMAXPROCS" {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name string
		args []string
		env  string
		want int
	}{
		{"agent", []string{"agent", "--name", "a"}, "", 1},
		{"agent with GOMAXPROCS set", []string{"agent"}, "4", 0},
		{"members", []string{"members"}, "", 0},
		{"no command", nil, "", 0},
	}
	for _, tt := range tests {
		if got := agentProcs(tt.args, env(tt.env)); got != tt.want {
			t.Errorf("%s: agentProcs = %d, want %d", tt.name, got, tt.want)
		}
	}
}
