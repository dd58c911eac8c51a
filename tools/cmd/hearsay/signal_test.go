package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// agentProcess is the agent run as a process: this test binary as the
// hearsay command.
type agentProcess struct {
	cmd   *exec.Cmd
	lines chan string // its log, closed at its exit
	log   []string    // the lines read so far
	http  string      // where it serves
}

// startAgentProcess starts the agent with args and reads its log until it
// says where it serves.
func startAgentProcess(ctx context.Context, t *testing.T, args ...string) *agentProcess {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"agent"}, args...)...)
	cmd.Env = append(os.Environ(), "HEARSAY_TEST_RUN_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &agentProcess{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	m := p.waitLine(ctx, t, regexp.MustCompile(`msg="agent started".* http=(\S+)`))
	p.http = m[1]
	return p
}

// waitLine reads the log until a line matches re and returns the match.
func (p *agentProcess) waitLine(ctx context.Context, t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("agent exited before logging %q:\n%s", re, strings.Join(p.log, "\n"))
			}
			p.log = append(p.log, l)
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case <-ctx.Done():
			t.Fatalf("agent did not log %q:\n%s", re, strings.Join(p.log, "\n"))
		}
	}
}

// stop signals the agent with sig and checks that it leaves and exits 0.
func (p *agentProcess) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	for l := range p.lines {
		p.log = append(p.log, l)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("agent after %v: %v\n%s", sig, err, strings.Join(p.log, "\n"))
	}
	text := strings.Join(p.log, "\n")
	for _, want := range []string{"signal received, leaving the cluster", "agent stopped"} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}
}

// TestSignals runs the agent as a process and checks that SIGTERM and SIGINT
// make it leave and exit 0.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			p := startAgentProcess(ctx, t, "--name", "solo", "--bind", "127.0.0.1:0",
				"--http", "127.0.0.1:0", "--preset", "local", "--leave-timeout", "1s")
			if code, _, body := get(t, "http://"+p.http, "/healthz"); code != 200 {
				t.Fatalf("GET /healthz = %d %q", code, body)
			}
			p.stop(t, sig)
		})
	}
}

// TestSIGHUP checks that SIGHUP reloads the keyring file, and neither kills
// nor changes an agent without one.
func TestSIGHUP(t *testing.T) {
	args := []string{"--name", "solo", "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--preset", "local", "--leave-timeout", "1s"}

	t.Run("no keyring", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p := startAgentProcess(ctx, t, args...)
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		p.waitLine(ctx, t, regexp.MustCompile(`level=WARN msg="reload requested, but there is no keyring to reload`))
		if code, _, body := get(t, "http://"+p.http, "/healthz"); code != 200 {
			t.Fatalf("GET /healthz after SIGHUP = %d %q", code, body)
		}
		p.stop(t, syscall.SIGTERM)
	})

	t.Run("keyring", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		path := writeKeyring(t, keyringText(1), 0o600)
		p := startAgentProcess(ctx, t, append(args, "--keyring", path)...)
		if err := os.WriteFile(path, []byte(keyringText(2, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		p.waitLine(ctx, t, regexp.MustCompile(`level=INFO msg="keyring reloaded" .* added=1 removed=0 keys=2 primary="new key"`))
		if code, _, body := get(t, "http://"+p.http, "/healthz"); code != 200 {
			t.Fatalf("GET /healthz after SIGHUP = %d %q", code, body)
		}
		p.stop(t, syscall.SIGTERM)
	})
}
