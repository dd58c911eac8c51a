package main

import (
	"fmt"
	"os"

	"github.com/hearsay-go/hearsay/std"
)

// loadKeyring reads the --keyring file: one base64 key of 32 bytes per
// line, the first being the primary (std.ParseKeyring). It refuses a file
// that anyone but its owner may read or write, since the keys are the
// cluster's only secret. Every failure is a usage error (exit 2).
func loadKeyring(path string) (*std.Keyring, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, usagef("--keyring: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, usagef("--keyring %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, usagef("--keyring %s: mode %04o lets others than its owner read or write the keys; chmod 600 %s", path, perm, path)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--keyring: %v", err)
	}
	k, err := std.ParseKeyring(text)
	if err != nil {
		return nil, usagef("--keyring %s: %v", path, err)
	}
	return k, nil
}

// keyringHelp is the --keyring flag's help.
var keyringHelp = fmt.Sprintf("file of base64 %d-byte keys, one per line, the first is primary: authenticate and encrypt every datagram (must be readable by its owner only)", std.KeySize)
