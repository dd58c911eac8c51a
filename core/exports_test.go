package core

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

// maxExports bounds core's public surface. Every exported identifier is a
// promise to users; keep what std, the examples, the tools or a documented
// user need call for, and put the rest behind lower-case names (or under
// core/internal/).
const maxExports = 100

// exportedNames lists the exported identifiers of the package in dir, not
// counting tests: package-level types, functions, constants and variables,
// and the exported methods of exported types (struct fields are not
// counted).
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
				names = append(names, exportedIn(d)...)
			}
		}
	}
	slices.Sort(names)
	return names
}

// exportedIn returns the exported identifiers one declaration adds.
func exportedIn(d ast.Decl) []string {
	var names []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			return nil
		}
		if d.Recv == nil {
			return []string{d.Name.Name}
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
	return names
}

// The public surface stays small: at most maxExports identifiers.
func TestPublicSurfaceIsBounded(t *testing.T) {
	names := exportedNames(t, ".")
	t.Logf("%d exported identifiers (at most %d)", len(names), maxExports)
	if len(names) > maxExports {
		t.Errorf("core exports %d identifiers, more than %d:\n%s", len(names), maxExports, strings.Join(names, "\n"))
	}
	// The counter counts what the rule says: a sample of each kind.
	for _, want := range []string{"MembershipCoordinator", "NewMembershipCoordinator", "MembershipCoordinator.Poll", "StatusUp", "ErrSendFailed"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s is not counted among the exported identifiers", want)
		}
	}
	for _, n := range names {
		for _, part := range strings.Split(n, ".") {
			if !ast.IsExported(part) {
				t.Errorf("%s is counted, but %s is not exported", n, part)
			}
		}
	}
}
