// Package tools holds hearsay's command-line programs under cmd/: the
// hearsay agent, the simulator front-end hearsay-sim, the side-by-side
// benchmark hearsay-bench and memberlist-agent, its hashicorp/memberlist
// counterpart. netns/ holds the multi-host test on network namespaces, ci/
// the scripts .ci/run calls, and release/ the release step with modproxy,
// which builds a module proxy from the working tree (docs/RELEASING.md).
package tools
