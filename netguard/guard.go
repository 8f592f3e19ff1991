// Package netguard keeps riskmine's outgoing requests (crawler fetches,
// webhook deliveries) away from addresses they must not reach: loopback,
// private and link-local networks unless allowed, and cloud metadata
// endpoints always. The check runs at dial time, on the literal address
// about to be connected, so redirects, multi-address names and DNS
// rebinding are covered alike; IPv6 forms that carry an IPv4 address
// (mapped, compatible, NAT64, 6to4, Teredo) are judged by that address.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlocked is returned (wrapped) when a request would reach an address
// the guard refuses.
var ErrBlocked = errors.New("address refused by the SSRF guard")

// metadata are cloud instance-metadata and platform endpoints, refused even
// when private addresses are allowed: they hand out credentials.
var metadata = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack, Huawei, Oracle
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
	netip.MustParseAddr("169.254.169.253"), // AWS VPC DNS
	netip.MustParseAddr("169.254.169.123"), // AWS time sync
	netip.MustParseAddr("169.254.0.23"),    // Tencent Cloud
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("168.63.129.16"),   // Azure wire server
	netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud (legacy)
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IPv6
	netip.MustParseAddr("fd00:ec2::23"),    // AWS IPv6 DNS
}

// reserved are ranges that are not "private" by net/netip's definition but
// must not be reached either.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("fec0::/10"),      // site-local (deprecated)
}

var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	compatible = netip.MustParsePrefix("::/96")           // IPv4-compatible (deprecated)
	translated = netip.MustParsePrefix("::ffff:0:0:0/96") // IPv4-translated (SIIT)
	sixToFour  = netip.MustParsePrefix("2002::/16")
	teredo     = netip.MustParsePrefix("2001::/32")
)

// Guard decides which addresses may be dialled. The zero value refuses
// loopback, private, link-local and reserved addresses and metadata.
type Guard struct {
	// AllowPrivate lets loopback, private, link-local and reserved
	// addresses through (an intranet source or receiver); metadata stays
	// refused.
	AllowPrivate bool
	// Exempt, when set, lets exact addresses through; tests use it to
	// stand a loopback server in for a public one.
	Exempt func(netip.AddrPort) bool
}

// embedded returns the IPv4 addresses an IPv6 address carries and reaches.
func embedded(ip netip.Addr) []netip.Addr {
	if !ip.Is6() {
		return nil
	}
	b := ip.As16()
	v4 := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{b[i], b[i+1], b[i+2], b[i+3]}) }
	switch {
	case nat64.Contains(ip), translated.Contains(ip):
		return []netip.Addr{v4(12)}
	case compatible.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
		return []netip.Addr{v4(12)}
	case sixToFour.Contains(ip):
		return []netip.Addr{v4(2)}
	case teredo.Contains(ip):
		// Server at bytes 4-7; the client address is the last 32 bits,
		// inverted.
		c := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return []netip.Addr{v4(4), netip.AddrFrom4(c)}
	}
	return nil
}

// Check returns nil when ap may be dialled.
func (g *Guard) Check(ap netip.AddrPort) error {
	if g.Exempt != nil && g.Exempt(ap) {
		return nil
	}
	ip := ap.Addr().Unmap().WithZone("")
	if err := g.checkOne(ip); err != nil {
		return err
	}
	for _, v4 := range embedded(ip) {
		if err := g.checkOne(v4); err != nil {
			return fmt.Errorf("%w (carried in %s)", err, ip)
		}
	}
	return nil
}

func (g *Guard) checkOne(ip netip.Addr) error {
	for _, m := range metadata {
		if ip == m {
			return fmt.Errorf("%w: %s is a cloud metadata address", ErrBlocked, ip)
		}
	}
	if g.AllowPrivate {
		return nil
	}
	switch {
	case ip.IsLoopback():
		return fmt.Errorf("%w: %s is loopback", ErrBlocked, ip)
	case ip.IsPrivate():
		return fmt.Errorf("%w: %s is private", ErrBlocked, ip)
	case ip.IsMulticast():
		return fmt.Errorf("%w: %s is multicast", ErrBlocked, ip)
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is link-local", ErrBlocked, ip)
	case ip.IsUnspecified():
		return fmt.Errorf("%w: %s is unspecified", ErrBlocked, ip)
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in reserved range %s", ErrBlocked, ip, p)
		}
	}
	return nil
}

// Control is a net.Dialer Control hook: it runs after DNS resolution with
// the literal address about to be connected.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dial address %q", ErrBlocked, address)
	}
	return g.Check(ap)
}

// CheckHost refuses a target early when its host is a literal address the
// guard would refuse, or a name that resolves only to such addresses. The
// dial-time check stays the authority; this gives a clear error before
// any connection is tried (and covers requests sent through a proxy).
func (g *Guard) CheckHost(ctx context.Context, host, port string, lookup func(ctx context.Context, host string) ([]net.IPAddr, error)) error {
	p := uint16(80)
	if n, err := netip.ParseAddrPort("0.0.0.0:" + port); err == nil {
		p = n.Port()
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return g.Check(netip.AddrPortFrom(ip, p))
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
		if err := g.Check(netip.AddrPortFrom(ip.Unmap(), p)); err == nil {
			return nil
		} else if first == nil {
			first = err
		}
	}
	return first
}

// Dialer returns a dialer whose every connection goes through the guard.
func (g *Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.Control}
}
