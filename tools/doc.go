// Package tools holds hearsay's command-line programs under cmd/: the
// hearsay agent, the simulator front-end hearsay-sim, and the side-by-side
// benchmark hearsay-bench.
package tools
