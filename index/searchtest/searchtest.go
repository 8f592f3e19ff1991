// Package searchtest is the behaviour suite every search backend passes
// (the Bleve index and index/pgsearch): the same generated Chinese corpus,
// the same queries, answers checked against the corpus itself.
package searchtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/level"
)

// Backend is a search backend under test: Add stores posts and returns
// once they are searchable.
type Backend interface {
	Add(ctx context.Context, docs []index.Doc) error
	Search(ctx context.Context, q index.Query) (*index.Result, error)
}

// Now is the clock of the corpus: its posts are in the 120 days before.
var Now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

var (
	places     = []string{"350102", "350103", "350203", "310101"}
	placeNames = map[string]string{"350102": "鼓楼区", "350103": "台江区", "350203": "思明区", "310101": "黄浦区"}
	sources    = []string{"forum-a", "weibo-b", "news-c"}
	roads      = []string{"五一路", "八一七路", "湖东路", "杨桥路", "工业路"}
	fillers    = []string{
		"附近居民表示情况已经持续了一段时间，希望有关部门尽快处理。",
		"记者赶到现场时，周边交通秩序基本正常，路人纷纷驻足观看。",
		"社区工作人员称已经上报街道，具体处置结果还在等待。",
		"网友在评论区补充了多张照片，并呼吁大家出行注意安全。",
	}
)

// Corpus returns n generated posts (a few hundred is enough): one post a
// few hours apart before Now, with every kind of event the queries look
// for and texts of about 500 bytes.
func Corpus(n int) []index.Doc {
	docs := make([]index.Doc, 0, n)
	for i := range n {
		road := roads[i%len(roads)]
		var title, event, cat string
		switch i % 6 {
		case 0:
			title, event, cat = road+"井盖破损", road+"一处井盖破损，行人险些跌落，车辆绕行。", "infrastructure"
		case 1:
			title, event, cat = road+"小区发生火灾", road+"一小区发生火灾，消防车赶到后扑灭明火，无人员伤亡。", "fire"
		case 2:
			title, event, cat = road+"井盖被盗", road+"井盖被盗后留下深坑，旁边护栏也已破损。", "infrastructure"
		case 3:
			title, event, cat = road+"道路积水", road+"暴雨过后道路积水严重，多辆汽车熄火。", "flood"
		case 4:
			title, event, cat = road+"燃气泄漏", road+"居民楼燃气泄漏，物业紧急疏散住户。", "gas"
		default:
			title, event, cat = road+"噪音扰民", road+"工地夜间施工噪音扰民，居民多次投诉。", "noise"
		}
		body := event + fillers[i%len(fillers)] + fillers[(i+1)%len(fillers)] + fillers[(i+2)%len(fillers)]
		place := places[i%len(places)]
		docs = append(docs, index.Doc{
			ID:            fmt.Sprintf("post-%04d", i),
			URL:           fmt.Sprintf("https://example.test/post/%d", i),
			Source:        sources[i%len(sources)],
			Site:          "example.test",
			Title:         title,
			Body:          body,
			PublishedAt:   Now.Add(-time.Duration(i*7+1) * time.Hour),
			Categories:    []string{cat},
			Level:         level.All()[i%len(level.All())],
			Score:         float64(i % 10),
			LocationCodes: []string{place},
			LocationNames: []string{placeNames[place]},
		})
	}
	return docs
}

// Run checks b, filled with Corpus(n), against the corpus.
func Run(t *testing.T, b Backend, docs []index.Doc) {
	ctx := context.Background()
	if err := b.Add(ctx, docs); err != nil {
		t.Fatal(err)
	}
	all := func(t *testing.T, q index.Query) []string {
		t.Helper()
		q.Size = index.MaxSize
		q.NoFacets = true
		res, err := b.Search(ctx, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		if int(res.Total) != len(res.Hits) {
			t.Fatalf("search %q: total %d, %d hits on one page of %d", q.Text, res.Total, len(res.Hits), index.MaxSize)
		}
		keys := make([]string, len(res.Hits))
		for i, h := range res.Hits {
			keys[i] = h.ID
		}
		slices.Sort(keys)
		return keys
	}
	want := func(keep func(d *index.Doc) bool) []string {
		var out []string
		for i := range docs {
			if keep(&docs[i]) {
				out = append(out, docs[i].ID)
			}
		}
		slices.Sort(out)
		return out
	}
	has := func(s string) func(d *index.Doc) bool {
		return func(d *index.Doc) bool { return strings.Contains(d.Title+"\n"+d.Body, s) }
	}
	check := func(t *testing.T, name string, got, want []string) {
		t.Helper()
		if len(want) == 0 {
			t.Fatalf("%s: the corpus has no post for this check", name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d posts found, %d expected (first found %v, first expected %v)", name, len(got), len(want), head(got), head(want))
		}
	}

	t.Run("words", func(t *testing.T) {
		check(t, "井盖", all(t, index.Query{Text: "井盖"}), want(has("井盖")))
		check(t, "燃气泄漏", all(t, index.Query{Text: "燃气泄漏"}), want(has("燃气泄漏")))
	})
	t.Run("traditional", func(t *testing.T) {
		check(t, "火災", all(t, index.Query{Text: "火災"}), want(has("火灾")))
	})
	t.Run("phrase", func(t *testing.T) {
		// 井盖被盗 posts hold 井盖 and 破损 apart; the phrase skips them.
		check(t, `"井盖破损"`, all(t, index.Query{Text: `"井盖破损"`}), want(has("井盖破损")))
		check(t, `title:井盖`, all(t, index.Query{Text: `title:井盖`}), want(func(d *index.Doc) bool { return strings.Contains(d.Title, "井盖") }))
	})
	t.Run("boolean", func(t *testing.T) {
		check(t, `+井盖 -跌落`, all(t, index.Query{Text: `+井盖 -跌落`}), want(func(d *index.Doc) bool { return has("井盖")(d) && !has("跌落")(d) }))
		check(t, `积水 噪音`, all(t, index.Query{Text: `积水 噪音`}), want(func(d *index.Doc) bool { return has("积水")(d) || has("噪音")(d) }))
	})
	t.Run("filters", func(t *testing.T) {
		check(t, "category fire", all(t, index.Query{Categories: []string{"fire"}}), want(func(d *index.Doc) bool { return d.Categories[0] == "fire" }))
		check(t, "level high+", all(t, index.Query{Text: "井盖", MinLevel: level.High}), want(func(d *index.Doc) bool {
			return has("井盖")(d) && level.Rank(d.Level) >= level.Rank(level.High)
		}))
		check(t, "place 3501", all(t, index.Query{Locations: []string{"3501"}}), want(func(d *index.Doc) bool { return strings.HasPrefix(d.LocationCodes[0], "3501") }))
		check(t, "source", all(t, index.Query{Sources: []string{"news-c"}}), want(func(d *index.Doc) bool { return d.Source == "news-c" }))
		check(t, "source: in the text", all(t, index.Query{Text: "+source:news-c +井盖"}), want(func(d *index.Doc) bool { return d.Source == "news-c" && has("井盖")(d) }))
		since, until := Now.AddDate(0, 0, -30), Now.AddDate(0, 0, -10)
		check(t, "time", all(t, index.Query{Text: "火灾", Since: since, Until: until}), want(func(d *index.Doc) bool {
			return has("火灾")(d) && !d.PublishedAt.Before(since) && d.PublishedAt.Before(until)
		}))
	})
	t.Run("paging", func(t *testing.T) {
		for _, sort := range []string{index.SortTime, index.SortScore, index.SortRelevance} {
			q := index.Query{Text: "井盖", Sort: sort, NoFacets: true}
			full := pageKeys(t, b, q, 0, index.MaxSize)
			var paged []string
			for from := 0; from < len(full); from += 7 {
				paged = append(paged, pageKeys(t, b, q, from, 7)...)
			}
			if !slices.Equal(paged, full) {
				t.Errorf("sort %s: pages of 7 give %d posts in another order than one page of %d", sort, len(paged), len(full))
			}
			if again := pageKeys(t, b, q, 0, index.MaxSize); !slices.Equal(again, full) {
				t.Errorf("sort %s: the same search gave another order", sort)
			}
		}
	})
	t.Run("facets", func(t *testing.T) {
		res, err := b.Search(ctx, index.Query{Text: "井盖", Since: Now.AddDate(0, 0, -30)})
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for i := range docs {
			d := &docs[i]
			if has("井盖")(d) && !d.PublishedAt.Before(Now.AddDate(0, 0, -30)) {
				counts["c/"+d.Categories[0]]++
				counts["l/"+d.Level]++
				counts["s/"+d.Source]++
			}
		}
		for _, f := range []struct {
			prefix string
			got    []index.FacetCount
		}{{"c/", res.Facets.Categories}, {"l/", res.Facets.Levels}, {"s/", res.Facets.Sources}} {
			if len(f.got) == 0 {
				t.Errorf("facet %s is empty", f.prefix)
			}
			for _, fc := range f.got {
				if counts[f.prefix+fc.Term] != fc.Count {
					t.Errorf("facet %s%s: %d, the corpus has %d", f.prefix, fc.Term, fc.Count, counts[f.prefix+fc.Term])
				}
			}
		}
	})
	t.Run("highlights", func(t *testing.T) {
		res, err := b.Search(ctx, index.Query{Text: "井盖", Size: 3, NoFacets: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			if !strings.Contains(strings.Join(h.Fragments["body"], ""), "<mark>井盖</mark>") && !strings.Contains(strings.Join(h.Fragments["title"], ""), "<mark>井盖</mark>") {
				t.Errorf("hit %s: no <mark>井盖</mark> in %v", h.ID, h.Fragments)
			}
		}
	})
	t.Run("bad query", func(t *testing.T) {
		for _, q := range []index.Query{{Text: `title:"井盖`}, {Text: "井盖", Sort: "newest"}, {Size: -1}, {MinLevel: "severe"}} {
			_, err := b.Search(ctx, q)
			if !errors.Is(err, index.ErrBadQuery) {
				t.Errorf("search %+v: got %v, want an error wrapping index.ErrBadQuery", q, err)
			}
		}
	})
}

// pageKeys returns the ids of one page, in order.
func pageKeys(t *testing.T, b Backend, q index.Query, from, size int) []string {
	t.Helper()
	q.From, q.Size = from, size
	res, err := b.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = h.ID
	}
	return out
}

// SameFacets checks that a and b, holding the same posts, give the same
// totals and facet counts for the same queries.
func SameFacets(t *testing.T, a, b Backend) {
	ctx := context.Background()
	for _, q := range []index.Query{
		{Since: Now.AddDate(0, 0, -30)},
		{Text: "井盖", Since: Now.AddDate(0, 0, -30)},
		{Text: "火灾"},
		{Text: `"井盖破损"`, MinLevel: level.Medium},
		{Text: "积水", Locations: []string{"35"}},
		// Without text: windows that end in the middle of a day, in
		// one day, or stay open (a backend may keep totals per day).
		{},
		{Since: Now.AddDate(0, 0, -30).Add(5 * time.Hour)},
		{Until: Now.AddDate(0, 0, -60).Add(-3 * time.Hour)},
		{Since: Now.AddDate(0, 0, -45).Add(-2 * time.Hour), Until: Now.AddDate(0, 0, -9).Add(7 * time.Hour)},
		{Since: Now.AddDate(0, 0, -3).Add(-2 * time.Hour), Until: Now.AddDate(0, 0, -3).Add(9 * time.Hour)},
	} {
		ra, err := a.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%q since %s until %s", q.Text, q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
		if ra.Total != rb.Total {
			t.Errorf("%s: totals %d and %d", name, ra.Total, rb.Total)
		}
		fa, fb := fmt.Sprint(*ra.Facets), fmt.Sprint(*rb.Facets)
		if fa != fb {
			t.Errorf("%s: facets differ:\n%s\n%s", name, fa, fb)
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }
