package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/core"
	"github.com/hearsay-go/hearsay/std"
)

// writeKeyring writes text to a file of mode perm in a temporary directory.
func writeKeyring(t *testing.T, text string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keyring")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return path
}

func b64Key(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, std.KeySize))
}

func agentArgs(extra ...string) []string {
	return append([]string{"agent", "--name", "k", "--bind", "127.0.0.1:0", "--http", "127.0.0.1:0", "--preset", "local"}, extra...)
}

func TestKeyringFileReadableByOthersIsRefused(t *testing.T) {
	for _, perm := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602, 0o620, 0o666} {
		path := writeKeyring(t, b64Key(1)+"\n", perm)
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), agentArgs("--keyring", path), &stdout, &stderr, nil)
		if code != exitUsage {
			t.Errorf("mode %04o: exit %d, want %d; stderr: %s", perm, code, exitUsage, stderr.String())
		}
		if !strings.Contains(stderr.String(), "chmod 600") {
			t.Errorf("mode %04o: stderr %q does not say how to fix it", perm, stderr.String())
		}
	}
}

func TestKeyringFileErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing", filepath.Join(dir, "nope"), "no such file"},
		{"directory", dir, "not a regular file"},
		{"not base64", writeKeyring(t, "not base64!\n", 0o600), "not base64"},
		{"short key", writeKeyring(t, base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))+"\n", 0o600), "want 32"},
		{"empty", writeKeyring(t, "# no keys yet\n", 0o600), "no key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), agentArgs("--keyring", tt.path), &stdout, &stderr, nil)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestParseAgentFlagsKeyring(t *testing.T) {
	path := writeKeyring(t, "# primary first\n"+b64Key(1)+"\n"+b64Key(2)+"\n", 0o600)
	var stderr bytes.Buffer
	o, err := parseAgentFlags(agentArgs("--keyring", path)[1:], &stderr)
	if err != nil {
		t.Fatalf("parseAgentFlags: %v (%s)", err, stderr.String())
	}
	keys := o.keyring.Keys()
	if len(keys) != 2 || keys[0][0] != 1 || keys[1][0] != 2 {
		t.Errorf("keys %v, want the file's two keys, the first primary", keys)
	}
	o, err = parseAgentFlags(agentArgs()[1:], &stderr)
	if err != nil || o.keyring != nil {
		t.Errorf("without --keyring: keyring %v, err %v", o.keyring, err)
	}
}

func TestParseAgentFlagsKeyringPlaintext(t *testing.T) {
	path := writeKeyring(t, b64Key(1)+"\n", 0o600)
	tests := []struct {
		args []string
		want std.PlaintextPolicy
	}{
		{nil, std.PlaintextRefused},
		{[]string{"--keyring-plaintext", "refuse"}, std.PlaintextRefused},
		{[]string{"--keyring-plaintext", "accept"}, std.PlaintextAccepted},
		{[]string{"--keyring-plaintext=send"}, std.PlaintextSent},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		o, err := parseAgentFlags(agentArgs(append([]string{"--keyring", path}, tt.args...)...)[1:], &stderr)
		if err != nil {
			t.Errorf("%q: %v (%s)", tt.args, err, stderr.String())
			continue
		}
		if got := o.keyring.PlaintextPolicy(); got != tt.want {
			t.Errorf("%q: keyring policy %v, want %v", tt.args, got, tt.want)
		}
	}
	var stderr bytes.Buffer
	for _, bad := range []string{"", "Accept", "sent", "refused"} {
		_, err := parseAgentFlags(agentArgs("--keyring", path, "--keyring-plaintext", bad)[1:], &stderr)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "refuse, accept or send") {
			t.Errorf("--keyring-plaintext %q: err %v, want a usage error naming the values", bad, err)
		}
	}
}

// TestAgentWithKeyring runs an agent with --keyring: its transport refuses
// a datagram that is not sealed (counted as unauthenticated, not decoded)
// and it exits cleanly.
func TestAgentWithKeyring(t *testing.T) {
	path := writeKeyring(t, b64Key(1)+"\n", 0o400)
	ready := make(chan agentNode, 1)
	onAgentReady = func(n agentNode, _ string) { ready <- n }
	t.Cleanup(func() { onAgentReady = nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stdout bytes.Buffer
	stderr := &syncBuffer{}
	go func() { done <- run(ctx, agentArgs("--keyring", path, "--label", "sealed"), &stdout, stderr, nil) }()
	select {
	case n := <-ready:
		node := n.(*stdNode)
		conn, err := net.Dial("udp", node.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte("hs\x01\x06sealed not sealed")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the plain datagram is dropped as unauthenticated", 30*time.Second, func() (bool, string) {
			s := node.Stats().Transport
			return s.DroppedAuth == 1 && s.DroppedDecodeError == 0, fmt.Sprintf("%+v", s)
		})
	case code := <-done:
		t.Fatalf("agent exited %d: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("agent not ready")
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}

// TestAgentKeyringPlaintextSend runs an agent with --keyring-plaintext send
// and a node without a keyring joining it: the two talk (step 1 of turning
// encryption on), and the agent's /metrics counts the plain datagrams.
func TestAgentKeyringPlaintextSend(t *testing.T) {
	path := writeKeyring(t, b64Key(1)+"\n", 0o600)
	type up struct{ gossip, http string }
	ready := make(chan up, 1)
	onAgentReady = func(n agentNode, httpAddr string) { ready <- up{n.LocalNode().Authority, httpAddr} }
	t.Cleanup(func() { onAgentReady = nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	stderr := &syncBuffer{}
	go func() {
		done <- run(ctx, agentArgs("--keyring", path, "--keyring-plaintext", "send", "--label", "mixed"), &bytes.Buffer{}, stderr, nil)
	}()
	var a up
	select {
	case a = <-ready:
	case code := <-done:
		t.Fatalf("agent exited %d: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("agent not ready")
	}
	if !strings.Contains(stderr.String(), "keyring_plaintext=sent") {
		t.Errorf("the agent did not warn that plaintext is accepted: %s", stderr.String())
	}

	startCtx, startCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer startCancel()
	cfg := std.DefaultConfig()
	cfg.Core = core.DefaultLocalConfig()
	cfg.Core.NodeID = "plain"
	cfg.Transport.BindAddr = "127.0.0.1:0"
	cfg.Transport.Label = "mixed"
	cfg.Seeds = []string{a.gossip}
	plain, err := std.Start(startCtx, cfg)
	if err != nil {
		t.Fatalf("start the plain node: %v", err)
	}
	defer plain.Close()
	waitFor(t, "the agent and the plain node see each other Up", 30*time.Second, func() (bool, string) {
		view, body := statuses(t, &testAgent{http: a.http})
		upThere := false
		for _, m := range plain.Members() {
			upThere = upThere || (m.Authority == a.gossip && m.Status == core.StatusUp)
		}
		return view[plain.Addr()] == "up" && upThere, body
	})
	waitFor(t, "plaintext counted in /metrics", 30*time.Second, func() (bool, string) {
		_, _, metrics := get(t, "http://"+a.http, "/metrics")
		return strings.Contains(metrics, "hearsay_plaintext_received_total ") &&
			!strings.Contains(metrics, "hearsay_plaintext_received_total 0\n"), metrics
	})
	if s := plain.Stats().Transport; s.DroppedDecodeError != 0 {
		t.Errorf("the plain node could not decode %d datagrams of the agent", s.DroppedDecodeError)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}
