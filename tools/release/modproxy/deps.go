package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// listedModule is the part of `go list -m -json` this program reads.
type listedModule struct {
	Path    string
	Version string
	Main    bool
	Replace *listedModule
}

// copyDependencies copies into the proxy at root the modules in the build
// list of the module in dir (GOWORK=off), except the workspace's own, from
// the module cache: each one's .mod, .info and .zip, those the cache has. It
// first downloads the modules needed to build and test the module's
// packages, so every zip a consumer can need is there. The build list also
// names modules whose go.mod the go command never reads (graph pruning:
// requirements of a dependency's dependencies); when the cache lacks such a
// module's .mod, it is left out, as no consumer build reads it either.
func copyDependencies(root, dir string, workspacePaths []string) error {
	if _, err := goCommand(dir, "mod", "download"); err != nil {
		return err
	}
	cache, err := goCommand(dir, "env", "GOMODCACHE")
	if err != nil {
		return err
	}
	download := filepath.Join(strings.TrimSpace(string(cache)), "cache", "download")
	listed, err := goCommand(dir, "list", "-m", "-json", "all")
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(listed))
	for {
		var m listedModule
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("go list -m -json all in %s: %w", dir, err)
		}
		if m.Main || m.Replace != nil || slices.Contains(workspacePaths, m.Path) {
			continue
		}
		if err := copyCached(root, download, m.Path, m.Version); err != nil {
			return err
		}
	}
}

// copyCached copies path@version's files from the module cache's download
// directory (which has the proxy layout) into the proxy at root.
func copyCached(root, download, path, version string) error {
	for _, ext := range []string{".mod", ".info", ".zip"} {
		from, err := versionFile(download, path, version, ext)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(from)
		if os.IsNotExist(err) {
			if ext == ".mod" {
				return nil // never read: see copyDependencies
			}
			continue
		}
		if err != nil {
			return err
		}
		to, err := versionFile(root, path, version, ext)
		if err != nil {
			return err
		}
		if err := writeFile(to, data); err != nil {
			return err
		}
	}
	return addToList(root, path, version)
}

// goCommand runs the go command in dir with GOWORK=off, so it sees the
// module as an outside user's build would, and returns its standard output.
func goCommand(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, stderr.Bytes())
	}
	return out, nil
}
