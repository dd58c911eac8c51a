package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is a user ID that is neither the test's user nor root.
const nobody = 65534

// needRoot skips tests that must give files to another user.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
}

// safeDir returns a new directory only its owner may write.
func safeDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeKeyFile(t *testing.T, path string, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestKeyringFileDirectory refuses a keyring file in a directory others
// could write to: they could put their own keys in its place.
func TestKeyringFileDirectory(t *testing.T) {
	for _, mode := range []os.FileMode{0o777, 0o770, 0o730, 0o703, os.ModeSticky | 0o777} {
		dir := safeDir(t)
		path := filepath.Join(dir, "keyring")
		writeKeyFile(t, path, b64Key(1)+"\n")
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := readKeyringFile(path)
		if err == nil || !strings.Contains(err.Error(), "lets others than its owner replace the keyring file; chmod go-w") {
			t.Errorf("directory mode %v: err %v, want a refusal that says chmod go-w", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o700, 0o750, 0o755, 0o711} {
		dir := safeDir(t)
		path := filepath.Join(dir, "keyring")
		writeKeyFile(t, path, b64Key(1)+"\n")
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := readKeyringFile(path); err != nil {
			t.Errorf("directory mode %v: %v, want the keyring read", mode, err)
		}
	}
}

// TestKeyringFileOwner refuses a keyring file another user owns, or whose
// directory another user (not root) owns.
func TestKeyringFileOwner(t *testing.T) {
	needRoot(t)
	dir := safeDir(t)
	path := filepath.Join(dir, "keyring")
	writeKeyFile(t, path, b64Key(1)+"\n")
	if err := os.Chown(path, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	_, err := readKeyringFile(path)
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534, not by the agent's user (uid 0); chown") {
		t.Errorf("a file owned by uid %d: err %v, want a refusal naming both users", nobody, err)
	}

	dir = safeDir(t)
	path = filepath.Join(dir, "keyring")
	writeKeyFile(t, path, b64Key(1)+"\n")
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	_, err = readKeyringFile(path)
	if err == nil || !strings.Contains(err.Error(), "owned by uid 65534, neither the agent's user (uid 0) nor root") {
		t.Errorf("a directory owned by uid %d: err %v, want a refusal", nobody, err)
	}
}

// TestKeyringFileSymlink checks the directory of the file a symbolic link
// leads to, not only the link's.
func TestKeyringFileSymlink(t *testing.T) {
	unsafe := t.TempDir()
	if err := os.Chmod(unsafe, 0o777); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(unsafe, "keyring")
	writeKeyFile(t, target, b64Key(1)+"\n")
	link := filepath.Join(safeDir(t), "keyring")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	_, err := readKeyringFile(link)
	if err == nil || !strings.Contains(err.Error(), "leads to "+target) || !strings.Contains(err.Error(), "chmod go-w") {
		t.Errorf("a link to a file in a directory anyone may write: err %v, want a refusal", err)
	}

	// And a link in such a directory to a safe file: the link can be
	// replaced.
	safe := filepath.Join(safeDir(t), "keyring")
	writeKeyFile(t, safe, b64Key(1)+"\n")
	link = filepath.Join(unsafe, "link")
	if err := os.Symlink(safe, link); err != nil {
		t.Fatal(err)
	}
	if _, err := readKeyringFile(link); err == nil || !strings.Contains(err.Error(), "chmod go-w") {
		t.Errorf("a link in a directory anyone may write: err %v, want a refusal", err)
	}

	// A link from a safe directory to a safe file is fine.
	link = filepath.Join(safeDir(t), "keyring")
	if err := os.Symlink(safe, link); err != nil {
		t.Fatal(err)
	}
	if _, err := readKeyringFile(link); err != nil {
		t.Errorf("a link to a safe file in a safe directory: %v", err)
	}
}

// TestKeyringFileFIFO refuses a named pipe at once instead of waiting for
// a writer.
func TestKeyringFileFIFO(t *testing.T) {
	path := filepath.Join(safeDir(t), "keyring")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := readKeyringFile(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a FIFO: err %v, want not a regular file", err)
	}
}

// TestKeyringFileCheckedIsRead replaces the keyring file right after the
// agent opened it with a world-readable one holding another key: the agent
// must check and read the file it opened (its mode is 0600, its key 1),
// not check one file and read another.
func TestKeyringFileCheckedIsRead(t *testing.T) {
	dir := safeDir(t)
	path := filepath.Join(dir, "keyring")
	writeKeyFile(t, path, b64Key(1)+"\n")
	swapped := false
	keyringOpened = func(p string) {
		other := filepath.Join(dir, "other")
		writeKeyFile(t, other, b64Key(2)+"\n")
		if err := os.Chmod(other, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(other, p); err != nil {
			t.Fatal(err)
		}
		swapped = true
	}
	defer func() { keyringOpened = nil }()
	k, err := readKeyringFile(path)
	if !swapped {
		t.Fatal("the test hook did not run")
	}
	if err != nil {
		t.Fatalf("readKeyringFile: %v; want the opened file (mode 0600) read", err)
	}
	if keys := k.Keys(); len(keys) != 1 || keys[0][0] != 1 {
		t.Fatalf("keys %v: not the file that was opened and checked", keys)
	}
}

func TestKeyringFileTooLarge(t *testing.T) {
	path := filepath.Join(safeDir(t), "keyring")
	writeKeyFile(t, path, strings.Repeat("# padding\n", maxKeyringFileBytes/10+1)+b64Key(1)+"\n")
	if _, err := readKeyringFile(path); err == nil || !strings.Contains(err.Error(), "not a keyring file") {
		t.Errorf("a %d-byte file: err %v, want a refusal", maxKeyringFileBytes, err)
	}
}
