package web

import (
	"context"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestTimesInConfiguredZone: a post published at 20:00 UTC on 20 November
// is shown at 04:00 on the 21st with its +08:00 offset in the default zone
// (Asia/Shanghai), counted on the 21st by day filters, and exported in
// RFC 3339 with the offset; with UTC configured the same post says 20:00
// +00:00.
func TestTimesInConfiguredZone(t *testing.T) {
	published := time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name                   string
		loc                    *time.Location
		shown, exported, label string
		onDay21                bool
	}{
		{"default Shanghai", nil, "2026-11-21 04:00 +08:00", "2026-11-21T04:00:00+08:00", "Asia/Shanghai (UTC+08:00)", true},
		{"UTC", time.UTC, "2026-11-20 20:00 +00:00", "2026-11-20T20:00:00Z", "UTC (UTC+00:00)", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, Options{Location: c.loc})
			an := testAnalyzer(t)
			if err := w.ingest(context.Background(), an, "http://news.example/a/77", "news", "城市新闻", "马尾区仓库发生火灾 浓烟滚滚",
				"昨夜马尾区一仓库起火，火势猛烈，消防员赶到现场扑救，两人受伤送医。", published); err != nil {
				t.Fatal(err)
			}
			v := w.login("viv")
			page := html.UnescapeString(v.getBody("/search?q=" + url.QueryEscape("仓库")))
			if !strings.Contains(page, c.shown) {
				t.Errorf("search page lacks %q", c.shown)
			}
			if !strings.Contains(page, c.label) {
				t.Errorf("search page does not name the zone %q", c.label)
			}
			leads := html.UnescapeString(v.getBody("/leads"))
			if !strings.Contains(leads, c.label) {
				t.Errorf("leads page does not name the zone %q", c.label)
			}
			since := v.getBody("/search?q=" + url.QueryEscape("仓库") + "&since=2026-11-21")
			until := v.getBody("/search?q=" + url.QueryEscape("仓库") + "&until=2026-11-20")
			if got := strings.Contains(since, "news.example/a/77"); got != c.onDay21 {
				t.Errorf("since=2026-11-21 finds the post: %v, want %v", got, c.onDay21)
			}
			if got := strings.Contains(until, "news.example/a/77"); got != !c.onDay21 {
				t.Errorf("until=2026-11-20 (through that day) finds the post: %v, want %v", got, !c.onDay21)
			}
			csv := v.getBody("/export/search?format=csv&q=" + url.QueryEscape("仓库"))
			if !strings.Contains(csv, c.exported) {
				t.Errorf("search export lacks %q:\n%s", c.exported, csv)
			}
		})
	}
}
