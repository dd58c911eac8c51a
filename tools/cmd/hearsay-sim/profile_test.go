package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// -cpuprofile and -memprofile write profiles that go tool pprof reads: gzip
// compressed protocol buffers.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap.pprof")
	var out, errb bytes.Buffer
	code := run([]string{"-scenario", "bootstrap", "-nodes", "10", "-cpuprofile", cpu, "-memprofile", mem}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, errb.String())
	}
	for _, f := range []string{cpu, mem} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, not a gzip-compressed profile", filepath.Base(f), len(b))
		}
	}
	// A profile that cannot be written is an error of the run, not a panic.
	errb.Reset()
	code = run([]string{"-scenario", "bootstrap", "-nodes", "4", "-cpuprofile", filepath.Join(dir, "missing", "cpu.pprof")}, &out, &errb)
	if code != 1 || !bytes.Contains(errb.Bytes(), []byte("-cpuprofile")) {
		t.Errorf("unwritable -cpuprofile: exit %d, stderr %q; want 1 and an error naming the flag", code, errb.String())
	}
}
