package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

// versionDir returns the @v directory of path in the proxy rooted at root
// (GOPROXY protocol: the path escaped, upper case as "!" + lower case).
func versionDir(root, path string) (string, error) {
	escaped, err := module.EscapePath(path)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(escaped), "@v"), nil
}

// versionFile returns the name of path@version's file with the given
// extension (".info", ".mod", ".zip") in the proxy rooted at root.
func versionFile(root, path, version, ext string) (string, error) {
	dir, err := versionDir(root, path)
	if err != nil {
		return "", err
	}
	escaped, err := module.EscapeVersion(version)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, escaped+ext), nil
}

// writeModule writes p's .zip (made from its directory), .mod and .info
// into the proxy at root and adds its version to the list.
func writeModule(root string, p publishedModule, now time.Time) error {
	mv := module.Version{Path: p.Path, Version: p.Version}
	if err := module.Check(p.Path, p.Version); err != nil {
		return err
	}
	var zipped bytes.Buffer
	if err := modzip.CreateFromDir(&zipped, mv, p.Dir); err != nil {
		return fmt.Errorf("zip %s from %s: %w", mv, p.Dir, err)
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{p.Version, now})
	if err != nil {
		return err
	}
	files := map[string][]byte{".zip": zipped.Bytes(), ".mod": p.GoMod, ".info": info}
	for ext, data := range files {
		name, err := versionFile(root, p.Path, p.Version, ext)
		if err != nil {
			return err
		}
		if err := writeFile(name, data); err != nil {
			return err
		}
	}
	return addToList(root, p.Path, p.Version)
}

// addToList adds version to path's @v/list in the proxy at root, keeping the
// list sorted by semantic version and free of duplicates.
func addToList(root, path, version string) error {
	dir, err := versionDir(root, path)
	if err != nil {
		return err
	}
	name := filepath.Join(dir, "list")
	var versions []string
	if data, err := os.ReadFile(name); err == nil {
		versions = strings.Fields(string(data))
	} else if !os.IsNotExist(err) {
		return err
	}
	if slices.Contains(versions, version) {
		return nil
	}
	versions = append(versions, version)
	semver.Sort(versions)
	return writeFile(name, []byte(strings.Join(versions, "\n")+"\n"))
}

// writeFile writes data to name, creating its directory.
func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}
