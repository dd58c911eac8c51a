package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/hearsay-go/hearsay/std"
)

// loadKeyring reads the --keyring file (readKeyringFile) for the agent's
// start. Every failure is a usage error (exit 2).
func loadKeyring(path string) (*std.Keyring, error) {
	k, err := readKeyringFile(path)
	if err != nil {
		return nil, usagef("--keyring: %v", err)
	}
	return k, nil
}

// readKeyringFile reads a keyring file: one base64 key of 32 bytes per
// line, the first being the primary (std.ParseKeyring). It refuses a file
// that anyone but its owner may read or write, since the keys are the
// cluster's only secret. Errors never hold key bytes.
func readKeyringFile(path string) (*std.Keyring, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %04o lets others than its owner read or write the keys; chmod 600 %s", path, perm, path)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := std.ParseKeyring(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// keyringChange is what a reload did to the running keyring.
type keyringChange struct {
	// Added and Removed count the keys installed and dropped.
	Added, Removed int
	// Keys is the number of keys after the reload.
	Keys int
	// PrimaryWas is where the new primary (the file's first key) stood in
	// the keyring before the reload: 0 when the primary did not change, -1
	// when it was not installed.
	PrimaryWas int
}

// reloadKeyring makes the running keyring k hold the keys of the file at
// path, with the file's first key primary, in the order that keeps a
// cluster in the middle of a rotation working: it installs the file's new
// keys, then makes the first one primary, then drops the keys the file no
// longer has. A file readKeyringFile refuses changes nothing. k must not be
// changed by anyone else meanwhile.
func reloadKeyring(k *std.Keyring, path string) (keyringChange, error) {
	file, err := readKeyringFile(path)
	if err != nil {
		return keyringChange{}, err
	}
	want, have := file.Keys(), k.Keys()
	ch := keyringChange{PrimaryWas: indexKey(have, want[0])}
	for _, key := range want {
		if indexKey(have, key) < 0 {
			if err := k.AddKey(key); err != nil {
				return ch, fmt.Errorf("add key: %w", err)
			}
			ch.Added++
		}
	}
	if err := k.UseKey(want[0]); err != nil {
		return ch, fmt.Errorf("use the first key: %w", err)
	}
	for _, key := range have {
		if indexKey(want, key) < 0 {
			if err := k.RemoveKey(key); err != nil {
				return ch, fmt.Errorf("remove key: %w", err)
			}
			ch.Removed++
		}
	}
	ch.Keys = len(k.Keys())
	return ch, nil
}

// indexKey returns the index of key in keys, or -1.
func indexKey(keys [][]byte, key []byte) int {
	for i, k := range keys {
		if bytes.Equal(k, key) {
			return i
		}
	}
	return -1
}

// plaintextHelp is the --keyring-plaintext flag's help.
const plaintextHelp = "with --keyring, what to do with unsealed datagrams, to turn encryption on in a running cluster: " +
	"refuse (seal all, drop plain), accept (seal all, accept plain too) or send (send plain, accept both); see SECURITY.md"

// keyringHelp is the --keyring flag's help.
var keyringHelp = fmt.Sprintf("file of base64 %d-byte keys, one per line, the first is primary: authenticate and encrypt every datagram (must be readable by its owner only; SIGHUP reloads it)", std.KeySize)
