package std

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// maxExports bounds std's public surface. Every exported name is a promise
// to users; keep each one used by the examples, the tools or a documented
// user need, and the rest unexported.
const maxExports = 60

// exportedNames lists the exported identifiers of the package in dir:
// package-level types, functions, constants and variables, and the exported
// methods of exported types (struct fields are not counted).
func exportedNames(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	notTest := func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }
	pkgs, err := parser.ParseDir(fset, dir, notTest, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					if !d.Name.IsExported() {
						continue
					}
					if d.Recv == nil {
						names = append(names, d.Name.Name)
						continue
					}
					recv := d.Recv.List[0].Type
					if star, ok := recv.(*ast.StarExpr); ok {
						recv = star.X
					}
					if id, ok := recv.(*ast.Ident); ok && id.IsExported() {
						names = append(names, id.Name+"."+d.Name.Name)
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.TypeSpec:
							if s.Name.IsExported() {
								names = append(names, s.Name.Name)
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() {
									names = append(names, n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

// TestPublicSurface keeps std's exported identifiers at or under
// maxExports.
func TestPublicSurface(t *testing.T) {
	names := exportedNames(t, ".")
	t.Logf("%d exported identifiers (at most %d)", len(names), maxExports)
	if len(names) > maxExports {
		t.Errorf("std exports %d identifiers, over %d: unexport what no user needs\n%s",
			len(names), maxExports, strings.Join(names, "\n"))
	}
	if !slices.Contains(names, "Node.Members") || !slices.Contains(names, "Config") {
		t.Errorf("the count missed known exports: %v", names)
	}
}
