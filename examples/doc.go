// Package examples holds runnable hearsay programs, one directory each;
// two-node is the first one to run: go run ./examples/two-node.
// custom-transport runs core alone over an in-memory transport; key-router
// does a job users have: it routes keys to the members that own them
// (rendezvous hashing over the membership) and shows that a crash moves
// only the dead member's keys.
package examples
