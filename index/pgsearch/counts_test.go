package pgsearch_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/index/pgsearch"
	"riskmine/index/searchtest"
	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
	"riskmine/level"
	"riskmine/nlp"
)

// openTwo opens two stores on one fresh schema, both with the days in loc:
// fast reads the day counts, direct counts every search over its posts.
func openTwo(t *testing.T, loc *time.Location) (fast, direct *pgsearch.Store) {
	t.Helper()
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	o := pgsearch.Options{Tokenize: cutSearch, Normalize: nlp.NormalizeText, Location: loc}
	if fast, err = pgsearch.Open(ctx, pool, o); err != nil {
		t.Fatal(err)
	}
	if direct, err = pgsearch.Open(ctx, pool, o); err != nil {
		t.Fatal(err)
	}
	pgsearch.DirectCounts(direct)
	if !pgsearch.UsesDayCounts(fast) {
		t.Fatal("the store does not read the day counts")
	}
	return fast, direct
}

// windows are the time windows the fast path is compared on: open and
// closed sides, bounds at midnight and in the middle of a day, a window
// within one day and one across two.
func windows(loc *time.Location) []index.Query {
	now := searchtest.Now
	midnight := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	return []index.Query{
		{},
		{Since: now.AddDate(0, 0, -30)},
		{Since: now.AddDate(0, 0, -30).Add(5*time.Hour + 17*time.Minute)},
		{Since: now.AddDate(0, 0, -90)},
		{Since: midnight},
		{Until: midnight},
		{Until: now.AddDate(0, 0, -40).Add(3 * time.Hour)},
		{Since: midnight.AddDate(0, 0, -20), Until: midnight},
		{Since: now.AddDate(0, 0, -50).Add(90 * time.Minute), Until: now.AddDate(0, 0, -12).Add(-7 * time.Hour)},
		{Since: midnight.Add(2 * time.Hour), Until: midnight.Add(20 * time.Hour)},
		{Since: midnight.Add(-5 * time.Hour), Until: midnight.Add(9 * time.Hour)},
		{Since: midnight.Add(-5 * time.Hour), Until: midnight.AddDate(0, 0, 1).Add(9 * time.Hour)},
		{Since: now.AddDate(0, 0, -30), NoFacets: true},
		{Since: now.AddDate(0, 0, -30), FacetSize: 2},
	}
}

// sameCounts checks that fast and direct give the same totals, facets and
// hits for every window, and that the day counts match the posts.
func sameCounts(t *testing.T, when string, fast, direct *pgsearch.Store, loc *time.Location) {
	t.Helper()
	ctx := context.Background()
	for _, q := range windows(loc) {
		q.Size = 5
		rf, err := fast.Search(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		rd, err := direct.Search(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		name := fmt.Sprintf("%s: since %s until %s", when, q.Since.In(loc).Format(time.DateTime), q.Until.In(loc).Format(time.DateTime))
		if rf.Total != rd.Total {
			t.Errorf("%s: total %d from the day counts, %d counted", name, rf.Total, rd.Total)
		}
		if (rf.Facets == nil) != (rd.Facets == nil) || rf.Facets != nil && fmt.Sprint(*rf.Facets) != fmt.Sprint(*rd.Facets) {
			t.Errorf("%s: facets differ:\nday counts %+v\ncounted    %+v", name, rf.Facets, rd.Facets)
		}
		if fmt.Sprint(hitIDs(rf)) != fmt.Sprint(hitIDs(rd)) {
			t.Errorf("%s: hits %v and %v", name, hitIDs(rf), hitIDs(rd))
		}
	}
	if err := pgsearch.CheckDayCounts(ctx, fast); err != nil {
		t.Errorf("%s: %v", when, err)
	}
}

func hitIDs(r *index.Result) []string {
	ids := make([]string, len(r.Hits))
	for i, h := range r.Hits {
		ids[i] = h.ID
	}
	return ids
}

// TestDayCountsSameAsCounting: the total and facets of searches without
// text come from the day counts and equal counting the posts, after adds,
// deletes, replaces (same key, another day, month, category or level),
// dropped months and posts added to a dropped month again; in UTC, in a
// zone ahead of it and in one with summer time.
func TestDayCountsSameAsCounting(t *testing.T) {
	for _, zone := range []string{"UTC", "Asia/Shanghai", "America/New_York"} {
		t.Run(zone, func(t *testing.T) {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				t.Skip(err)
			}
			ctx := context.Background()
			fast, direct := openTwo(t, loc)
			docs := searchtest.Corpus(400) // 7 h apart: about 4 months
			for i := range docs {
				if i%7 == 0 {
					docs[i].LocationCodes = append(docs[i].LocationCodes, "310104")
				}
				if i%11 == 0 {
					docs[i].Categories = append(docs[i].Categories, "traffic")
				}
				if i%13 == 0 {
					docs[i].Level, docs[i].Source, docs[i].LocationCodes = "", "", nil
				}
			}
			if err := fast.Add(ctx, docs...); err != nil {
				t.Fatal(err)
			}
			sameCounts(t, "added", fast, direct, loc)

			for _, i := range []int{0, 3, 50, 51, 52, 200, 399} {
				if err := fast.Delete(ctx, docs[i].Key()); err != nil {
					t.Fatal(err)
				}
			}
			if err := direct.Delete(ctx, "no such post"); err != nil {
				t.Fatal(err)
			}
			sameCounts(t, "deleted", fast, direct, loc)

			// Replaced: the same key moves by hours, days or months and
			// changes its facets; twice in one call, the last counts.
			var again []index.Doc
			for i := 1; i < len(docs); i += 9 {
				d := docs[i]
				d.PublishedAt = d.PublishedAt.Add(-time.Duration(i%5)*31*time.Hour).AddDate(0, -(i % 3), 0)
				d.Categories = []string{"replaced"}
				d.Level = level.All()[(i+2)%len(level.All())]
				again = append(again, d)
			}
			again = append(again, again[0])
			again[len(again)-1].Source = "last-wins"
			if err := direct.Add(ctx, again...); err != nil {
				t.Fatal(err)
			}
			sameCounts(t, "replaced", fast, direct, loc)

			cut := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
			dropped, err := fast.DropBefore(ctx, cut)
			if err != nil {
				t.Fatal(err)
			}
			if len(dropped) == 0 {
				t.Fatal("no month dropped")
			}
			sameCounts(t, "months dropped", fast, direct, loc)

			if err := fast.Add(ctx, docs[len(docs)-5:]...); err != nil {
				t.Fatal(err)
			}
			sameCounts(t, "dropped month added again", fast, direct, loc)
		})
	}
}

// TestDayCountsConcurrentWriters: two stores adding, replacing and
// deleting at once leave day counts equal to the posts.
func TestDayCountsConcurrentWriters(t *testing.T) {
	fast, direct := openTwo(t, time.UTC)
	ctx := context.Background()
	docs := searchtest.Corpus(300)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w, s := range []*pgsearch.Store{fast, direct} {
		wg.Go(func() {
			for i := w; i < len(docs); i += 20 {
				batch := docs[i:min(i+30, len(docs))]
				if err := s.Add(ctx, batch...); err != nil {
					errs <- err
					return
				}
				if err := s.Delete(ctx, docs[(i*7)%len(docs)].Key()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sameCounts(t, "two writers", fast, direct, time.UTC)
}

// TestDayCountsOtherZone: a store whose zone is not the one the day counts
// were made in counts over the posts, and gives its own zone's days.
func TestDayCountsOtherZone(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	utc, err := pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: cutSearch, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	other, err := pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: cutSearch, Normalize: nlp.NormalizeText, Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	if pgsearch.UsesDayCounts(other) {
		t.Fatal("a store in Asia/Shanghai reads day counts made in UTC")
	}
	d := searchtest.Corpus(1)[0]
	d.PublishedAt = time.Date(2026, 11, 20, 20, 0, 0, 0, time.UTC) // 21 November in Shanghai
	if err := utc.Add(ctx, d); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s   *pgsearch.Store
		day string
	}{{utc, "2026-11-20"}, {other, "2026-11-21"}} {
		res, err := c.s.Search(ctx, index.Query{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 1 || len(res.Facets.Days) != 1 || res.Facets.Days[0].Term != c.day {
			t.Errorf("total %d, days %v; want 1 post on %s", res.Total, res.Facets.Days, c.day)
		}
	}
}

// TestOnePassSameHits: a text search with facets (one pass over the matches)
// gives the page a search without facets gives: the same posts in the
// same order, with the same ranks, highlights and total.
func TestOnePassSameHits(t *testing.T) {
	s := openPG(t)
	ctx := context.Background()
	if err := (pgBackend{s}).Add(ctx, searchtest.Corpus(300)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []index.Query{
		{Text: "井盖"},
		{Text: "井盖", Sort: index.SortTime, From: 7, Size: 7},
		{Text: "井盖 火灾", Sort: index.SortScore, From: 3, Size: 9},
		{Text: `"燃气泄漏"`, Since: searchtest.Now.AddDate(0, 0, -40)},
		{Categories: []string{"fire"}, Size: 12, From: 5},
		{MinLevel: level.High, Sort: index.SortRelevance, Size: 4},
		{Text: "井盖", From: 500},
	} {
		withFacets, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		q.NoFacets = true
		without, err := s.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%q sort %q from %d", q.Text, q.Sort, q.From)
		if withFacets.Total != without.Total || withFacets.Facets == nil {
			t.Errorf("%s: total %d with facets %v, %d without", name, withFacets.Total, withFacets.Facets, without.Total)
		}
		if len(without.Hits) == 0 && q.From < 100 {
			t.Errorf("%s: no hits", name)
		}
		if fmt.Sprintf("%+v", withFacets.Hits) != fmt.Sprintf("%+v", without.Hits) {
			t.Errorf("%s: hits differ:\nwith facets %+v\nwithout     %+v", name, withFacets.Hits, without.Hits)
		}
	}
}

// TestOpenUnknownZone: a zone PostgreSQL cannot name (the machine's Local)
// is refused in one line, before any day is counted in it.
func TestOpenUnknownZone(t *testing.T) {
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, pgtest.DSN(t), pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	_, err = pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: cutSearch, Normalize: nlp.NormalizeText, Location: time.Local})
	if err == nil || !strings.Contains(err.Error(), `location "Local" is not a time zone PostgreSQL knows`) {
		t.Fatalf("got %v, want the Local zone refused", err)
	}
	s, err := pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: cutSearch, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	if !pgsearch.UsesDayCounts(s) {
		t.Error("a store in UTC opened after the refused one does not read the day counts")
	}
}
