package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// Each start of the agent is a new instance of its node: it gets a fresh
// node ID, 16 lower-case hex digits from 8 random bytes (crypto/rand),
// while --name, which people choose and reuse, travels in the metadata
// (nodemeta.go). So records and datagrams of a previous life of the same
// --name at the same address (a leave captured and replayed, say) name
// another instance than the running one.

// instanceIDBytes is how many random bytes make a node ID.
const instanceIDBytes = 8

// newInstanceID returns a fresh node ID.
func newInstanceID() (string, error) {
	var b [instanceIDBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("node ID: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
