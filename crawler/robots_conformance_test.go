package crawler

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// robotsCase is one RFC 9309 conformance case: a site serves robots.txt
// (body and status), a source with the given User-Agent has every path of
// allow and deny as a seed, and the site records what it was asked for.
type robotsCase struct {
	name   string
	robots string
	status int    // of robots.txt; 0 is 200
	ua     string // source User-Agent; "" is the default riskmine/0.1
	// hops redirects robots.txt this many times before serving it.
	hops int
	// redirects maps a path to the path it redirects to.
	redirects map[string]string
	// maxBody is the crawler's page body limit (0: the test default).
	maxBody     int64
	allow       []string
	deny        []string
	unreachable bool // robots.txt requests are cut without an answer
}

// bigRobots returns a robots.txt of about size bytes of comments and
// harmless rules with rule placed after before bytes.
func bigRobots(size, before int, rule string) string {
	var b strings.Builder
	b.WriteString("User-agent: *\n")
	filler := "Disallow: /filler/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	for b.Len() < before {
		b.WriteString(filler)
	}
	b.WriteString(rule + "\n")
	for b.Len() < size {
		b.WriteString(filler)
	}
	return b.String()
}

// rfcExample is the robots.txt of RFC 9309 §5.1.
const rfcExample = `User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF
`

var robotsCases = []robotsCase{
	// RFC 9309 §5.1 and §5.2.
	{name: "rfc5.1 any crawler", robots: rfcExample, ua: "otherbot/1.0",
		allow: []string{"/publications/a.html", "/index.html"},
		deny:  []string{"/example/page.html", "/img/x.gif"}},
	{name: "rfc5.1 foobot", robots: rfcExample, ua: "FooBot/2.1",
		allow: []string{"/example/page.html", "/example/allowed.gif"},
		deny:  []string{"/index.html", "/example/other.html"}},
	{name: "rfc5.1 barbot and bazbot share a group", robots: rfcExample, ua: "bazbot",
		allow: []string{"/example/other.html", "/img/x.gif"}, deny: []string{"/example/page.html"}},
	{name: "rfc5.1 quxbot has an empty group", robots: rfcExample, ua: "quxbot",
		allow: []string{"/example/page.html", "/img/x.gif", "/publications/a.html"}},
	{name: "rfc5.2 longest match", robots: "User-Agent: *\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n",
		allow: []string{"/example/page/ok.gif"}, deny: []string{"/example/page/disallowed.gif"}},
	{name: "longer allow beats shorter disallow", robots: "User-agent: *\nDisallow: /\nAllow: /news/\n",
		allow: []string{"/news/a.html"}, deny: []string{"/other.html"}},
	{name: "allow wins a tie", robots: "User-agent: *\nDisallow: /page\nAllow: /page\n",
		allow: []string{"/page", "/page2"}},
	{name: "allow wins a tie of wildcards", robots: "User-agent: *\nDisallow: /*.html\nAllow: /a*.html\n",
		allow: []string{"/ab.html"}, deny: []string{"/bb.html"}},

	// Wildcards and the end anchor.
	{name: "dollar anchors at the end", robots: "User-agent: *\nDisallow: /*.php$\n",
		allow: []string{"/index.php?x=1", "/index.phpx", "/index.html"}, deny: []string{"/index.php", "/a/b.php"}},
	{name: "dollar after a plain path", robots: "User-agent: *\nDisallow: /fish$\n",
		allow: []string{"/fish/", "/fishy", "/fish?x=1"}, deny: []string{"/fish"}},
	{name: "star matches any run", robots: "User-agent: *\nDisallow: /*/secret/\n",
		allow: []string{"/a/public/x", "/secret/x"}, deny: []string{"/a/secret/x", "/a/b/secret/"}},
	{name: "star inside a name", robots: "User-agent: *\nDisallow: /fish*.php\n",
		allow: []string{"/Fish.PHP", "/fish.html"}, deny: []string{"/fish.php", "/fishheads/catfish.php?p=1"}},
	{name: "several stars", robots: "User-agent: *\nDisallow: /*a*b*c\n",
		allow: []string{"/xaxbx"}, deny: []string{"/1a2b3c4", "/abc"}},
	{name: "star and dollar", robots: "User-agent: *\nDisallow: /*?*sort=$\n",
		allow: []string{"/list?sort=date", "/list"}, deny: []string{"/list?sort="}},
	{name: "query in a rule", robots: "User-agent: *\nDisallow: /search?q=\n",
		allow: []string{"/search", "/search/x"}, deny: []string{"/search?q=fire"}},
	{name: "paths are case-sensitive", robots: "User-agent: *\nDisallow: /Private/\n",
		allow: []string{"/private/x"}, deny: []string{"/Private/x"}},

	// Percent-encoding, normalised both ways (§2.2.2).
	{name: "raw Chinese rule blocks raw and encoded paths", robots: "User-agent: *\nDisallow: /中文/\n",
		allow: []string{"/英文/x", "/x"}, deny: []string{"/中文/x", "/%E4%B8%AD%E6%96%87/y", "/%e4%b8%ad%e6%96%87/z"}},
	{name: "encoded Chinese rule blocks raw paths", robots: "User-agent: *\nDisallow: /%E4%B8%AD%E6%96%87/\n",
		allow: []string{"/英文/x"}, deny: []string{"/中文/x", "/%E4%B8%AD%E6%96%87/y"}},
	{name: "lower-case escapes in a rule", robots: "User-agent: *\nDisallow: /%e4%b8%ad%e6%96%87\n",
		deny: []string{"/中文", "/%E4%B8%AD%E6%96%87/x"}},
	{name: "encoded unreserved characters are decoded", robots: "User-agent: *\nDisallow: /%62%61%7A\n",
		allow: []string{"/bar"}, deny: []string{"/baz", "/%62az/x"}},
	{name: "an encoded slash stays distinct", robots: "User-agent: *\nDisallow: /a%2fb\n",
		allow: []string{"/a/b"}, deny: []string{"/a%2Fb"}},
	{name: "Chinese with a wildcard", robots: "User-agent: *\nDisallow: /*通知$\n",
		allow: []string{"/新闻/通知/1"}, deny: []string{"/新闻/通知", "/%E6%96%B0/%E9%80%9A%E7%9F%A5"}},

	// Product tokens and groups (§2.2.1).
	{name: "a shorter token does not match", robots: "User-agent: risk\nDisallow: /\n",
		allow: []string{"/a.html"}},
	{name: "a longer token does not match", robots: "User-agent: riskminer\nDisallow: /\n",
		allow: []string{"/a.html"}},
	{name: "token matched case-insensitively", robots: "User-agent: RiskMine\nDisallow: /a\n",
		allow: []string{"/b"}, deny: []string{"/a"}},
	{name: "a version after the token", robots: "User-agent: riskmine/9.9\nDisallow: /a\n",
		allow: []string{"/b"}, deny: []string{"/a"}},
	{name: "own group beats star", robots: "User-agent: *\nDisallow: /\n\nUser-agent: riskmine\nDisallow: /private/\n",
		allow: []string{"/news/a"}, deny: []string{"/private/a"}},
	{name: "star group as fallback", robots: "User-agent: googlebot\nDisallow: /a\n\nUser-agent: *\nDisallow: /b\n",
		allow: []string{"/a"}, deny: []string{"/b"}},
	{name: "no matching group allows all", robots: "User-agent: googlebot\nDisallow: /\n",
		allow: []string{"/a", "/b"}},
	{name: "consecutive user-agent lines form one group", robots: "User-agent: other\nUser-agent: riskmine\nDisallow: /x\n",
		allow: []string{"/y"}, deny: []string{"/x"}},
	{name: "groups naming the crawler are merged", robots: "User-agent: riskmine\nDisallow: /a\n\nUser-agent: *\nDisallow: /c\n\nUser-agent: riskmine\nDisallow: /b\n",
		allow: []string{"/c"}, deny: []string{"/a", "/b"}},
	{name: "a rule line ends the agent list", robots: "User-agent: riskmine\nDisallow: /a\nUser-agent: other\nDisallow: /b\n",
		allow: []string{"/b"}, deny: []string{"/a"}},
	{name: "rules before any user-agent are ignored", robots: "Disallow: /\nUser-agent: *\nDisallow: /x\n",
		allow: []string{"/y"}, deny: []string{"/x"}},
	{name: "source user agent", robots: "User-agent: CityBot\nDisallow: /\n", ua: "CityBot/2.0 (+https://example.org)",
		deny: []string{"/a"}},

	// Lenient parsing (§2.2).
	{name: "empty disallow allows all", robots: "User-agent: *\nDisallow:\n", allow: []string{"/a", "/b/c"}},
	{name: "bad lines are skipped", robots: "User-agent: *\nthis line has no colon\nDisallow /nocolon\nCrawl-delay: soon\n\xff\xfe: \x00\nNoindex: /n\nDisallow: private\nDisallow: /private/\n",
		allow: []string{"/public", "/nocolon", "/n"}, deny: []string{"/private/x"}},
	{name: "comments, BOM and odd keys", robots: "\ufeff# robots\nUSER-AGENT: * # all\nDISALLOW: /x # not /y\n",
		allow: []string{"/y"}, deny: []string{"/x"}},
	{name: "CRLF and CR line ends", robots: "User-agent: *\r\nDisallow: /a\r\rDisallow: /b\rAllow: /b/ok\r\n",
		allow: []string{"/c", "/b/ok"}, deny: []string{"/a", "/b"}},
	{name: "sitemap lines do not split a group", robots: "User-agent: riskmine\nSitemap: http://x.invalid/s.xml\nUser-agent: other\nDisallow: /x\n",
		allow: []string{"/y"}, deny: []string{"/x"}},
	{name: "a large robots.txt is read to 500 KiB", robots: bigRobots(600<<10, 480<<10, "Disallow: /late/"), maxBody: 64 << 10,
		allow: []string{"/early/"}, deny: []string{"/late/x", "/filler/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}},

	// Fetching robots.txt (§2.3.1).
	{name: "404 allows all", status: 404, robots: "User-agent: *\nDisallow: /\n", allow: []string{"/a", "/b"}},
	{name: "403 allows all", status: 403, robots: "User-agent: *\nDisallow: /\n", allow: []string{"/a"}},
	{name: "503 disallows all", status: 503, robots: "oops", deny: []string{"/a", "/b"}},
	{name: "500 disallows all", status: 500, deny: []string{"/a"}},
	{name: "429 disallows all", status: 429, deny: []string{"/a"}},
	{name: "unreachable disallows all", unreachable: true, deny: []string{"/a"}},
	{name: "five redirects are followed", hops: 5, robots: "User-agent: *\nDisallow: /x\n",
		allow: []string{"/y"}, deny: []string{"/x"}},
	{name: "six redirects: robots.txt unavailable", hops: 6, robots: "User-agent: *\nDisallow: /x\n",
		allow: []string{"/x", "/y"}},

	// Every redirect hop of a page is checked.
	{name: "a redirect into a disallowed path is not followed", robots: "User-agent: *\nDisallow: /private/\n",
		redirects: map[string]string{"/go": "/private/x", "/go2": "/public/x"},
		allow:     []string{"/go", "/go2", "/public/x"}, deny: []string{"/private/x"}},
	{name: "the second hop is checked too", robots: "User-agent: *\nDisallow: /private/\n",
		redirects: map[string]string{"/one": "/two", "/two": "/private/y"},
		allow:     []string{"/one", "/two"}, deny: []string{"/private/y"}},
}

// requestKey names a request path and query independently of its escaping.
func requestKey(pathQuery string) string {
	p, q, _ := strings.Cut(pathQuery, "?")
	if u, err := url.PathUnescape(p); err == nil && !strings.Contains(strings.ToLower(p), "%2f") {
		p = u
	}
	if q != "" {
		return p + "?" + q
	}
	return p
}

func TestRobotsConformance(t *testing.T) {
	passed := 0
	for _, tc := range robotsCases {
		ok := t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			got := map[string]int{}
			mux := http.NewServeMux()
			mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
				serveRobots(w, r, tc, 0)
			})
			mux.HandleFunc("/robots-hop/{n}", func(w http.ResponseWriter, r *http.Request) {
				var n int
				fmt.Sscan(r.PathValue("n"), &n)
				serveRobots(w, r, tc, n)
			})
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				key := requestKey(r.URL.EscapedPath() + "?" + r.URL.RawQuery)
				mu.Lock()
				got[key]++
				mu.Unlock()
				if to, ok := tc.redirects[requestKey(r.URL.EscapedPath())]; ok {
					http.Redirect(w, r, to, http.StatusFound)
					return
				}
				writeHTML(w, "text/html", []byte(article("页面", zhPara)))
			})
			site := newSiteMux(t, mux)
			c, _ := newTestCrawler(t, func(o *Options) {
				if tc.maxBody > 0 {
					o.MaxBodyBytes, o.MaxDecompressedBytes = tc.maxBody, tc.maxBody
				}
			})
			src := Source{Name: "robots", Kind: KindHTML, AllowPrivate: true, UserAgent: tc.ua,
				List: ListSelectors{Items: "a.item"}, Parallelism: 2}
			for _, p := range append(append([]string(nil), tc.allow...), tc.deny...) {
				if _, ok := redirectTarget(tc, p); ok {
					continue // reached through a redirect only
				}
				src.Seeds = append(src.Seeds, site.URL+p)
			}
			runOnce(t, c, src, &pageSink{})
			mu.Lock()
			defer mu.Unlock()
			for _, p := range tc.allow {
				if got[requestKey(p)] == 0 {
					t.Errorf("%s was not fetched; robots.txt allows it", p)
				}
			}
			for _, p := range tc.deny {
				if n := got[requestKey(p)]; n != 0 {
					t.Errorf("%s was fetched %d times; robots.txt disallows it", p, n)
				}
			}
		})
		if ok {
			passed++
		}
	}
	t.Logf("robots.txt conformance: %d of %d cases passed", passed, len(robotsCases))
}

// newSiteMux starts a loopback server on mux.
func newSiteMux(t *testing.T, mux *http.ServeMux) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// redirectTarget reports whether p is the target of one of tc's redirects.
func redirectTarget(tc robotsCase, p string) (string, bool) {
	for from, to := range tc.redirects {
		if to == p {
			return from, true
		}
	}
	return "", false
}

// serveRobots answers hop n of tc's robots.txt.
func serveRobots(w http.ResponseWriter, r *http.Request, tc robotsCase, n int) {
	if tc.unreachable {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	if n < tc.hops {
		http.Redirect(w, r, fmt.Sprintf("/robots-hop/%d", n+1), http.StatusMovedPermanently)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if tc.status != 0 {
		w.WriteHeader(tc.status)
	}
	fmt.Fprint(w, tc.robots)
}
