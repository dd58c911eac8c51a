package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/hearsay-go/hearsay/std"
)

// An open agent (no keyring, or a keyring that accepts plain datagrams)
// detects failures among members heard from directly only, so that injected
// fake members cannot become monitors; an agent whose keyring refuses plain
// datagrams has no outsiders' records to guard against.
func TestOpenAgentProvesMembers(t *testing.T) {
	key, err := std.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	refusing, err := std.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	accepting, err := std.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := accepting.SetPlaintextPolicy(std.PlaintextAccepted); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name    string
		keyring *std.Keyring
		prove   bool
	}{
		{"no keyring", nil, true},
		{"keyring accepting plain datagrams", accepting, true},
		{"keyring refusing plain datagrams", refusing, false},
	} {
		o := agentOptions{preset: "lan", bind: "127.0.0.1:0", keyring: tc.keyring}
		cfg, err := nodeConfig(o, logger)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.Core.ProveMembers != tc.prove {
			t.Errorf("%s: ProveMembers = %v, want %v", tc.name, cfg.Core.ProveMembers, tc.prove)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: the agent's config is invalid: %v", tc.name, err)
		}
	}
}
