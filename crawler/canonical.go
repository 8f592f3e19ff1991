package crawler

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// trackingParams are query parameters that identify a campaign or a click,
// not the content; they are dropped from canonical URLs.
var trackingParams = map[string]bool{
	"spm": true, "from": true, "fbclid": true, "gclid": true, "dclid": true,
	"msclkid": true, "yclid": true, "mc_cid": true, "mc_eid": true,
	"igshid": true, "_hsenc": true, "_hsmi": true, "scm": true,
	"share_token": true, "share_source": true, "wfr": true, "isappinstalled": true,
	"timestamp": true, "ref": true, "ref_src": true,
}

// isTrackingParam reports whether a query key is tracking noise.
func isTrackingParam(k string) bool {
	k = strings.ToLower(k)
	return trackingParams[k] || strings.HasPrefix(k, "utm_")
}

// Canonicalize resolves href against base (which may be nil for an absolute
// href) and returns the canonical form used as the key of crawl state:
// lower-case scheme and host, no default port, no fragment, no tracking
// parameters, query keys sorted, an empty path written "/".
func Canonicalize(base *url.URL, href string) (string, error) {
	u, err := resolve(base, href)
	if err != nil {
		return "", err
	}
	return canonicalURL(u), nil
}

func resolve(base *url.URL, href string) (*url.URL, error) {
	href = strings.TrimSpace(href)
	ref, err := url.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("crawler: parse url %q: %w", href, err)
	}
	u := ref
	if base != nil {
		u = base.ResolveReference(ref)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("crawler: url %q: scheme %q is not http or https", href, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("crawler: url %q has no host", href)
	}
	return u, nil
}

// canonicalURL renders u in canonical form without modifying it.
func canonicalURL(in *url.URL) string {
	u := *in
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	host := strings.ToLower(u.Hostname())
	host = strings.TrimSuffix(host, ".")
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	if u.Path == "" {
		u.Path = "/"
		u.RawPath = ""
	}
	if u.RawQuery != "" {
		u.RawQuery = canonicalQuery(u.RawQuery)
	}
	u.ForceQuery = false
	return u.String()
}

// canonicalQuery drops tracking keys and sorts the rest by key, keeping the
// original order of repeated keys' values.
func canonicalQuery(raw string) string {
	type kv struct{ k, v, enc string }
	var kept []kv
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		if isTrackingParam(dk) {
			continue
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			dv = v
		}
		enc := url.QueryEscape(dk)
		if strings.Contains(part, "=") {
			enc += "=" + url.QueryEscape(dv)
		}
		kept = append(kept, kv{dk, dv, enc})
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].k < kept[j].k })
	parts := make([]string, len(kept))
	for i, p := range kept {
		parts[i] = p.enc
	}
	return strings.Join(parts, "&")
}

// sameSite reports whether two URLs share a registrable-looking host: equal
// hosts, or one a subdomain of the other (news.example.com and example.com).
// A <link rel=canonical> pointing elsewhere is ignored, so a page cannot
// claim another site's identity.
func sameSite(a, b *url.URL) bool {
	ha, hb := strings.ToLower(a.Hostname()), strings.ToLower(b.Hostname())
	if ha == hb {
		return true
	}
	return strings.HasSuffix(ha, "."+hb) || strings.HasSuffix(hb, "."+ha) ||
		trimWWW(ha) == trimWWW(hb)
}

func trimWWW(h string) string { return strings.TrimPrefix(h, "www.") }
