package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"runtime"
	"strings"
	"testing"

	"github.com/hearsay-go/hearsay/std"
)

// TestKeygen checks that keygen prints a new key each time, in the form a
// keyring file takes.
func TestKeygen(t *testing.T) {
	keys := map[string]bool{}
	for range 3 {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"keygen"}, &stdout, &stderr, nil); code != exitOK {
			t.Fatalf("keygen = %d: %s", code, stderr.String())
		}
		line, ok := strings.CutSuffix(stdout.String(), "\n")
		if !ok || strings.Contains(line, "\n") {
			t.Fatalf("keygen printed %q, want one line", stdout.String())
		}
		key, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(key) != std.KeySize {
			t.Fatalf("keygen printed %q: %d bytes, err %v; want %d bytes of base64", line, len(key), err, std.KeySize)
		}
		if keys[line] {
			t.Fatalf("keygen printed %q twice", line)
		}
		keys[line] = true
	}
	// What keygen prints is a keyring file the agent accepts.
	var text string
	for k := range keys {
		text += k + "\n"
	}
	k, err := loadKeyring(writeKeyring(t, text, 0o600))
	if err != nil {
		t.Fatalf("a keyring file of keygen's keys: %v", err)
	}
	if len(k.Keys()) != len(keys) {
		t.Fatalf("keyring holds %d keys, want %d", len(k.Keys()), len(keys))
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &stdout, &stderr, nil); code != exitOK {
		t.Fatalf("version = %d: %s", code, stderr.String())
	}
	got := stdout.String()
	if !strings.HasPrefix(got, "hearsay ") || !strings.HasSuffix(got, " "+runtime.Version()+"\n") {
		t.Errorf("version printed %q, want \"hearsay VERSION ... %s\\n\"", got, runtime.Version())
	}
	defer func(v string) { version = v }(version)
	version = "v9.8.7"
	if got := versionText(); !strings.HasPrefix(got, "hearsay v9.8.7 ") {
		t.Errorf("with version set at build time, version prints %q", got)
	}
}
