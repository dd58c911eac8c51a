// Command modproxy builds a file-based Go module proxy from the working tree,
// so that hearsay's published modules (core and std) can be fetched by an
// outside module exactly as the go command would fetch them after a release,
// before anything is tagged or pushed.
//
// It reads go.work to find the repository's modules. A module that another
// module of the repository requires is published; it is served at the one
// version the others require (std/go.mod's requirement of core, for
// example), zipped from its directory with golang.org/x/mod/zip, with its
// go.mod as the .mod file and a .info file. Requirements that disagree (std
// requires core v0.1.0, tools requires core v0.2.0) are an error: a release
// bumps them together (tools/release/release.sh). The third-party modules in
// each published module's build list (go list -m all, with GOWORK=off) are
// copied from the local module cache, whose download directory already has
// the proxy's layout; those a build needs are downloaded first.
//
// # Usage
//
//	go run ./tools/release/modproxy -out /tmp/proxy
//	GOPROXY=file:///tmp/proxy GONOSUMDB=github.com/hearsay-go/hearsay GOWORK=off go get github.com/hearsay-go/hearsay/std@v0.1.0
//
// It prints one line per published module, "path version", and nothing
// else on success. tools/ci/consumer.sh uses it to build and run outside
// consumers of core and std in CI.
package main
