// Package examples holds runnable hearsay programs, one directory each;
// two-node is the first one to run: go run ./examples/two-node.
package examples
