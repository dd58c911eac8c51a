package main

import (
	"bytes"
	"context"
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
		{"bind unspecified", []string{"agent", "--name", "a", "--bind", "0.0.0.0:7946"}, "not 0.0.0.0"},
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
		{"members bad http", []string{"members", "--http", "nowhere"}, `--http "nowhere"`},
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
	for _, args := range [][]string{{"help"}, {"agent", "-h"}, {"members", "--help"}} {
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
