package crawler

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// robotsMaxBytes is how much of a robots.txt is parsed. RFC 9309 §2.5 asks
// for at least 500 KiB; this limit is separate from the page body limit, and
// a longer file is parsed up to its last whole line within it.
const robotsMaxBytes = 500 << 10

// robotsTxt is a parsed robots.txt (RFC 9309): its groups in file order.
type robotsTxt struct {
	groups []robotsGroup
}

// robotsGroup is one group: the product tokens of its consecutive
// user-agent lines and the rules that follow them.
type robotsGroup struct {
	agents     []string // lower-case product tokens; "*" for any crawler
	rules      []robotsRule
	crawlDelay time.Duration
	hasDelay   bool
}

// robotsRule is one allow or disallow line.
type robotsRule struct {
	allow bool
	// pattern is the normalised path pattern, '*' and a final '$' included;
	// its length is the rule's specificity (§2.2.2: the most octets wins).
	pattern string
	// segs are the literal parts between the '*'s; anchored is a final '$'.
	segs     []string
	anchored bool
}

// robotsPolicy is what robots.txt says to one crawler about one authority.
type robotsPolicy struct {
	rules       []robotsRule
	disallowAll bool // robots.txt unreachable and no good copy (§2.3.1.4)
	crawlDelay  time.Duration
}

// allowAll is the policy of a host without a robots.txt.
var allowAll = robotsPolicy{}

// parseRobots reads a robots.txt. It never fails: lines it cannot read are
// skipped (§2.2: parsers must be lenient), so a bad line cannot block a site.
func parseRobots(body []byte) *robotsTxt {
	if len(body) > robotsMaxBytes {
		body = body[:robotsMaxBytes]
		// A line cut in the middle could turn "Disallow: /private/x" into
		// a broader "Disallow: /pri": drop it.
		if i := strings.LastIndexAny(string(body), "\r\n"); i >= 0 {
			body = body[:i]
		}
	}
	s := strings.TrimPrefix(string(body), "\ufeff")
	rt := &robotsTxt{}
	var cur *robotsGroup
	// collecting is true while consecutive user-agent lines name one group.
	collecting := false
	for len(s) > 0 {
		var line string
		if i := strings.IndexAny(s, "\r\n"); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch robotsKey(key) {
		case "user-agent":
			token := productToken(value)
			if token == "" {
				continue
			}
			if !collecting || cur == nil {
				rt.groups = append(rt.groups, robotsGroup{})
				cur = &rt.groups[len(rt.groups)-1]
				collecting = true
			}
			cur.agents = append(cur.agents, token)
		case "allow", "disallow":
			if cur == nil {
				continue // a rule before any user-agent line belongs to no group
			}
			collecting = false
			if r, ok := newRobotsRule(robotsKey(key) == "allow", value); ok {
				cur.rules = append(cur.rules, r)
			}
		case "crawl-delay":
			// Not part of RFC 9309; read as a group member, and like any
			// other record it does not end a run of user-agent lines.
			if cur == nil {
				continue
			}
			if d, ok := parseCrawlDelay(value); ok && (!cur.hasDelay || d > cur.crawlDelay) {
				cur.crawlDelay, cur.hasDelay = d, true
			}
		}
	}
	return rt
}

// robotsKey names a record's key, accepting the spellings seen in the wild.
func robotsKey(k string) string {
	switch strings.ToLower(strings.TrimSpace(k)) {
	case "user-agent", "useragent", "user agent", "user_agent":
		return "user-agent"
	case "allow":
		return "allow"
	case "disallow", "dissallow", "disalow", "dissalow", "disallaw":
		return "disallow"
	case "crawl-delay", "crawldelay", "crawl delay", "crawl_delay":
		return "crawl-delay"
	}
	return ""
}

// productToken is the lower-case product token of a user-agent line or a
// User-Agent header: its leading letters, '_' and '-' (§2.2.1), so
// "riskmine/0.1 (+url)" gives "riskmine"; "*" stands for any crawler.
func productToken(v string) string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "*") {
		return "*"
	}
	n := 0
	for n < len(v) {
		c := v[n]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-') {
			break
		}
		n++
	}
	return strings.ToLower(v[:n])
}

// parseCrawlDelay reads a Crawl-delay value in seconds ("10", "0.5").
func parseCrawlDelay(v string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 {
		return 0, false
	}
	// Far beyond any cap; keeps the conversion from overflowing.
	f = math.Min(f, 1e6)
	return time.Duration(f * float64(time.Second)), true
}

// newRobotsRule builds a rule from a path pattern; an empty value is no rule
// (§2.2.2: "Disallow:" allows everything) and a value that is not a path is
// a bad line.
func newRobotsRule(allow bool, value string) (robotsRule, bool) {
	if value == "" || (value[0] != '/' && value[0] != '*') {
		return robotsRule{}, false
	}
	anchored := strings.HasSuffix(value, "$")
	if anchored {
		value = value[:len(value)-1]
	}
	// Runs of '*' match like one.
	for strings.Contains(value, "**") {
		value = strings.ReplaceAll(value, "**", "*")
	}
	pat := normalizeRobotsPath(value)
	r := robotsRule{allow: allow, pattern: pat, segs: strings.Split(pat, "*"), anchored: anchored}
	if anchored {
		r.pattern += "$"
	}
	return r, true
}

// match reports whether the rule matches a normalised path: from the start,
// '*' standing for any run of octets and a final '$' for the end.
func (r *robotsRule) match(path string) bool {
	segs := r.segs
	if len(segs) == 1 {
		if r.anchored {
			return path == segs[0]
		}
		return strings.HasPrefix(path, segs[0])
	}
	if !strings.HasPrefix(path, segs[0]) {
		return false
	}
	pos := len(segs[0])
	last := segs[len(segs)-1]
	// Taking each middle part at its first place leaves the most room to
	// the rest, so one pass decides.
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(path[pos:], seg)
		if i < 0 {
			return false
		}
		pos += i + len(seg)
	}
	if r.anchored {
		return len(path)-len(last) >= pos && strings.HasSuffix(path, last)
	}
	return strings.Contains(path[pos:], last)
}

// normalizeRobotsPath puts a path (or a rule's pattern) into the form both
// are compared in (§2.2.2): octets outside US-ASCII and characters not
// allowed in a URI are percent-encoded, a percent-encoded unreserved
// character is decoded, other escapes get upper-case hex. So the rule
// "/中文/" and the paths "/中文/x" and "/%e4%b8%ad%e6%96%87/x" agree, while
// "%2F" stays distinct from "/".
func normalizeRobotsPath(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(hexDigits[v>>4])
				b.WriteByte(hexDigits[v&15])
			}
			i += 2
		case c == '%', c >= 0x80, c <= 0x20, c == 0x7f, strings.IndexByte("\"<>\\^`{|}", c) >= 0:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// isUnreserved reports RFC 3986 unreserved characters.
func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// policy returns what the file says to the crawler with the given product
// token: the rules of every group naming it exactly (case-insensitively),
// merged (§2.2.1); failing that those of the "*" groups; failing that none.
func (rt *robotsTxt) policy(token string) robotsPolicy {
	token = productToken(token)
	if token != "" && token != "*" {
		if p, found := rt.collect(token); found {
			return p
		}
	}
	p, _ := rt.collect("*")
	return p
}

// collect merges the groups that name token.
func (rt *robotsTxt) collect(token string) (p robotsPolicy, found bool) {
	for i := range rt.groups {
		g := &rt.groups[i]
		for _, a := range g.agents {
			if a != token {
				continue
			}
			found = true
			p.rules = append(p.rules, g.rules...)
			if g.hasDelay && g.crawlDelay > p.crawlDelay {
				p.crawlDelay = g.crawlDelay
			}
			break
		}
	}
	return p, found
}

// allowed reports whether the policy lets the crawler fetch pathQuery (the
// escaped path and query of a URL). The longest matching rule decides; of
// an allow and a disallow rule of the same length, allow wins (§2.2.2).
// /robots.txt itself is always allowed.
func (p *robotsPolicy) allowed(pathQuery string) bool {
	if pathQuery == "" {
		pathQuery = "/"
	}
	path := normalizeRobotsPath(pathQuery)
	if path == "/robots.txt" {
		return true
	}
	if p.disallowAll {
		return false
	}
	best, allow := -1, true
	for i := range p.rules {
		r := &p.rules[i]
		n := len(r.pattern)
		if n < best || (n == best && allow) {
			continue // cannot change the verdict
		}
		if r.match(path) {
			best, allow = n, r.allow
		}
	}
	return allow
}
