package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// writeTree creates files (slash-separated name → content) under root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeRepository is a workspace shaped like hearsay's: lib is required by
// app and by cmd.
func fakeRepository(t *testing.T, appRequires, cmdRequires string) string {
	t.Helper()
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"go.work":         "go 1.24.0\n\nuse (\n\t./lib\n\t./app\n\t./cmd\n)\n",
		"lib/go.mod":      "module example.com/repo/lib\n\ngo 1.24.0\n",
		"lib/lib.go":      "package lib\n",
		"lib/sub/go.mod":  "module example.com/repo/lib/sub\n", // a nested module: not zipped
		"lib/sub/sub.go":  "package sub\n",
		"lib/inner/in.go": "package inner\n",
		"app/go.mod":      "module example.com/repo/App\n\ngo 1.24.0\n\nrequire example.com/repo/lib " + appRequires + "\n\nreplace example.com/repo/lib => ../lib\n",
		"app/app.go":      "package app\n",
		"cmd/go.mod": "module example.com/repo/cmd\n\ngo 1.24.0\n\nrequire (\n\texample.com/repo/lib " + cmdRequires +
			"\n\texample.com/repo/App v1.2.3\n)\n",
		"cmd/main.go": "package main\n\nfunc main() {}\n",
	})
	return root
}

func TestPublishedAtTheVersionDependentsRequire(t *testing.T) {
	ws, err := readWorkspace(fakeRepository(t, "v0.3.0", "v0.3.0"))
	if err != nil {
		t.Fatal(err)
	}
	published, err := ws.published()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range published {
		got = append(got, p.Path+"@"+p.Version+" "+filepath.Base(p.Dir))
	}
	want := []string{"example.com/repo/App@v1.2.3 app", "example.com/repo/lib@v0.3.0 lib"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("published = %v, want %v (cmd is required by no one)", got, want)
	}
}

func TestDependentsThatDisagreeAreAnError(t *testing.T) {
	ws, err := readWorkspace(fakeRepository(t, "v0.3.0", "v0.4.0"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ws.published()
	if err == nil {
		t.Fatal("published: no error for lib required at v0.3.0 and v0.4.0")
	}
	for _, want := range []string{"example.com/repo/lib", "v0.3.0 in ", "app/go.mod", "v0.4.0 in ", "cmd/go.mod"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestWriteModuleServesWhatTheGoCommandFetches(t *testing.T) {
	repo := fakeRepository(t, "v0.3.0", "v0.3.0")
	ws, err := readWorkspace(repo)
	if err != nil {
		t.Fatal(err)
	}
	published, err := ws.published()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, p := range published {
		if err := writeModule(out, p, at); err != nil {
			t.Fatal(err)
		}
	}

	// Upper case in a path is escaped as "!" + lower case.
	app := filepath.Join(out, "example.com", "repo", "!app", "@v")
	if list, err := os.ReadFile(filepath.Join(app, "list")); err != nil || string(list) != "v1.2.3\n" {
		t.Errorf("App's list = %q, %v; want \"v1.2.3\\n\"", list, err)
	}

	lib := filepath.Join(out, "example.com", "repo", "lib", "@v")
	mod, err := os.ReadFile(filepath.Join(lib, "v0.3.0.mod"))
	if err != nil || string(mod) != "module example.com/repo/lib\n\ngo 1.24.0\n" {
		t.Errorf("lib's .mod = %q, %v; want lib/go.mod", mod, err)
	}
	var info struct {
		Version string
		Time    time.Time
	}
	data, err := os.ReadFile(filepath.Join(lib, "v0.3.0.info"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &info); err != nil || info.Version != "v0.3.0" || !info.Time.Equal(at) {
		t.Errorf("lib's .info = %s (%v); want version v0.3.0 at %v", data, err, at)
	}

	zipName := filepath.Join(lib, "v0.3.0.zip")
	if _, err := modzip.CheckZip(module.Version{Path: "example.com/repo/lib", Version: "v0.3.0"}, zipName); err != nil {
		t.Errorf("lib's zip is not a valid module zip: %v", err)
	}
	zr, err := zip.OpenReader(zipName)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	want := "example.com/repo/lib@v0.3.0/go.mod example.com/repo/lib@v0.3.0/inner/in.go example.com/repo/lib@v0.3.0/lib.go"
	if strings.Join(names, " ") != want {
		t.Errorf("lib's zip holds %v; want %s (no file of the nested module)", names, want)
	}
}

func TestListStaysSortedWithoutDuplicates(t *testing.T) {
	out := t.TempDir()
	for _, v := range []string{"v0.10.0", "v0.2.0", "v0.10.0", "v0.9.1"} {
		if err := addToList(out, "example.com/m", v); err != nil {
			t.Fatal(err)
		}
	}
	list, err := os.ReadFile(filepath.Join(out, "example.com", "m", "@v", "list"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v0.2.0\nv0.9.1\nv0.10.0\n"; string(list) != want {
		t.Errorf("list = %q, want %q", list, want)
	}
}

func TestCopyCachedSkipsModulesWhoseGoModIsNotCached(t *testing.T) {
	download := t.TempDir()
	writeTree(t, download, map[string]string{
		"example.com/full/@v/v1.0.0.mod":    "module example.com/full\n",
		"example.com/full/@v/v1.0.0.info":   `{"Version":"v1.0.0"}`,
		"example.com/full/@v/v1.0.0.zip":    "zip bytes",
		"example.com/modonly/@v/v2.0.0.mod": "module example.com/modonly\n",
	})
	out := t.TempDir()
	for _, m := range []struct{ path, version string }{
		{"example.com/full", "v1.0.0"}, {"example.com/modonly", "v2.0.0"}, {"example.com/absent", "v3.0.0"},
	} {
		if err := copyCached(out, download, m.path, m.version); err != nil {
			t.Fatalf("copyCached(%s@%s): %v", m.path, m.version, err)
		}
	}
	for name, want := range map[string]bool{
		"example.com/full/@v/v1.0.0.zip":    true,
		"example.com/full/@v/v1.0.0.info":   true,
		"example.com/full/@v/list":          true,
		"example.com/modonly/@v/v2.0.0.mod": true,
		"example.com/modonly/@v/v2.0.0.zip": false,
		"example.com/modonly/@v/list":       true,
		"example.com/absent/@v/list":        false,
		"example.com/absent/@v/v3.0.0.mod":  false,
	} {
		_, err := os.Stat(filepath.Join(out, filepath.FromSlash(name)))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", name, got, want)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(out, "example.com", "full", "@v", "v1.0.0.zip")); !bytes.Equal(data, []byte("zip bytes")) {
		t.Errorf("full's zip = %q, want the cached bytes", data)
	}
}

func TestRunRefusesAnOutputThatIsNotEmpty(t *testing.T) {
	out := t.TempDir()
	writeTree(t, out, map[string]string{"stale/@v/list": "v0.0.1\n"})
	var stdout bytes.Buffer
	err := run([]string{"-repo", fakeRepository(t, "v0.3.0", "v0.3.0"), "-out", out}, &stdout)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("run into a non-empty -out: err = %v, want one saying it is not empty", err)
	}
}
