package main

import (
	"runtime"
	"runtime/debug"
)

// version is the release this binary was built from. The release build
// sets it (go build -ldflags "-X main.version=v0.2.0"); otherwise it is
// the module version the go command recorded ("(devel)" in a checkout).
var version = ""

// versionText is what `hearsay version` prints: the version, the source
// revision when the go command recorded one and the Go release, e.g.
//
//	hearsay (devel) revision 64dbe5e5e5a1 (modified) go1.26.8
func versionText() string {
	v, rev, modified := version, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(unknown)"
	}
	out := "hearsay " + v
	if rev != "" {
		out += " revision " + rev[:min(12, len(rev))]
		if modified {
			out += " (modified)"
		}
	}
	return out + " " + runtime.Version()
}
