package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// workspace is the set of modules go.work uses.
type workspace struct {
	modules []workspaceModule
}

// workspaceModule is one module of the repository.
type workspaceModule struct {
	// Dir is the module's directory, absolute.
	Dir string
	// File is its parsed go.mod.
	File *modfile.File
}

// publishedModule is a module another module of the repository requires,
// at the version they require.
type publishedModule struct {
	Path    string
	Version string
	Dir     string
	// GoMod is the content of its go.mod, served as the .mod file.
	GoMod []byte
}

// readWorkspace parses repo/go.work and the go.mod of every module it uses.
func readWorkspace(repo string) (*workspace, error) {
	root, err := filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	name := filepath.Join(root, "go.work")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork(name, data, nil)
	if err != nil {
		return nil, err
	}
	ws := &workspace{}
	for _, use := range wf.Use {
		dir := filepath.Join(root, filepath.FromSlash(use.Path))
		gomod := filepath.Join(dir, "go.mod")
		data, err := os.ReadFile(gomod)
		if err != nil {
			return nil, err
		}
		f, err := modfile.Parse(gomod, data, nil)
		if err != nil {
			return nil, err
		}
		if f.Module == nil {
			return nil, fmt.Errorf("%s has no module line", gomod)
		}
		ws.modules = append(ws.modules, workspaceModule{Dir: dir, File: f})
	}
	return ws, nil
}

// paths returns the module paths of the workspace.
func (ws *workspace) paths() []string {
	var paths []string
	for _, m := range ws.modules {
		paths = append(paths, m.File.Module.Mod.Path)
	}
	return paths
}

// published returns the modules that another workspace module requires,
// each at the single version all its dependents require, sorted by path.
// Dependents that disagree on the version are an error naming them.
func (ws *workspace) published() ([]publishedModule, error) {
	var out []publishedModule
	for _, m := range ws.modules {
		path := m.File.Module.Mod.Path
		versions := map[string][]string{} // version → go.mod files requiring it
		for _, dependent := range ws.modules {
			for _, r := range dependent.File.Require {
				if r.Mod.Path == path {
					versions[r.Mod.Version] = append(versions[r.Mod.Version], dependent.File.Syntax.Name)
				}
			}
		}
		switch len(versions) {
		case 0:
			continue
		case 1:
		default:
			var parts []string
			for v, files := range versions {
				parts = append(parts, fmt.Sprintf("%s in %s", v, strings.Join(files, ", ")))
			}
			slices.Sort(parts)
			return nil, fmt.Errorf("%s is required at different versions: %s", path, strings.Join(parts, "; "))
		}
		for v := range versions {
			gomod, err := os.ReadFile(m.File.Syntax.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, publishedModule{Path: path, Version: v, Dir: m.Dir, GoMod: gomod})
		}
	}
	slices.SortFunc(out, func(a, b publishedModule) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}
