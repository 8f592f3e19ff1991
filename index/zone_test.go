package index_test

import (
	"testing"
	"time"

	"riskmine/index"
)

// TestDatesWithoutZoneReadInQueryZone: published_at:>="2026-11-21" means
// that day's midnight in the query's zone; a date written with Z stays UTC.
func TestDatesWithoutZoneReadInQueryZone(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ix := openZH(t)
	load(t, ix, []index.Doc{
		// 04:00 on 21 November in Shanghai, 20:00 on the 20th in UTC.
		{ID: "late", URL: "https://a.example/late", Source: "s", Site: "a.example", Title: "仓库起火", Body: "仓库起火，消防到场。",
			PublishedAt: time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC), Categories: []string{"fire"}, Level: "high", Score: 7},
		// 18:00 on 20 November in Shanghai.
		{ID: "early", URL: "https://a.example/early", Source: "s", Site: "a.example", Title: "厂房起火", Body: "厂房起火，无人受伤。",
			PublishedAt: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), Categories: []string{"fire"}, Level: "high", Score: 7},
	})
	for _, c := range []struct {
		name string
		loc  *time.Location
		text string
		want []string
	}{
		{"day in Shanghai", shanghai, `published_at:>="2026-11-21"`, []string{"late"}},
		{"day in UTC", time.UTC, `published_at:>="2026-11-21"`, []string{}},
		{"no zone given", nil, `published_at:>="2026-11-21"`, []string{}},
		{"explicit Z stays UTC", shanghai, `published_at:>="2026-11-21T00:00:00Z"`, []string{}},
		{"explicit offset", shanghai, `published_at:<"2026-11-20T19:00:00+08:00"`, []string{"early"}},
		{"upper bound in Shanghai", shanghai, `published_at:<"2026-11-21"`, []string{"early"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ids(search(t, ix, index.Query{Text: c.text, Location: c.loc}))
			if len(got) != len(c.want) {
				t.Fatalf("%s: got %v, want %v", c.text, got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("%s: got %v, want %v", c.text, got, c.want)
				}
			}
		})
	}
}
