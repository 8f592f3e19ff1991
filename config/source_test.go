package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	s, err := ParseSource([]byte("name: a\nkind: rss\nseeds: [https://example.org/feed]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "a" || s.Parallelism != 2 || s.Delay == nil {
		t.Fatalf("defaults not applied: %+v", s)
	}
	for _, c := range []struct{ in, key string }{
		{"name: a\nkind: html\nseeds: [https://example.org/]\n", "list.items"},
		{"name: a\nkind: rss\nseeds: [ftp://x]\n", "seeds[0]"},
		{"name: a\nkind: nope\nseeds: [https://example.org/]\n", "kind"},
		{"kind: rss\nseeds: [https://example.org/]\n", "name"},
		{"name: a\nkind: rss\nseeds: [https://x.org/]\nschedule: bad\n", "schedule"},
	} {
		_, err := ParseSource([]byte(c.in))
		var e *Error
		if !errors.As(err, &e) || e.Key != c.key {
			t.Errorf("%q: got %v, want key %s", c.in, err, c.key)
		}
	}
	_, err = ParseSource([]byte("name: a\nkind: rss\nseeds: [https://x.org/]\nbogus: 1\n"))
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown key: %v", err)
	}
	_, err = ParseSource([]byte("name: a\nkind: rss\nseeds: [https://x.org/${HOME}]\n"))
	if err != nil && strings.Contains(err.Error(), "/root") {
		t.Errorf("env expanded: %v", err)
	}
}
