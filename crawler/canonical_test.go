package crawler

import (
	"net/url"
	"testing"
)

func TestCanonicalize(t *testing.T) {
	base, _ := url.Parse("http://News.Example.com:80/a/b/list.html?page=2#top")
	cases := []struct {
		base *url.URL
		href string
		want string
	}{
		{nil, "HTTP://WWW.Example.COM/Path", "http://www.example.com/Path"},
		{nil, "https://example.com:443/x", "https://example.com/x"},
		{nil, "http://example.com:8080/x", "http://example.com:8080/x"},
		{nil, "http://example.com", "http://example.com/"},
		{nil, "http://example.com/a#frag", "http://example.com/a"},
		{nil, "http://example.com/a?b=2&a=1", "http://example.com/a?a=1&b=2"},
		{nil, "http://example.com/a?utm_source=x&id=7&utm_medium=y&spm=a.b&from=timeline&fbclid=zz&gclid=1", "http://example.com/a?id=7"},
		{nil, "http://example.com/a?UTM_Campaign=x&id=7", "http://example.com/a?id=7"},
		{nil, "http://example.com/a?", "http://example.com/a"},
		{nil, "http://example.com/a?q=%E7%81%AB%E7%81%BE&a=1", "http://example.com/a?a=1&q=%E7%81%AB%E7%81%BE"},
		{nil, "http://example.com/a?k=2&k=1", "http://example.com/a?k=2&k=1"},
		{nil, "http://user:pw@example.com/a", "http://example.com/a"},
		{nil, "http://example.com./a", "http://example.com/a"},
		{base, "detail/1.html", "http://news.example.com/a/b/detail/1.html"},
		{base, "../c.html?utm_term=1", "http://news.example.com/a/c.html"},
		{base, "/top.html#x", "http://news.example.com/top.html"},
		{base, "//cdn.example.com/p", "http://cdn.example.com/p"},
		{base, "?page=3", "http://news.example.com/a/b/list.html?page=3"},
		{nil, "http://[::1]:80/x", "http://[::1]/x"},
	}
	for _, c := range cases {
		got, err := Canonicalize(c.base, c.href)
		if err != nil {
			t.Errorf("Canonicalize(%q): %v", c.href, err)
			continue
		}
		if got != c.want {
			t.Errorf("Canonicalize(%q) = %q, want %q", c.href, got, c.want)
		}
	}
	for _, bad := range []string{"mailto:a@b.c", "javascript:void(0)", "ftp://x/y", "/relative-without-base", "http://"} {
		if got, err := Canonicalize(nil, bad); err == nil {
			t.Errorf("Canonicalize(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSameSite(t *testing.T) {
	p := func(s string) *url.URL { u, _ := url.Parse(s); return u }
	cases := []struct {
		a, b string
		want bool
	}{
		{"http://example.com/a", "https://example.com/b", true},
		{"http://www.example.com/a", "http://example.com/b", true},
		{"http://news.example.com/a", "http://example.com/b", true},
		{"http://example.com/a", "http://evil.com/a", false},
		{"http://example.com.evil.com/a", "http://example.com/a", false},
	}
	for _, c := range cases {
		if got := sameSite(p(c.a), p(c.b)); got != c.want {
			t.Errorf("sameSite(%s, %s) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func FuzzCanonicalize(f *testing.F) {
	f.Add("http://example.com/a?utm_source=1&b=2#x")
	f.Add("//x/%zz?&&=")
	base, _ := url.Parse("http://example.com/dir/page")
	f.Fuzz(func(t *testing.T, href string) {
		got, err := Canonicalize(base, href)
		if err != nil {
			return
		}
		again, err := Canonicalize(nil, got)
		if err != nil {
			t.Fatalf("canonical %q does not parse again: %v", got, err)
		}
		if again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", href, got, again)
		}
	})
}
