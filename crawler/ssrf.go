package crawler

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlockedAddress is returned (wrapped) when a request would reach an
// address the SSRF guard refuses.
var ErrBlockedAddress = errors.New("crawler: address refused by the SSRF guard")

// metadataAddrs are cloud instance-metadata endpoints, refused even when a
// source allows private addresses: they hand out credentials.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IPv6
}

// extraBlocked are ranges that are not "private" by net/netip's definition
// but must not be reached from a crawler either.
var extraBlocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
}

// nat64 is the well-known NAT64 prefix (RFC 6052).
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// addrGuard decides which resolved addresses may be dialled.
type addrGuard struct {
	allowPrivate bool
	// exempt, when set, lets exact addresses through; tests use it to stand a
	// loopback server in for a public one.
	exempt func(netip.AddrPort) bool
}

// check returns nil when ap may be dialled.
func (g *addrGuard) check(ap netip.AddrPort) error {
	if g.exempt != nil && g.exempt(ap) {
		return nil
	}
	ip := ap.Addr().Unmap()
	if nat64.Contains(ip) {
		// A NAT64 address reaches the IPv4 address in its last 32 bits.
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return fmt.Errorf("%w: %s is a cloud metadata address", ErrBlockedAddress, ip)
		}
	}
	if g.allowPrivate {
		return nil
	}
	switch {
	case ip.IsLoopback():
		return fmt.Errorf("%w: %s is loopback", ErrBlockedAddress, ip)
	case ip.IsPrivate():
		return fmt.Errorf("%w: %s is private", ErrBlockedAddress, ip)
	case ip.IsMulticast():
		return fmt.Errorf("%w: %s is multicast", ErrBlockedAddress, ip)
	case ip.IsLinkLocalUnicast():
		return fmt.Errorf("%w: %s is link-local", ErrBlockedAddress, ip)
	case ip.IsUnspecified():
		return fmt.Errorf("%w: %s is unspecified", ErrBlockedAddress, ip)
	}
	for _, p := range extraBlocked {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in reserved range %s", ErrBlockedAddress, ip, p)
		}
	}
	return nil
}

// control is a net.Dialer Control hook: it runs after DNS resolution with
// the literal address about to be connected, so it covers redirects, every
// address of a multi-address name and DNS rebinding alike.
func (g *addrGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dial address %q", ErrBlockedAddress, address)
	}
	return g.check(ap)
}

// checkHost refuses a redirect target early when its host is a literal
// address the guard would refuse, or a name that resolves only to such
// addresses. The dial-time check stays the authority; this gives a clear
// error before any connection is tried.
func (g *addrGuard) checkHost(ctx context.Context, host, port string, lookup func(ctx context.Context, host string) ([]net.IPAddr, error)) error {
	p := uint16(80)
	if n, err := netip.ParseAddrPort("0.0.0.0:" + port); err == nil {
		p = n.Port()
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return g.check(netip.AddrPortFrom(ip, p))
	}
	if lookup == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := lookup(ctx, host)
	if err != nil || len(addrs) == 0 {
		return nil // the dial reports resolution errors itself
	}
	var first error
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		if err := g.check(netip.AddrPortFrom(ip.Unmap(), p)); err == nil {
			return nil
		} else if first == nil {
			first = err
		}
	}
	return first
}
