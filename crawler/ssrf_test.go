package crawler

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGuardAddresses(t *testing.T) {
	strict := &addrGuard{}
	open := &addrGuard{allowPrivate: true}
	cases := []struct {
		addr         string
		strictOK     bool
		allowPrivOK  bool
		reasonSubstr string
	}{
		{"127.0.0.1:80", false, true, "loopback"},
		{"[::1]:443", false, true, "loopback"},
		{"10.1.2.3:80", false, true, "private"},
		{"172.16.0.1:80", false, true, "private"},
		{"192.168.1.1:80", false, true, "private"},
		{"[fd12::1]:80", false, true, "private"},
		{"169.254.10.10:80", false, true, "link-local"},
		{"[fe80::1]:80", false, true, "link-local"},
		{"224.0.0.1:80", false, true, "multicast"},
		{"0.0.0.0:80", false, true, "unspecified"},
		{"100.64.1.1:80", false, true, "reserved"},
		{"[::ffff:127.0.0.1]:80", false, true, "loopback"},
		{"[64:ff9b::7f00:1]:80", false, true, "loopback"},
		{"[64:ff9b::a9fe:a9fe]:80", false, false, "metadata"},
		{"[64:ff9b::5db8:d822]:80", true, true, ""},
		{"169.254.169.254:80", false, false, "metadata"},
		{"[fd00:ec2::254]:80", false, false, "metadata"},
		{"100.100.100.200:80", false, false, "metadata"},
		{"93.184.216.34:80", true, true, ""},
		{"[2606:4700::1111]:443", true, true, ""},
	}
	for _, c := range cases {
		ap := netip.MustParseAddrPort(c.addr)
		err := strict.check(ap)
		if (err == nil) != c.strictOK {
			t.Errorf("strict check(%s) = %v, want ok=%v", c.addr, err, c.strictOK)
		}
		if err != nil && !strings.Contains(err.Error(), c.reasonSubstr) {
			t.Errorf("strict check(%s) = %v, want reason %q", c.addr, err, c.reasonSubstr)
		}
		if err := open.check(ap); (err == nil) != c.allowPrivOK {
			t.Errorf("allow_private check(%s) = %v, want ok=%v", c.addr, err, c.allowPrivOK)
		}
	}
}

func TestSSRFRefusal(t *testing.T) {
	var secretHits atomic.Int64
	secret := newSite(t, map[string]http.HandlerFunc{
		"/robots.txt": func(w http.ResponseWriter, r *http.Request) {
			// Asked for at each authority a redirect reaches (with allow_private).
			http.NotFound(w, r)
		},
		"/": func(w http.ResponseWriter, r *http.Request) {
			secretHits.Add(1)
			writeHTML(w, "text/html", []byte(article("内部页面", zhPara)))
		},
	})
	secretURL := secret.URL
	secretPort := secretURL[strings.LastIndex(secretURL, ":")+1:]
	// "public" stands in for a public server: the guard lets its exact
	// address through, and it redirects to loopback addresses.
	public := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/to-ip">1</a><a class=item href="/to-name">2</a><a class=item href="/to-rebind">3</a><a class=item href="/ok.html">4</a>`))
		},
		"/to-ip": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, secretURL+"/a", http.StatusFound) },
		"/to-name": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://localhost:"+secretPort+"/b", http.StatusFound)
		},
		"/to-rebind": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://news.example.com:"+secretPort+"/c", http.StatusFound)
		},
		"/ok.html": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("公开页面", zhPara)))
		},
	})
	publicAddr := netip.MustParseAddrPort(strings.TrimPrefix(public.URL, "http://"))
	// news.example.com "resolves" to loopback, as a rebinding DNS answer would.
	lookup := func(ctx context.Context, host string) ([]net.IPAddr, error) {
		if host == "news.example.com" || host == "localhost" {
			return []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	c, _ := newTestCrawler(t, func(o *Options) {
		o.lookup = lookup
		o.guardExempt = func(ap netip.AddrPort) bool { return ap == publicAddr }
	})
	src := htmlSource("ssrf", public, "/list")
	src.AllowPrivate = false
	src.AllowedDomains = []string{"127.0.0.1", "localhost", "news.example.com"}
	sink := &pageSink{}
	start := time.Now()
	run := runOnce(t, c, src, sink)
	t.Logf("first run %v", time.Since(start))
	pages := sink.take()
	if secretHits.Load() != 0 {
		t.Fatalf("the loopback server was reached %d times", secretHits.Load())
	}
	if len(pages) != 1 || run.Errors["blocked"] != 3 {
		t.Fatalf("pages %d, run %+v; want the public page only and 3 refusals", len(pages), run)
	}

	// A seed on loopback is refused too, as is a seed whose name resolves there.
	for _, seed := range []string{secretURL + "/", "http://news.example.com:" + secretPort + "/"} {
		src := Source{Name: "direct", Kind: KindHTML, Seeds: []string{seed}, List: ListSelectors{Items: "a"}}
		start := time.Now()
		run := runOnce(t, c, src, sink)
		t.Logf("seed %s: %v", seed, time.Since(start))
		if run.Errors["blocked"] != 1 || secretHits.Load() != 0 {
			t.Fatalf("seed %s: run %+v, secret hits %d", seed, run, secretHits.Load())
		}
	}

	// With allow_private the same redirects are followed.
	src.AllowPrivate = true
	src.Name = "ssrf-allowed"
	run = runOnce(t, c, src, sink)
	if run.New != 3 || run.Unchanged != 1 || secretHits.Load() != 3 { // ok.html is known from the first run
		t.Fatalf("allow_private: run %+v, secret hits %d", run, secretHits.Load())
	}
}
