package core

import (
	"bytes"
	"fmt"
)

// NodeRecord is what every member knows about one member of the cluster. It is
// a value: copies are independent once Clone has been called on the metadata.
type NodeRecord struct {
	// NodeID identifies one instance of a node; a restart picks a new one.
	NodeID string
	// Authority is the node's advertised address, "host:port". Core treats it as
	// an opaque key and never parses it.
	Authority string
	// Status is the node's life-cycle status.
	Status NodeStatus
	// Incarnation is raised only by the node itself, to refute a suspicion or
	// to take over its authority after a restart.
	Incarnation uint64
	// Meta is small user metadata, at most Config.MaxMetadataBytes long.
	Meta []byte
}

// Clone returns a copy of r that shares no memory with it.
func (r NodeRecord) Clone() NodeRecord {
	if r.Meta != nil {
		r.Meta = bytes.Clone(r.Meta)
	}
	return r
}

// Equal reports whether two records carry the same information.
func (r NodeRecord) Equal(o NodeRecord) bool {
	return r.NodeID == o.NodeID && r.Authority == o.Authority && r.Status == o.Status &&
		r.Incarnation == o.Incarnation && bytes.Equal(r.Meta, o.Meta)
}

// Supersedes reports whether r should replace o in a table, by the merge rule:
// a higher incarnation wins; at equal incarnation the status with the higher
// precedence wins; at equal incarnation and status, the lexically greater node
// ID and then metadata win, so that every replica converges to the same record
// whatever order it received them in. A record never supersedes itself.
func (r NodeRecord) Supersedes(o NodeRecord) bool {
	if r.Incarnation != o.Incarnation {
		return r.Incarnation > o.Incarnation
	}
	if rp, op := r.Status.precedence(), o.Status.precedence(); rp != op {
		return rp > op
	}
	if r.NodeID != o.NodeID {
		return r.NodeID > o.NodeID
	}
	return bytes.Compare(r.Meta, o.Meta) > 0
}

// validate checks r against the record rules: a node ID, an authority, a
// defined status, and metadata of at most maxMeta bytes (no bound when
// maxMeta <= 0). Errors wrap ErrInvalidRecord. The table and the coordinator
// both hold records to these rules.
func (r NodeRecord) validate(maxMeta int) error {
	switch {
	case r.NodeID == "":
		return fmt.Errorf("%w: empty NodeID (authority %q)", ErrInvalidRecord, r.Authority)
	case r.Authority == "":
		return fmt.Errorf("%w: empty Authority (node %q)", ErrInvalidRecord, r.NodeID)
	case !r.Status.Valid():
		return fmt.Errorf("%w: unknown status %d for %s", ErrInvalidRecord, uint8(r.Status), r.Authority)
	case maxMeta > 0 && len(r.Meta) > maxMeta:
		return fmt.Errorf("%w: metadata of %s is %d bytes, over %d", ErrInvalidRecord, r.Authority, len(r.Meta), maxMeta)
	}
	return nil
}
