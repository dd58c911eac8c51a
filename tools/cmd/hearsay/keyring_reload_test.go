package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearsay-go/hearsay/std"
)

// keyIDs names a keyring's keys by their first byte (b64Key's), primary
// first, the others sorted: the keyring does not keep the file's order
// after the primary.
func keyIDs(k *std.Keyring) []byte {
	var ids []byte
	for _, key := range k.Keys() {
		ids = append(ids, key[0])
	}
	slices.Sort(ids[1:])
	return ids
}

func newTestKeyring(t *testing.T, ids ...byte) *std.Keyring {
	t.Helper()
	var others [][]byte
	for _, id := range ids[1:] {
		others = append(others, bytes.Repeat([]byte{id}, std.KeySize))
	}
	k, err := std.NewKeyring(bytes.Repeat([]byte{ids[0]}, std.KeySize), others...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyringText(ids ...byte) string {
	var b strings.Builder
	b.WriteString("# primary first\n")
	for _, id := range ids {
		b.WriteString(b64Key(id) + "\n")
	}
	return b.String()
}

func TestReloadKeyring(t *testing.T) {
	tests := []struct {
		name    string
		have    []byte // installed keys, primary first
		file    string
		perm    os.FileMode
		want    []byte // keyIDs after; nil: as before
		change  keyringChange
		wantErr string
	}{
		{name: "install new", have: []byte{1}, file: keyringText(1, 2), perm: 0o600,
			want: []byte{1, 2}, change: keyringChange{Added: 1, Keys: 2, PrimaryWas: 0}},
		{name: "use new", have: []byte{1, 2}, file: keyringText(2, 1), perm: 0o600,
			want: []byte{2, 1}, change: keyringChange{Keys: 2, PrimaryWas: 1}},
		{name: "remove old", have: []byte{2, 1}, file: keyringText(2), perm: 0o400,
			want: []byte{2}, change: keyringChange{Removed: 1, Keys: 1, PrimaryWas: 0}},
		{name: "all at once", have: []byte{1, 2}, file: keyringText(3, 2, 4), perm: 0o600,
			want: []byte{3, 2, 4}, change: keyringChange{Added: 2, Removed: 1, Keys: 3, PrimaryWas: -1}},
		{name: "unchanged", have: []byte{1, 2}, file: keyringText(1, 2), perm: 0o600,
			want: []byte{1, 2}, change: keyringChange{Keys: 2, PrimaryWas: 0}},
		{name: "readable by others", have: []byte{1, 2}, file: keyringText(3), perm: 0o644, wantErr: "chmod 600"},
		{name: "writable by group", have: []byte{1, 2}, file: keyringText(3), perm: 0o620, wantErr: "chmod 600"},
		{name: "not base64", have: []byte{1, 2}, file: keyringText(3) + "not base64!\n", perm: 0o600, wantErr: "not base64"},
		{name: "short key", have: []byte{1, 2}, perm: 0o600,
			file: base64.StdEncoding.EncodeToString([]byte("sixteen byte key")) + "\n", wantErr: "want 32"},
		{name: "empty", have: []byte{1, 2}, file: "# no keys\n", perm: 0o600, wantErr: "no key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKeyring(t, tt.have...)
			before := k.Keys()
			path := writeKeyring(t, tt.file, tt.perm)
			got, err := reloadKeyring(k, path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if !slices.EqualFunc(k.Keys(), before, bytes.Equal) {
					t.Errorf("keys %v after a refused file, want them unchanged %v", keyIDs(k), tt.have)
				}
				return
			}
			if err != nil {
				t.Fatalf("reloadKeyring: %v", err)
			}
			if ids := keyIDs(k); !bytes.Equal(ids, tt.want) {
				t.Errorf("keys %v, want %v (primary first)", ids, tt.want)
			}
			if got != tt.change {
				t.Errorf("change %+v, want %+v", got, tt.change)
			}
		})
	}
}

func TestReloadKeyringMissingFile(t *testing.T) {
	k := newTestKeyring(t, 1)
	if _, err := reloadKeyring(k, t.TempDir()+"/nope"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("err = %v, want no such file", err)
	}
	if ids := keyIDs(k); !bytes.Equal(ids, []byte{1}) {
		t.Errorf("keys %v, want [1]", ids)
	}
}

// TestAgentReloadLog checks what the agent logs on a reload: counts and
// which key became primary, never a key.
func TestAgentReloadLog(t *testing.T) {
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	path := writeKeyring(t, keyringText(1), 0o600)
	o := agentOptions{keyringFile: path, keyring: newTestKeyring(t, 1)}

	tests := []struct {
		file string
		perm os.FileMode
		want string
	}{
		{keyringText(1, 2), 0o600, `level=INFO msg="keyring reloaded" file=` + path + ` added=1 removed=0 keys=2 primary=unchanged`},
		{keyringText(2, 1), 0o600, `level=INFO msg="keyring reloaded" file=` + path + ` added=0 removed=0 keys=2 primary="installed key 2"`},
		{keyringText(2), 0o600, `added=0 removed=1 keys=1 primary=unchanged`},
		{keyringText(3, 2), 0o600, `added=1 removed=0 keys=2 primary="new key"`},
		{keyringText(4), 0o644, `level=ERROR msg="keyring reload failed"`},
	}
	for _, tt := range tests {
		log.Reset()
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tt.perm); err != nil {
			t.Fatal(err)
		}
		o.reloadKeyring(logger)
		if !strings.Contains(log.String(), tt.want) {
			t.Errorf("log %q, want it to contain %q", log.String(), tt.want)
		}
		for id := byte(1); id <= 4; id++ {
			if strings.Contains(log.String(), b64Key(id)) {
				t.Errorf("log %q holds key %d", log.String(), id)
			}
		}
	}
	if ids := keyIDs(o.keyring); !bytes.Equal(ids, []byte{3, 2}) {
		t.Errorf("keys %v after a refused file, want [3 2]", ids)
	}

	log.Reset()
	agentOptions{}.reloadKeyring(logger)
	if want := `level=WARN msg="reload requested, but there is no keyring to reload`; !strings.Contains(log.String(), want) {
		t.Errorf("without a keyring: log %q, want %q", log.String(), want)
	}
}

// TestAgentReloadsKeyring runs an agent with --keyring, rewrites the file
// through a rotation and triggers a reload after each step, as SIGHUP does.
func TestAgentReloadsKeyring(t *testing.T) {
	path := writeKeyring(t, keyringText(1), 0o600)
	stderr := &syncBuffer{}
	o, err := parseAgentFlags(agentArgs("--keyring", path)[1:], stderr)
	if err != nil {
		t.Fatalf("parseAgentFlags: %v", err)
	}
	ready := make(chan struct{})
	reload := make(chan os.Signal)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runAgent(ctx, o, &bytes.Buffer{}, stderr, reload, func(agentNode, string) { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("agent exited: %v: %s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("agent not ready")
	}

	steps := []struct {
		file string
		perm os.FileMode
		want []byte
	}{
		{keyringText(1, 2), 0o600, []byte{1, 2}},
		{keyringText(2, 1), 0o600, []byte{2, 1}},
		{keyringText(2), 0o600, []byte{2}},
		{keyringText(3), 0o644, []byte{2}}, // refused: readable by others
	}
	for i, st := range steps {
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(st.file), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, st.perm); err != nil {
			t.Fatal(err)
		}
		reload <- syscall.SIGHUP
		// Each reload, applied or refused, logs one "keyring reload..." line.
		waitFor(t, fmt.Sprintf("reload %d logged", i+1), 10*time.Second, func() (bool, string) {
			return strings.Count(stderr.String(), "keyring reload") == i+1, stderr.String()
		})
		if ids := keyIDs(o.keyring); !bytes.Equal(ids, st.want) {
			t.Errorf("step %d: keys %v, want %v", i+1, ids, st.want)
		}
	}
	if !strings.Contains(stderr.String(), `level=ERROR msg="keyring reload failed"`) {
		t.Errorf("the refused file is not logged as an error:\n%s", stderr.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agent: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent did not stop")
	}
}
