package crawler

import (
	"strings"
	"testing"
	"time"
)

func TestNormalizeRobotsPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/foo/bar?baz=quz", "/foo/bar?baz=quz"},
		{"/foo/bar/ツ", "/foo/bar/%E3%83%84"},
		{"/foo/bar/%E3%83%84", "/foo/bar/%E3%83%84"},
		{"/foo/bar/%e3%83%84", "/foo/bar/%E3%83%84"},
		{"/foo/bar/%62%61%7A", "/foo/bar/baz"},
		{"/a%2fb", "/a%2Fb"},
		{"/a b", "/a%20b"},
		{"/100%", "/100%25"},
		{"/%zz", "/%25zz"},
		{"/*.gif", "/*.gif"},
		{"/中文/", "/%E4%B8%AD%E6%96%87/"},
	} {
		if got := normalizeRobotsPath(tc.in); got != tc.want {
			t.Errorf("normalizeRobotsPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestProductToken(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"riskmine/0.1 (+https://example.org)", "riskmine"},
		{"RiskMine", "riskmine"},
		{"  Foo_Bot-2 ", "foo_bot-"},
		{"*", "*"},
		{"/1.0", ""},
		{"", ""},
	} {
		if got := productToken(tc.in); got != tc.want {
			t.Errorf("productToken(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRobotsCrawlDelay(t *testing.T) {
	rt := parseRobots([]byte("User-agent: *\nCrawl-delay: 2.5\nDisallow: /x\n\nUser-agent: riskmine\nCrawl-delay: -1\nCrawl-delay: NaN\nCrawl-delay: 1e300\nDisallow: /y\n\nUser-agent: other\nCrawl-delay: 4\n\nUser-agent: late\nAllow: /\n"))
	if d := rt.policy("otherbot").crawlDelay; d != 2500*time.Millisecond {
		t.Errorf("* group: Crawl-delay %v, want 2.5s", d)
	}
	// Bad values are skipped; a huge one stays huge (the crawler caps it).
	if d := rt.policy("riskmine").crawlDelay; d < time.Hour {
		t.Errorf("riskmine group: Crawl-delay %v, want the huge value", d)
	}
	// A Crawl-delay line, like any record outside RFC 9309, does not end
	// a run of user-agent lines: other and late are one group.
	for _, ua := range []string{"other", "late"} {
		if d := rt.policy(ua).crawlDelay; d != 4*time.Second {
			t.Errorf("%s group: Crawl-delay %v, want 4s", ua, d)
		}
	}
}

func TestRobotsMatchStaysLinear(t *testing.T) {
	// Patterns built to make a backtracking matcher take exponential time.
	rule, _ := newRobotsRule(false, "/"+strings.Repeat("*a", 200)+"b")
	path := "/" + strings.Repeat("a", 20000)
	if rule.match(path) {
		t.Errorf("pattern matched a path without its final b")
	}
	rule, _ = newRobotsRule(false, "/"+strings.Repeat("*a", 200)+"$")
	if !rule.match(path) {
		t.Errorf("pattern did not match")
	}
}

// FuzzParseRobots checks that no robots.txt makes the parser or the matcher
// panic, and that /robots.txt stays allowed.
func FuzzParseRobots(f *testing.F) {
	f.Add([]byte(rfcExample), "/example/page.html")
	f.Add([]byte("User-agent: *\nDisallow: /*.php$\nAllow: /%e4%b8%ad\n"), "/中文?x=%")
	f.Add([]byte("\ufeffuser-agent:riskmine\r\ndisallow:*\r\ncrawl-delay: 1e9\r"), "/%")
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		rt := parseRobots(body)
		for _, ua := range []string{"riskmine", "*", ""} {
			p := rt.policy(ua)
			p.allowed(path)
			if !p.allowed("/robots.txt") {
				t.Fatalf("/robots.txt disallowed by %q", body)
			}
		}
	})
}
