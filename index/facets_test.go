package index

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"riskmine/level"
)

// bleveFacets counts the facets of q with Bleve's own facet builder, the
// reference the column counts are checked against.
func bleveFacets(t *testing.T, ix *Index, q Query) *Facets {
	t.Helper()
	req, _, err := buildRequest(q, ix.basic, ix.grams)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range facetFields {
		req.AddFacet(f.name, bleve.NewFacetRequest(f.field, 100000))
	}
	// An alias searches every shard and adds up their facets.
	alias := bleve.NewIndexAlias()
	for _, sh := range ix.shards {
		alias.Add(sh.bi)
	}
	sr, err := alias.Search(req)
	if err != nil {
		t.Fatal(err)
	}
	terms := func(name string) []FacetCount {
		out := []FacetCount{}
		for _, tf := range sr.Facets[name].Terms.Terms() {
			out = append(out, FacetCount{Term: tf.Term, Count: tf.Count})
		}
		return out
	}
	return &Facets{Categories: terms("categories"), Levels: terms("levels"), Sources: terms("sources"),
		Locations: terms("locations"), Days: terms("days")}
}

// writeRounds writes rounds of fresh documents (doc(0), doc(1), ...), then
// re-adds readd earlier ones with new values and deletes the keys given by
// delKey(documents so far), so that the index's segments carry replaced
// and deleted documents; check runs after each round is flushed.
func writeRounds(t *testing.T, ix *Index, rounds, fresh, readd, deletes int, doc func(int) Doc, delKey func(n int) string, check func(round int)) {
	t.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	n := 0
	for round := range rounds {
		for range fresh {
			if err := ix.Add(ctx, doc(n)); err != nil {
				t.Fatal(err)
			}
			n++
		}
		for range readd {
			if err := ix.Add(ctx, doc(r.IntN(n))); err != nil {
				t.Fatal(err)
			}
		}
		for range deletes {
			if err := ix.Delete(ctx, delKey(n)); err != nil {
				t.Fatal(err)
			}
		}
		if err := ix.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		check(round)
	}
}

func facetMap(fcs []FacetCount) map[string]int {
	m := map[string]int{}
	for _, f := range fcs {
		m[f.Term] = f.Count
	}
	return m
}

// TestFacetColumnsMatchBleve builds an index of many segments, with
// upserts and deletions in between (so segments hold deleted documents
// and merges retire segments), and checks that the facet counts of the
// column counter equal Bleve's own for a range of queries.
func TestFacetColumnsMatchBleve(t *testing.T) {
	ix, err := Open(Options{Path: filepath.Join(t.TempDir(), "idx"), BatchSize: 40, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	cats := []string{"fire", "fraud", "collapse", "hazmat_leak", "self_harm", "traffic_accident"}
	sources := []string{"forum", "news", "gov", "rss"}
	places := []string{"350102", "350105", "350203", "330106", "110101"}
	words := []string{"火灾", "燃气", "小区", "诈骗", "暴雨", "道路", "学校", "工厂"}
	day0 := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	doc := func(i int) Doc {
		d := Doc{
			ID:          fmt.Sprint("d", i),
			URL:         fmt.Sprintf("https://site%d.example/%d", i%7, i),
			Source:      sources[r.IntN(len(sources))],
			Title:       words[r.IntN(len(words))] + words[r.IntN(len(words))],
			Body:        strings.Repeat(words[r.IntN(len(words))]+"，", 1+r.IntN(4)),
			PublishedAt: day0.Add(time.Duration(r.IntN(40*24)) * time.Hour),
			Level:       level.All()[r.IntN(len(level.All()))],
		}
		for _, c := range cats {
			if r.IntN(4) == 0 {
				d.Categories = append(d.Categories, c)
			}
		}
		if r.IntN(3) > 0 {
			d.LocationCodes = []string{places[r.IntN(len(places))]}
		}
		return d
	}
	queries := []Query{
		{},
		{Text: "火灾"},
		{Text: "燃气 OR 诈骗"},
		{Categories: []string{"fire"}},
		{MinLevel: "high", Sources: []string{"news", "gov"}},
		{Locations: []string{"3501"}, Since: day0.AddDate(0, 0, 10)},
		{Text: "学校", Sort: SortTime},
	}
	maxSegs := 0 // the most segments a round's searches saw (merges may leave one at the end)
	check := func(round int) {
		t.Helper()
		defer func() {
			fc := ix.shards[0].facets
			fc.mu.Lock()
			maxSegs = max(maxSegs, len(fc.segs))
			fc.mu.Unlock()
		}()
		for _, q := range queries {
			q.FacetSize = 100000
			got, err := ix.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			want := bleveFacets(t, ix, q)
			pairs := [][2][]FacetCount{{got.Facets.Categories, want.Categories}, {got.Facets.Levels, want.Levels},
				{got.Facets.Sources, want.Sources}, {got.Facets.Locations, want.Locations}, {got.Facets.Days, want.Days}}
			for fi, p := range pairs {
				if g, w := facetMap(p[0]), facetMap(p[1]); !maps.Equal(g, w) {
					t.Fatalf("round %d, query %+v, facet %s:\n got  %v\n want %v", round, q, facetFields[fi].name, g, w)
				}
			}
			if got.Total == 0 {
				t.Errorf("round %d, query %+v: no hits; the check is empty", round, q)
			}
		}
	}
	writeRounds(t, ix, 12, 150, 30, 10, doc, func(n int) string {
		return fmt.Sprintf("https://site%d.example/%d", 0, 7*r.IntN(n/7+1))
	}, check)
	if ix.Shards() < 2 {
		t.Errorf("the index has %d shard(s); the test needs several", ix.Shards())
	}
	if maxSegs < 2 {
		t.Errorf("the searches saw at most %d segment(s); the test needs several", maxSegs)
	}
}

// TestFacetTopAndOrder checks the truncation to FacetSize (largest counts
// first, ties by term) and the date order of the days.
func TestFacetTopAndOrder(t *testing.T) {
	ix, err := Open(Options{Path: filepath.Join(t.TempDir(), "idx"), FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	day0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	counts := map[string]int{"a": 5, "b": 3, "c": 3, "d": 1}
	i := 0
	for src, k := range counts {
		for range k {
			d := Doc{ID: fmt.Sprint(i), Source: src, Title: "标题", PublishedAt: day0.AddDate(0, 0, -i)}
			if err := ix.Add(ctx, d); err != nil {
				t.Fatal(err)
			}
			i++
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(ctx, Query{FacetSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []FacetCount{{"a", 5}, {"b", 3}, {"c", 3}}
	if !slices.Equal(res.Facets.Sources, want) {
		t.Errorf("sources %v, want %v", res.Facets.Sources, want)
	}
	if len(res.Facets.Days) != 12 || !slices.IsSortedFunc(res.Facets.Days, func(a, b FacetCount) int { return strings.Compare(a.Term, b.Term) }) {
		t.Errorf("days %v: want 12 in date order", res.Facets.Days)
	}
	res, err = ix.Search(ctx, Query{NoFacets: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Facets != nil {
		t.Errorf("NoFacets: facets %v", res.Facets)
	}
}

// TestFacetColumnsWarmedInBackground: the columns of written segments are
// built without a search asking for them.
func TestFacetColumnsWarmedInBackground(t *testing.T) {
	ix, err := Open(Options{Path: filepath.Join(t.TempDir(), "idx"), FlushInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	for i := range 30 {
		if err := ix.Add(ctx, Doc{ID: fmt.Sprint(i), Title: "标题", Source: "forum", Level: "low"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	warm := func() bool {
		for _, sh := range ix.shards {
			sh.facets.mu.Lock()
			n := 0
			for _, sc := range sh.facets.segs {
				if sc.built.Load() {
					n++
				}
			}
			all := n > 0 && n == len(sh.facets.segs)
			sh.facets.mu.Unlock()
			if !all {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !warm(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the facet columns were not built in the background")
		}
	}
}
