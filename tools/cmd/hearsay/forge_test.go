package main

import (
	"testing"

	"github.com/hearsay-go/hearsay/core"
	"github.com/shamaton/msgpack/v2"
)

// wireRecord and wireMessage mirror core.NodeRecord and core.Message as the
// wire carries them (std/wire.go): msgpack arrays of their fields in order.
type wireRecord struct {
	NodeID      string
	Authority   string
	Status      uint8
	Incarnation uint64
	Meta        []byte
}

type wireMessage struct {
	Kind    uint8
	From    string
	FromID  string
	Seq     uint64
	Entries []wireRecord
	Digest  []uint64
	Want    []uint32
}

// forgeDatagram returns the plain (unsealed) datagram of m with label, as a
// node without a keyring would send it, written independently of std's
// encoder: what anyone who can reach a member's port can send.
func forgeDatagram(t *testing.T, label string, m core.Message) []byte {
	t.Helper()
	w := wireMessage{Kind: uint8(m.Kind), From: m.From, FromID: m.FromID, Seq: m.Seq, Digest: m.Digest, Want: m.Want}
	for _, r := range m.Entries {
		w.Entries = append(w.Entries, wireRecord{NodeID: r.NodeID, Authority: r.Authority, Status: uint8(r.Status),
			Incarnation: r.Incarnation, Meta: r.Meta})
	}
	body, err := msgpack.MarshalAsArray(w)
	if err != nil {
		t.Fatal(err)
	}
	// magic "hs", protocol version 1, label length, label, message.
	out := append([]byte{'h', 's', 1, byte(len(label))}, label...)
	return append(out, body...)
}
