package index

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"riskmine/level"
)

// shardDocs are posts with distinct publication times, so that time order
// is one order whatever the shards.
func shardDocs(n int) []Doc {
	r := rand.New(rand.NewPCG(5, 6))
	words := []string{"火灾", "燃气泄漏", "小区", "诈骗", "暴雨", "道路塌陷", "学校", "工厂"}
	t0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	docs := make([]Doc, n)
	for i := range docs {
		docs[i] = Doc{
			ID: fmt.Sprint("s", i), URL: fmt.Sprintf("https://news.example/%d", i),
			Source:      []string{"forum", "news", "gov"}[r.IntN(3)],
			Title:       words[r.IntN(len(words))] + words[r.IntN(len(words))],
			Body:        strings.Repeat(words[r.IntN(len(words))]+"，", 1+r.IntN(5)),
			PublishedAt: t0.Add(time.Duration(i) * time.Minute),
			Level:       level.All()[r.IntN(len(level.All()))],
			Categories:  []string{[]string{"fire", "fraud", "collapse"}[r.IntN(3)]},
			Site:        "news.example", Score: float64(r.IntN(100)) / 10, LeadID: fmt.Sprint("L", i%17),
			LocationCodes: []string{"350102"}, LocationNames: []string{"鼓楼区"},
		}
	}
	return docs
}

func openLoaded(t *testing.T, shards int, docs []Doc) *Index {
	t.Helper()
	ix, err := Open(Options{Path: filepath.Join(t.TempDir(), "idx"), BatchSize: 50, FlushInterval: time.Hour, Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	ctx := context.Background()
	for _, d := range docs {
		if err := ix.Add(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return ix
}

// TestShardsAnswerLikeOneIndex: an index of three shards gives the totals,
// facets and time-ordered pages of an index of one.
func TestShardsAnswerLikeOneIndex(t *testing.T) {
	docs := shardDocs(600)
	one, three := openLoaded(t, 1, docs), openLoaded(t, 3, docs)
	if one.Shards() != 1 || three.Shards() != 3 {
		t.Fatalf("shards %d and %d", one.Shards(), three.Shards())
	}
	for i, sh := range three.shards {
		if n, _ := sh.bi.DocCount(); n < 100 {
			t.Errorf("shard %d holds %d of 600 posts; the keys are not spread", i, n)
		}
	}
	ctx := context.Background()
	for _, q := range []Query{
		{Text: "火灾", Sort: SortTime},
		{Text: `"燃气泄漏"`, Sort: SortTime},
		{Text: "小区 学校", Sort: SortTime, MinLevel: "medium"},
		{Categories: []string{"fraud"}, Sort: SortTime},
		{Text: "暴雨"},
	} {
		want, err := one.Search(ctx, Query{Text: q.Text, Sort: q.Sort, MinLevel: q.MinLevel, Categories: q.Categories, Size: MaxSize})
		if err != nil {
			t.Fatal(err)
		}
		if want.Total < 20 {
			t.Fatalf("%+v: %d hits; the comparison needs more", q, want.Total)
		}
		// Pages of 7 from the sharded index, put together.
		var got []string
		var gotHits []Hit
		for from := 0; ; from += 7 {
			q.From, q.Size = from, 7
			res, err := three.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != want.Total {
				t.Fatalf("%+v: total %d, one index says %d", q, res.Total, want.Total)
			}
			if from == 0 && !slices.Equal(res.Facets.Categories, want.Facets.Categories) || from == 0 && !slices.Equal(res.Facets.Days, want.Facets.Days) {
				t.Fatalf("%+v: facets %+v, one index says %+v", q, res.Facets, want.Facets)
			}
			if len(res.Hits) == 0 {
				break
			}
			gotHits = append(gotHits, res.Hits...)
			for _, h := range res.Hits {
				got = append(got, h.ID)
				if q.Text != "" && len(h.Fragments["title"])+len(h.Fragments["body"]) > 0 && !strings.Contains(strings.Join(append(h.Fragments["title"], h.Fragments["body"]...), ""), "<mark>") {
					t.Errorf("%q: hit %s of the sharded index has no highlight: %v", q.Text, h.ID, h.Fragments)
				}
			}
		}
		var wantIDs []string
		for _, h := range want.Hits {
			wantIDs = append(wantIDs, h.ID)
		}
		if q.Sort == SortTime {
			if !slices.Equal(got, wantIDs) {
				t.Errorf("%q: pages give\n%v\nwant\n%v", q.Text, got, wantIDs)
			}
			// Everything but the relevance score is the same, fields
			// and highlights included.
			for i := range min(len(gotHits), len(want.Hits)) {
				g, w := gotHits[i], want.Hits[i]
				g.Score, w.Score = 0, 0
				if gj, wj := fmt.Sprintf("%+v", g), fmt.Sprintf("%+v", w); gj != wj {
					t.Fatalf("%q: hit %d is\n%s\none index gives\n%s", q.Text, i, gj, wj)
				}
			}
		} else {
			// Relevance: each shard scores with its own statistics, so
			// only the set of hits is the same.
			slices.Sort(got)
			slices.Sort(wantIDs)
			if !slices.Equal(got, wantIDs) {
				t.Errorf("%q: the pages hold other posts than one index", q.Text)
			}
		}
	}
}

// TestShardLayout: the shard count is kept with the index, an unfinished
// creation is completed, a broken record is refused with a clear error,
// and an index made before sharding opens as one shard.
func TestShardLayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "idx")
	ix, err := Open(Options{Path: dir, Shards: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Add(ctx, Doc{ID: "a", Title: "火灾"}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if !Exists(dir) {
		t.Fatal("Exists is false for a sharded index")
	}
	ix, err = Open(Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	if ix.Shards() != 3 {
		t.Errorf("reopened with %d shards, created with 3", ix.Shards())
	}
	if n, _ := ix.Count(); n != 1 {
		t.Errorf("count %d after reopen, want 1", n)
	}
	ix.Close()

	// A creation stopped after the record: the missing shard is made.
	if err := os.RemoveAll(filepath.Join(dir, "shard-2")); err != nil {
		t.Fatal(err)
	}
	ix, err = Open(Options{Path: dir})
	if err != nil {
		t.Fatalf("open with a shard folder missing: %v", err)
	}
	ix.Close()

	if _, err := Open(Options{Path: t.TempDir(), Shards: MaxShards + 1}); err == nil || !strings.Contains(err.Error(), "shards must be between 1 and") {
		t.Errorf("too many shards: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, layoutFile), []byte(`{"shards": 0}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Path: dir})
	if err == nil || !strings.Contains(err.Error(), layoutFile) || !strings.Contains(err.Error(), `{"shards": 0}`) {
		t.Errorf("broken layout record: %v", err)
	}

	// Before sharding an index was one Bleve index in the folder itself.
	old := filepath.Join(t.TempDir(), "old")
	// Writes that return once persisted: Close drops what is not.
	bi, err := bleve.NewUsing(old, newMapping(true), bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, map[string]any{"unsafe_batch": false})
	if err != nil {
		t.Fatal(err)
	}
	if err := bi.SetInternal(internalAnalysis, []byte("basic")); err != nil {
		t.Fatal(err)
	}
	doc := Doc{ID: "legacy", Title: "老索引里的燃气泄漏"}
	if err := bi.Index(doc.Key(), toBleve(&doc, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := bi.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err = Open(Options{Path: old})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if ix.Shards() != 1 {
		t.Errorf("an index made before sharding opens with %d shards", ix.Shards())
	}
	res, err := ix.Search(ctx, Query{Text: "燃气泄漏"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || res.Hits[0].ID != "legacy" {
		t.Errorf("legacy index search: %+v", res)
	}
	if err := ix.Add(ctx, Doc{ID: "new", Title: "燃气泄漏"}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := ix.Count(); n != 2 {
		t.Errorf("legacy index count %d after adding, want 2", n)
	}
	if _, err := os.Stat(filepath.Join(old, layoutFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a layout record was written into an index made before sharding: %v", err)
	}
}
