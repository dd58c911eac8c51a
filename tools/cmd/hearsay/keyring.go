package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

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

// maxKeyringFileBytes bounds a keyring file: about 1,400 keys.
const maxKeyringFileBytes = 64 << 10

// keyringOpened, when set (by tests), is called with the keyring file's
// path right after it was opened.
var keyringOpened func(path string)

// readKeyringFile reads a keyring file: one base64 key of 32 bytes per
// line, the first being the primary (std.ParseKeyring). The keys are the
// cluster's only secret, so it refuses, with an error that says how to
// fix it:
//   - a file in a directory that others than its owner may write, or that
//     another user owns (root excepted), since they could replace the file;
//     both the directory named and, for a symbolic link, the directory of
//     the file it leads to;
//   - a file that is not regular, that another user owns, or that anyone
//     but its owner may read or write.
//
// The file's checks are made on the opened descriptor (fstat), so the
// file checked is the file read. Errors never hold key bytes.
func readKeyringFile(path string) (*std.Keyring, error) {
	if err := checkKeyringDir(path); err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
		if err := checkKeyringDir(real); err != nil {
			return nil, fmt.Errorf("%s leads to %s: %w", path, real, err)
		}
	}
	f, err := openKeyringFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if keyringOpened != nil {
		keyringOpened(path)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() {
		return nil, fmt.Errorf("%s: owned by uid %d, not by the agent's user (uid %d); chown it to the agent's user", path, uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s: mode %04o lets others than its owner read or write the keys; chmod 600 %s", path, perm, path)
	}
	text, err := io.ReadAll(io.LimitReader(f, maxKeyringFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(text) > maxKeyringFileBytes {
		return nil, fmt.Errorf("%s: over %d bytes, not a keyring file", path, maxKeyringFileBytes)
	}
	k, err := std.ParseKeyring(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// checkKeyringDir refuses a keyring file whose directory others could
// write to (group or others' write bit, sticky or not, as OpenSSH's
// StrictModes does), or that a user other than the agent's user or root
// owns.
func checkKeyringDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("directory %s: mode %04o lets others than its owner replace the keyring file; chmod go-w %s", dir, perm, dir)
	}
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() && uid != 0 {
		return fmt.Errorf("directory %s: owned by uid %d, neither the agent's user (uid %d) nor root, who could replace the keyring file", dir, uid, os.Geteuid())
	}
	return nil
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
