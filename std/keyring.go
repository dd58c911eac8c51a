package std

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hearsay-go/hearsay/core"
)

// SEALED DATAGRAMS — how the UDP transport with a Keyring frames a datagram.
//
// A sealed datagram keeps the envelope header of the wire format (magic,
// version, label length, label) in the clear, with the version byte set to
// sealedWireVersion, and replaces the msgpack message by its AES-256-GCM
// sealing:
//
//	offset  size  field
//	0       2     magic: 'h' 's'
//	2       1     sealedWireVersion (0x81)
//	3       1     label length L
//	4       L     cluster label
//	4+L     12    nonce, random (crypto/rand) for every datagram
//	16+L    ...   AES-256-GCM ciphertext of the msgpack message, then the
//	              16-byte tag
//
// The additional authenticated data is the clear header (bytes 0 to 4+L), so
// the label and version are authenticated too: a datagram cannot be moved to
// another cluster by rewriting its label. The sealing adds SealOverhead bytes
// to a datagram. The key is not named in the datagram: the receiver tries its
// keys, primary first, so a cluster in the middle of a rotation (some nodes
// sending under the new key, some under the old) keeps working as long as
// every node still accepts both.
//
// The version byte tells a sealed datagram from a plain one (wireVersion).
// Under PlaintextRefused, the default, a plain datagram is dropped; under
// the other PlaintextPolicy values it is decoded as without a keyring.

const (
	// KeySize is the length of every keyring key: AES-256.
	KeySize = 32
	// sealedWireVersion is the version byte of a sealed datagram's header.
	sealedWireVersion = 0x81
	// SealOverhead is how many bytes sealing adds to a datagram: the nonce
	// and the GCM tag.
	SealOverhead = nonceBytes + tagBytes
)

const (
	nonceBytes = 12
	tagBytes   = 16
)

// Keyring errors; match them with errors.Is.
var (
	// ErrInvalidKey: a key is not KeySize bytes long.
	ErrInvalidKey = errors.New("hearsay: invalid key")
	// ErrUnknownKey: the key is not in the keyring.
	ErrUnknownKey = errors.New("hearsay: key not in keyring")
	// ErrRemovePrimary: the primary key cannot be removed; make another key
	// primary first.
	ErrRemovePrimary = errors.New("hearsay: cannot remove the primary key")
	// errUnauthenticated: a datagram is not sealed, or not under any key of
	// the keyring, or was altered.
	errUnauthenticated = errors.New("hearsay: unauthenticated datagram")
)

// PlaintextPolicy says what a transport with a Keyring does with unsealed
// (plain) datagrams. It exists to turn encryption on in a running cluster
// that has no keyring, without downtime, one node at a time; each step must
// be finished on every node before the next one starts:
//
//  1. Restart every node, one at a time, with the keyring and
//     PlaintextSent. Restarted nodes still send plain datagrams, so the
//     nodes not yet restarted understand them, and they already read
//     sealed ones.
//  2. On every node, SetPlaintextPolicy(PlaintextAccepted). Nodes start
//     sealing what they send; every node still accepts both, and every node
//     can read sealed datagrams since step 1.
//  3. On every node, SetPlaintextPolicy(PlaintextRefused). Plain datagrams
//     are dropped from now on (TransportStats.DroppedAuth).
//
// Step 3 is safe once TransportStats.ReceivedPlaintext stops growing on
// every node: no one sends plain any more.
//
// Under PlaintextSent and PlaintextAccepted the cluster is as open as one
// without a keyring: anyone who can reach a node's port can send it plain
// datagrams, which are accepted. Only PlaintextRefused authenticates.
type PlaintextPolicy int

const (
	// PlaintextRefused seals every datagram sent and drops every unsealed
	// one received (counted in TransportStats.DroppedAuth). The default.
	PlaintextRefused PlaintextPolicy = iota
	// PlaintextAccepted seals every datagram sent and also accepts unsealed
	// ones (counted in TransportStats.ReceivedPlaintext): step 2 of enabling
	// encryption.
	PlaintextAccepted
	// PlaintextSent sends unsealed datagrams and accepts both sealed and
	// unsealed ones: step 1 of enabling encryption.
	PlaintextSent
)

func (p PlaintextPolicy) String() string {
	switch p {
	case PlaintextRefused:
		return "refused"
	case PlaintextAccepted:
		return "accepted"
	case PlaintextSent:
		return "sent"
	}
	return fmt.Sprintf("PlaintextPolicy(%d)", int(p))
}

func (p PlaintextPolicy) valid() bool { return p >= PlaintextRefused && p <= PlaintextSent }

// Keyring holds the keys that seal and open datagrams: one primary key that
// seals everything sent, and any number of other keys that are accepted on
// receipt. It lets a cluster rotate keys without downtime, one node at a
// time, each step safe while the cluster is mixed:
//
//  1. AddKey(new) on every node (all still send under the old key);
//  2. UseKey(new) on every node (some send under new, some under old: both
//     are accepted everywhere);
//  3. RemoveKey(old) on every node.
//
// A keyring also holds a PlaintextPolicy (default PlaintextRefused), which
// lets a cluster without a keyring turn encryption on without downtime.
//
// A Keyring is safe for concurrent use: a transport seals and opens on its
// goroutines while an operator rotates keys or changes the policy. Keys are
// copied in and out. Create one with NewKeyring or ParseKeyring; the zero
// value is not usable.
type Keyring struct {
	mu     sync.Mutex // serialises key changes; readers use state alone
	state  atomic.Pointer[keyringState]
	policy atomic.Int32 // a PlaintextPolicy
}

// keyringState is one immutable version of a keyring: keys[0] is primary.
type keyringState struct {
	keys  [][]byte
	aeads []cipher.AEAD
}

// NewKeyring returns a keyring sealing with primary and also accepting
// others. Every key must be KeySize bytes (AES-256); duplicates are kept
// once.
func NewKeyring(primary []byte, others ...[]byte) (*Keyring, error) {
	k := &Keyring{}
	st := &keyringState{}
	for _, key := range append([][]byte{primary}, others...) {
		var err error
		if st, err = st.with(key); err != nil {
			return nil, err
		}
	}
	k.state.Store(st)
	return k, nil
}

// ParseKeyring reads a keyring from text: one base64 (standard encoding)
// key per line, the first being the primary; blank lines and lines starting
// with '#' are skipped. It is the format of the agent's --keyring file.
func ParseKeyring(text []byte) (*Keyring, error) {
	var keys [][]byte
	for i, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d is not base64: %v", ErrInvalidKey, i+1, err)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("%w: line %d holds %d bytes, want %d", ErrInvalidKey, i+1, len(key), KeySize)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key found", ErrInvalidKey)
	}
	return NewKeyring(keys[0], keys[1:]...)
}

// GenerateKey returns a new random key from crypto/rand.
func GenerateKey() ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, nil
}

// with returns a copy of s with key added at the end (unchanged if present).
func (s *keyringState) with(key []byte) (*keyringState, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d (AES-256)", ErrInvalidKey, len(key), KeySize)
	}
	if s.index(key) >= 0 {
		return s, nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return &keyringState{
		keys:  append(cloneKeys(s.keys), bytes.Clone(key)),
		aeads: append(append([]cipher.AEAD(nil), s.aeads...), aead),
	}, nil
}

func (s *keyringState) index(key []byte) int {
	for i, k := range s.keys {
		if bytes.Equal(k, key) {
			return i
		}
	}
	return -1
}

func cloneKeys(keys [][]byte) [][]byte {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = bytes.Clone(k)
	}
	return out
}

// AddKey adds key to the keys accepted on receipt (step 1 of a rotation).
// Adding a key already present is a no-op.
func (k *Keyring) AddKey(key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	st, err := k.state.Load().with(key)
	if err != nil {
		return err
	}
	k.state.Store(st)
	return nil
}

// UseKey makes key, which must already be in the keyring, the primary key:
// datagrams sent from now on are sealed with it (step 2 of a rotation).
func (k *Keyring) UseKey(key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur := k.state.Load()
	i := cur.index(key)
	if i < 0 {
		return ErrUnknownKey
	}
	st := &keyringState{keys: cloneKeys(cur.keys), aeads: append([]cipher.AEAD(nil), cur.aeads...)}
	st.keys[0], st.keys[i] = st.keys[i], st.keys[0]
	st.aeads[0], st.aeads[i] = st.aeads[i], st.aeads[0]
	k.state.Store(st)
	return nil
}

// RemoveKey stops accepting key (step 3 of a rotation). It refuses to remove
// the primary key (ErrRemovePrimary) and reports ErrUnknownKey for a key not
// in the keyring.
func (k *Keyring) RemoveKey(key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur := k.state.Load()
	i := cur.index(key)
	switch {
	case i < 0:
		return ErrUnknownKey
	case i == 0:
		return ErrRemovePrimary
	}
	st := &keyringState{
		keys:  append(cloneKeys(cur.keys[:i]), cloneKeys(cur.keys[i+1:])...),
		aeads: append(append([]cipher.AEAD(nil), cur.aeads[:i]...), cur.aeads[i+1:]...),
	}
	k.state.Store(st)
	return nil
}

// Keys returns copies of the keys, the primary first.
func (k *Keyring) Keys() [][]byte { return cloneKeys(k.state.Load().keys) }

// PrimaryKey returns a copy of the primary key.
func (k *Keyring) PrimaryKey() []byte { return bytes.Clone(k.state.Load().keys[0]) }

// SetPlaintextPolicy changes what the keyring does with unsealed datagrams,
// effective for the next datagram sent or received (see PlaintextPolicy for
// the procedure). An unknown value fails with an error wrapping
// core.ErrInvalidConfig and changes nothing.
func (k *Keyring) SetPlaintextPolicy(p PlaintextPolicy) error {
	if !p.valid() {
		return fmt.Errorf("%w: unknown %v", core.ErrInvalidConfig, p)
	}
	k.policy.Store(int32(p))
	return nil
}

// PlaintextPolicy returns the current policy for unsealed datagrams.
func (k *Keyring) PlaintextPolicy() PlaintextPolicy { return PlaintextPolicy(k.policy.Load()) }

// seal appends to dst the sealed datagram of the plain envelope env (as
// appendEnvelope writes it): env's header with the sealed version, a random
// nonce, and the sealing of env's message under the primary key.
func (k *Keyring) seal(dst, env []byte) ([]byte, error) {
	hl, ok := headerLen(env)
	if !ok || env[2] != wireVersion {
		return dst, fmt.Errorf("hearsay: seal: not a plain envelope")
	}
	start := len(dst)
	dst = append(dst, env[:hl]...)
	dst[start+2] = sealedWireVersion
	dst = append(dst, make([]byte, nonceBytes)...)
	nonce := dst[start+hl : start+hl+nonceBytes]
	if _, err := rand.Read(nonce); err != nil {
		return dst[:start], fmt.Errorf("hearsay: seal: nonce: %w", err)
	}
	aead := k.state.Load().aeads[0]
	return aead.Seal(dst, nonce, env[hl:], dst[start:start+hl]), nil
}

// open checks and opens a sealed datagram and appends the plain envelope it
// carries to dst. It fails with errWrongLabel (in a *decodeError) when the
// datagram has a readable header with another label than label, and with
// errUnauthenticated for anything else that does not open under a key of
// the keyring: a plain envelope, random bytes, an altered or truncated
// datagram, a key the keyring does not hold.
func (k *Keyring) open(dst, b []byte, label string) ([]byte, error) {
	hl, ok := headerLen(b)
	if !ok {
		return dst, errUnauthenticated
	}
	if string(b[4:hl]) != label {
		return dst, &decodeError{Field: "label", Index: -1, Offset: 4, Err: errWrongLabel,
			Detail: fmt.Sprintf("got %q, want %q", b[4:hl], label)}
	}
	if b[2] != sealedWireVersion || len(b) < hl+SealOverhead {
		return dst, errUnauthenticated
	}
	start := len(dst)
	nonce, sealed := b[hl:hl+nonceBytes], b[hl+nonceBytes:]
	for _, aead := range k.state.Load().aeads {
		// A failed Open may scribble over dst: write the header each time.
		dst = append(dst[:start], b[:hl]...)
		dst[start+2] = wireVersion
		if out, err := aead.Open(dst, nonce, sealed, b[:hl]); err == nil {
			return out, nil
		}
	}
	return dst[:start], errUnauthenticated
}

// isPlain reports whether b starts like an unsealed envelope: magic and
// wireVersion. Whether the rest is sound is for the decoder to say.
func isPlain(b []byte) bool {
	return len(b) >= 3 && b[0] == wireMagic[0] && b[1] == wireMagic[1] && b[2] == wireVersion
}

// headerLen returns the length of the clear envelope header of b (magic,
// version, label length, label), and whether b has one.
func headerLen(b []byte) (int, bool) {
	if len(b) < envelopeHeaderBytes || b[0] != wireMagic[0] || b[1] != wireMagic[1] {
		return 0, false
	}
	hl := envelopeHeaderBytes + int(b[3])
	return hl, len(b) >= hl
}

// sealOverhead is what k adds to every datagram: 0 for a nil keyring.
func (k *Keyring) sealOverhead() int {
	if k == nil {
		return 0
	}
	return SealOverhead
}
