package crawler

import (
	"context"
	"net"
	"net/netip"
	"syscall"

	"riskmine/netguard"
)

// ErrBlockedAddress is returned (wrapped) when a request would reach an
// address the SSRF guard refuses.
var ErrBlockedAddress = netguard.ErrBlocked

// addrGuard decides which resolved addresses may be dialled: the shared
// guard of package netguard, with a source's allow_private.
type addrGuard struct {
	allowPrivate bool
	// exempt, when set, lets exact addresses through; tests use it to stand a
	// loopback server in for a public one.
	exempt func(netip.AddrPort) bool
}

func (g *addrGuard) guard() *netguard.Guard {
	return &netguard.Guard{AllowPrivate: g.allowPrivate, Exempt: g.exempt}
}

// check returns nil when ap may be dialled.
func (g *addrGuard) check(ap netip.AddrPort) error { return g.guard().Check(ap) }

// control is a net.Dialer Control hook (see netguard.Guard.Control).
func (g *addrGuard) control(network, address string, c syscall.RawConn) error {
	return g.guard().Control(network, address, c)
}

// checkHost refuses a target early (see netguard.Guard.CheckHost).
func (g *addrGuard) checkHost(ctx context.Context, host, port string, lookup func(ctx context.Context, host string) ([]net.IPAddr, error)) error {
	return g.guard().CheckHost(ctx, host, port, lookup)
}
