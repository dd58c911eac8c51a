package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestAgentWithKeyring runs an agent with --keyring: its transport seals
// (its messages leave room for the sealing) and it exits cleanly.
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
		tr := n.(*stdNode).Transport()
		if got, want := tr.MaxMessageBytes(), std.MaxMessageBytes(tr.MaxDatagramBytes(), "sealed")-std.SealOverhead; got != want {
			t.Errorf("MaxMessageBytes %d, want %d: the keyring is not in use", got, want)
		}
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
