package std

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hearsay-go/hearsay/core"
)

// Bounds of TransportConfig.MaxDatagramBytes.
const (
	// MinDatagramBytes is the smallest MaxDatagramBytes accepted (the IPv4
	// minimum reassembly size less headers is 548; 512 leaves room for a
	// heartbeat with a few records).
	MinDatagramBytes = 512
	// MaxDatagramBytes is the largest MaxDatagramBytes accepted: the largest
	// UDP payload over IPv4.
	MaxDatagramBytes = maxUDPPayload
	// defaultDatagramBytes fits a 1500-byte Ethernet MTU with room for IP,
	// UDP and tunnel headers.
	defaultDatagramBytes = 1400
)

// TransportConfig configures a Node's UDP socket (Config.Transport).
// DefaultConfig fills it in; every field is checked by Config.Validate.
type TransportConfig struct {
	// BindAddr is the local address to listen on, "ip:port". An IPv4 literal
	// binds an IPv4 socket, an IPv6 literal an IPv6 socket; an empty host
	// (":7946") binds a dual-stack socket. Port 0 picks a free port (see
	// Node.Addr). Host names are not accepted.
	BindAddr string
	// AdvertiseAddr is the "ip:port" other members reach this node at, when
	// it differs from the bound address (NAT, a wildcard bind). Empty means:
	// the bound address, or, for a wildcard bind, this host's first private
	// (else global) unicast address with the bound port.
	AdvertiseAddr string
	// Label is the cluster label carried by every datagram (at most
	// MaxLabelBytes). Datagrams with another label are dropped, so two
	// clusters sharing a network cannot merge by accident.
	Label string
	// MaxDatagramBytes bounds every datagram sent and received, in
	// [MinDatagramBytes, MaxDatagramBytes]; DefaultConfig sets 1400, which
	// fits a 1500-byte Ethernet MTU with room for IP, UDP and tunnel
	// headers. A larger datagram that arrives is counted and dropped, never
	// half-read.
	MaxDatagramBytes int
	// InboundCapacity is how many decoded messages wait for PollDeltas before
	// new arrivals are dropped (counted), >= 1; DefaultConfig sets 1024. The
	// queue grows to it only under load; it is not allocated up front.
	InboundCapacity int
	// OutboundCapacity is how many encoded datagrams wait for the socket
	// before a send fails with a full queue (counted), >= 1; DefaultConfig
	// sets 1024.
	OutboundCapacity int
	// Filter drops datagrams from unwanted sources before they are decoded.
	Filter Filter
	// Keyring, when set, seals every datagram sent with its primary key
	// (AES-256-GCM, the label authenticated) and drops, before decoding,
	// every datagram that does not open under one of its keys (counted in
	// TransportStats.DroppedAuth). Nil sends and accepts plain datagrams:
	// the cluster is then open to anyone who can reach its port. The
	// keyring's PlaintextPolicy, changeable while the transport runs, can
	// relax this to accept plain datagrams too (and send them), so that
	// encryption can be turned on in a running cluster. See Keyring,
	// PlaintextPolicy and SECURITY.md.
	Keyring *Keyring
}

// defaultTransportConfig returns a config listening on 0.0.0.0:7946 with
// 1400-byte datagrams and 1024-message queues.
func defaultTransportConfig() TransportConfig {
	return TransportConfig{
		BindAddr:         "0.0.0.0:7946",
		MaxDatagramBytes: defaultDatagramBytes,
		InboundCapacity:  1024,
		OutboundCapacity: 1024,
	}
}

// validate checks every field and returns an error wrapping
// core.ErrInvalidConfig that names the first bad one, or nil.
func (c *TransportConfig) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: Config.Transport.%s %s", core.ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	if _, _, err := parseBindAddr(c.BindAddr); err != nil {
		return bad("BindAddr", "%v", err)
	}
	if c.AdvertiseAddr != "" {
		ap, err := netip.ParseAddrPort(c.AdvertiseAddr)
		switch {
		case err != nil:
			return bad("AdvertiseAddr", "must be \"ip:port\": %v", err)
		case ap.Addr().IsUnspecified():
			return bad("AdvertiseAddr", "must not be a wildcard address, got %q", c.AdvertiseAddr)
		case ap.Port() == 0:
			return bad("AdvertiseAddr", "must have a non-zero port, got %q", c.AdvertiseAddr)
		case ap.Addr().IsMulticast():
			return bad("AdvertiseAddr", "must not be a multicast address, got %q", c.AdvertiseAddr)
		case !canonicalAuthority(c.AdvertiseAddr):
			// Peers refuse an authority in any other spelling.
			return bad("AdvertiseAddr", "must be written in canonical form, %q rather than %q",
				netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), c.AdvertiseAddr)
		}
	}
	if len(c.Label) > MaxLabelBytes {
		return bad("Label", "is %d bytes, over %d", len(c.Label), MaxLabelBytes)
	}
	if c.MaxDatagramBytes < MinDatagramBytes || c.MaxDatagramBytes > MaxDatagramBytes {
		return bad("MaxDatagramBytes", "must be in [%d, %d], got %d", MinDatagramBytes, MaxDatagramBytes, c.MaxDatagramBytes)
	}
	if c.maxMessageBytes() < 256 {
		return bad("MaxDatagramBytes", "%d leaves %d bytes for a message after the label and sealing, under 256",
			c.MaxDatagramBytes, c.maxMessageBytes())
	}
	if c.InboundCapacity < 1 {
		return bad("InboundCapacity", "must be >= 1, got %d", c.InboundCapacity)
	}
	if c.OutboundCapacity < 1 {
		return bad("OutboundCapacity", "must be >= 1, got %d", c.OutboundCapacity)
	}
	if err := c.Filter.validate(); err != nil {
		return bad("Filter", "%v", err)
	}
	return nil
}

// maxMessageBytes is the core.Config.MaxMessageBytes this config leaves room
// for: the datagram less the envelope and, with a keyring, the sealing.
func (c *TransportConfig) maxMessageBytes() int {
	return MaxMessageBytes(c.MaxDatagramBytes, c.Label) - c.Keyring.sealOverhead()
}

// parseBindAddr parses "ip:port" or ":port" and returns the address (invalid
// for an empty host) and port.
func parseBindAddr(s string) (netip.Addr, uint16, error) {
	if rest, ok := strings.CutPrefix(s, ":"); ok {
		p, err := strconv.ParseUint(rest, 10, 16)
		if err != nil {
			return netip.Addr{}, 0, fmt.Errorf("must be \"ip:port\" or \":port\", got %q", s)
		}
		return netip.Addr{}, uint16(p), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("must be \"ip:port\" or \":port\" (no host names), got %q", s)
	}
	if ap.Addr().Zone() != "" && !ap.Addr().Is6() {
		return netip.Addr{}, 0, fmt.Errorf("zone on a non-IPv6 address %q", s)
	}
	return ap.Addr(), ap.Port(), nil
}

// Filter decides which source addresses may reach the coordinator. A source
// in any Deny prefix is dropped; otherwise, when Allow is not empty, a source
// must be in one of its prefixes. IPv4 sources (including IPv4-mapped IPv6
// ones on a dual-stack socket) are matched against IPv4 prefixes.
//
// A UDP source address can be spoofed: the filter keeps honest strangers and
// misconfigured peers out, it is not authentication.
type Filter struct {
	// Allow lists the prefixes sources must be in; empty allows all.
	Allow []netip.Prefix
	// Deny lists prefixes whose sources are always dropped; deny wins.
	Deny []netip.Prefix
}

// allowed reports whether a datagram from addr passes the filter.
func (f *Filter) allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range f.Deny {
		if p.Contains(addr) {
			return false
		}
	}
	if len(f.Allow) == 0 {
		return true
	}
	for _, p := range f.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func (f *Filter) validate() error {
	for i, p := range f.Allow {
		if !p.IsValid() {
			return fmt.Errorf("Allow[%d] is not a valid prefix", i)
		}
	}
	for i, p := range f.Deny {
		if !p.IsValid() {
			return fmt.Errorf("Deny[%d] is not a valid prefix", i)
		}
	}
	return nil
}

// normalized returns a copy with every prefix masked and IPv4-mapped
// prefixes turned into IPv4 ones, so that Allowed compares like with like.
func (f Filter) normalized() Filter {
	norm := func(ps []netip.Prefix) []netip.Prefix {
		out := make([]netip.Prefix, 0, len(ps))
		for _, p := range ps {
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
		}
		return out
	}
	return Filter{Allow: norm(f.Allow), Deny: norm(f.Deny)}
}
