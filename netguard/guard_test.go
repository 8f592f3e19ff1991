package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestGuardAddresses(t *testing.T) {
	strict := &Guard{}
	open := &Guard{AllowPrivate: true}
	cases := []struct {
		addr        string
		strictOK    bool
		allowPrivOK bool
		reason      string
	}{
		{"127.0.0.1:80", false, true, "loopback"},
		{"127.8.9.10:80", false, true, "loopback"},
		{"[::1]:443", false, true, "loopback"},
		{"10.1.2.3:80", false, true, "private"},
		{"172.16.0.1:80", false, true, "private"},
		{"192.168.1.1:80", false, true, "private"},
		{"[fd12::1]:80", false, true, "private"},
		{"169.254.10.10:80", false, true, "link-local"},
		{"[fe80::1]:80", false, true, "link-local"},
		{"[fe80::1%eth0]:80", false, true, "link-local"},
		{"224.0.0.1:80", false, true, "multicast"},
		{"0.0.0.0:80", false, true, "unspecified"},
		{"[::]:80", false, true, "unspecified"},
		{"100.64.1.1:80", false, true, "reserved"},
		{"255.255.255.255:80", false, true, "reserved"},
		{"[fec0::1]:80", false, true, "reserved"},
		// IPv6 forms carrying an IPv4 address are judged by it.
		{"[::ffff:127.0.0.1]:80", false, true, "loopback"},
		{"[::127.0.0.1]:80", false, true, "loopback"},
		{"[::10.0.0.1]:80", false, true, "private"},
		{"[::ffff:0:7f00:1]:80", false, true, "loopback"},
		{"[64:ff9b::7f00:1]:80", false, true, "loopback"},
		{"[2002:7f00:1::1]:80", false, true, "loopback"},
		{"[2002:a9fe:a9fe::1]:80", false, false, "metadata"},
		{"[2002:c0a8:101::1]:80", false, true, "private"},
		{"[2001:0:4136:e378:8000:63bf:80ff:fffe]:80", false, true, "loopback"}, // Teredo client 127.0.0.1
		{"[64:ff9b::a9fe:a9fe]:80", false, false, "metadata"},
		{"[::a9fe:a9fe]:80", false, false, "metadata"},
		{"[64:ff9b::5db8:d822]:80", true, true, ""},
		{"[2002:5db8:d822::1]:80", true, true, ""},
		// Metadata is refused even where private addresses are allowed.
		{"169.254.169.254:80", false, false, "metadata"},
		{"[::ffff:169.254.169.254]:80", false, false, "metadata"},
		{"168.63.129.16:80", false, false, "metadata"},
		{"169.254.0.23:80", false, false, "metadata"},
		{"[fd00:ec2::254]:80", false, false, "metadata"},
		{"100.100.100.200:80", false, false, "metadata"},
		{"93.184.216.34:80", true, true, ""},
		{"[2606:4700::1111]:443", true, true, ""},
	}
	for _, c := range cases {
		ap := netip.MustParseAddrPort(c.addr)
		err := strict.Check(ap)
		if (err == nil) != c.strictOK {
			t.Errorf("strict Check(%s) = %v, want ok=%v", c.addr, err, c.strictOK)
		}
		if err != nil && (!strings.Contains(err.Error(), c.reason) || !errors.Is(err, ErrBlocked)) {
			t.Errorf("strict Check(%s) = %v, want reason %q", c.addr, err, c.reason)
		}
		if err := open.Check(ap); (err == nil) != c.allowPrivOK {
			t.Errorf("AllowPrivate Check(%s) = %v, want ok=%v", c.addr, err, c.allowPrivOK)
		}
	}
}

func TestCheckHostAndControl(t *testing.T) {
	g := &Guard{}
	lookup := func(_ context.Context, host string) ([]net.IPAddr, error) {
		switch host {
		case "inside.test":
			return []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}}, nil
		case "both.test":
			return []net.IPAddr{{IP: net.ParseIP("10.0.0.1")}, {IP: net.ParseIP("93.184.216.34")}}, nil
		}
		return nil, errors.New("no such host")
	}
	if err := g.CheckHost(context.Background(), "inside.test", "80", lookup); !errors.Is(err, ErrBlocked) {
		t.Errorf("a name resolving to loopback: %v", err)
	}
	if err := g.CheckHost(context.Background(), "both.test", "443", lookup); err != nil {
		t.Errorf("a name with a public address: %v (the dial checks each address)", err)
	}
	if err := g.CheckHost(context.Background(), "::ffff:127.0.0.1", "80", nil); !errors.Is(err, ErrBlocked) {
		t.Errorf("a literal mapped loopback: %v", err)
	}
	if err := g.Control("tcp", "garbage", nil); !errors.Is(err, ErrBlocked) {
		t.Errorf("unparsable dial address: %v", err)
	}
	if err := g.Control("tcp6", "[::1]:80", nil); !errors.Is(err, ErrBlocked) {
		t.Errorf("dial to ::1: %v", err)
	}
}
