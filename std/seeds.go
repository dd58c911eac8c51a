package std

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hearsay-go/hearsay/core"
)

// Resolver looks up the addresses of a seed's host name (Config.Resolver).
// *net.Resolver implements it; DefaultConfig sets net.DefaultResolver.
type Resolver interface {
	// LookupNetIP returns the IP addresses of host; network is "ip".
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// seed is one configured seed, "host:port", split.
type seed struct {
	text string     // as configured
	ip   netip.Addr // set when host is an IP literal
	host string     // the host name, when it is not
	port uint16
}

// parseSeed splits s, "host:port" with a numeric port above 0.
func parseSeed(s string) (seed, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return seed{}, fmt.Errorf("%q is not \"host:port\": %v", s, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return seed{}, fmt.Errorf("%q: the port must be a number from 1 to 65535", s)
	}
	if host == "" {
		return seed{}, fmt.Errorf("%q: the host is empty", s)
	}
	sd := seed{text: s, port: uint16(p)}
	if ip, err := netip.ParseAddr(host); err == nil {
		sd.ip = ip.Unmap()
	} else {
		sd.host = host
	}
	return sd, nil
}

// parseSeeds parses every seed; the error wraps core.ErrInvalidConfig and
// names the seed's place in field (as "Config.Seeds").
func parseSeeds(field string, seeds []string) ([]seed, error) {
	out := make([]seed, 0, len(seeds))
	for i, s := range seeds {
		sd, err := parseSeed(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s[%d] %v", core.ErrInvalidConfig, field, i, err)
		}
		out = append(out, sd)
	}
	return out, nil
}

// hasNames reports whether any seed is a host name (needs a Resolver).
func hasNames(seeds []seed) bool {
	return slices.ContainsFunc(seeds, func(s seed) bool { return s.host != "" })
}

// seedAddrs is what one seed resolved to at one attempt.
type seedAddrs struct {
	seed  seed
	addrs []netip.AddrPort // every address of the seed's host this node's socket can reach
	err   error            // why there is none
}

// resolve returns the addresses of s: the literal, or every address its
// name resolves to that a socket bound to bind can reach (an IPv4 socket
// cannot reach an IPv6 seed, nor the reverse; a wildcard bind reaches
// both).
func (s seed) resolve(ctx context.Context, r Resolver, bind netip.Addr) seedAddrs {
	out := seedAddrs{seed: s}
	if s.ip.IsValid() {
		out.addrs = []netip.AddrPort{netip.AddrPortFrom(s.ip, s.port)}
		return out
	}
	ips, err := r.LookupNetIP(ctx, "ip", s.host)
	if err != nil {
		out.err = err
		return out
	}
	family := bind.IsValid() && !bind.IsUnspecified()
	var other []string
	for _, ip := range ips {
		ip = ip.Unmap()
		if family && ip.Is4() != bind.Unmap().Is4() {
			other = append(other, ip.String())
			continue
		}
		ap := netip.AddrPortFrom(ip, s.port)
		if !slices.Contains(out.addrs, ap) {
			out.addrs = append(out.addrs, ap)
		}
	}
	switch {
	case len(out.addrs) > 0:
	case len(other) > 0:
		out.err = fmt.Errorf("%s resolves only to addresses of the other IP family (%s), which the socket bound to %s cannot reach",
			s.host, strings.Join(other, ", "), bind)
	default:
		out.err = fmt.Errorf("%s resolves to no address", s.host)
	}
	return out
}

// describe is what s resolved to, for the log: the addresses or the error.
func (s seedAddrs) describe() string {
	if s.err != nil {
		return "error: " + s.err.Error()
	}
	parts := make([]string, len(s.addrs))
	for i, a := range s.addrs {
		parts[i] = a.String()
	}
	return strings.Join(parts, ",")
}
