package index

import (
	"context"
	"fmt"
	"github.com/blevesearch/bleve/v2/mapping"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"
)

func indexInternalID(n uint64) bindex.IndexInternalID {
	return bindex.NewIndexInternalID(nil, n)
}

// allHits runs q and returns the score of every hit by document key.
func allHits(t *testing.T, ix *Index, q query.Query) map[string]float64 {
	t.Helper()
	req := bleve.NewSearchRequestOptions(q, 100000, 0, false)
	sr, err := ix.shards[0].bi.Search(req)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64, len(sr.Hits))
	for _, h := range sr.Hits {
		out[h.ID] = h.Score
	}
	if uint64(len(out)) != sr.Total {
		t.Fatalf("%d hits listed, %d counted", len(out), sr.Total)
	}
	return out
}

func sameHits(t *testing.T, what string, got, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d hits, Bleve's phrase searcher finds %d", what, len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Fatalf("%s: misses %s", what, id)
		}
		if math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Fatalf("%s: %s scores %v, Bleve's phrase searcher %v", what, id, g, w)
		}
	}
}

// TestBigramPhraseMatchesBleve checks the phrase searcher against Bleve's own
// on an index of many segments with replaced and deleted documents: the
// same hits with the same scores, alone, under a conjunction with a filter
// (which moves it with Advance), beside another phrase and in a disjunction.
// It runs on the character fields of new indexes and on the bigram fields
// of indexes made before them.
func TestBigramPhraseMatchesBleve(t *testing.T) {
	t.Run("chars", func(t *testing.T) { testPhraseMatchesBleve(t, nil) })
	t.Run("bigrams", func(t *testing.T) {
		testPhraseMatchesBleve(t, mappingWith(analyzerBasicWords, analyzerBasicBigrams, false))
	})
}

func testPhraseMatchesBleve(t *testing.T, m *mapping.IndexMappingImpl) {
	// One shard: the searchers are compared on one Bleve index.
	ix, err := open(Options{Path: filepath.Join(t.TempDir(), "idx"), BatchSize: 30, FlushInterval: time.Hour, Shards: 1}, m)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	// A small alphabet makes phrases recur, often with near misses: all
	// the pairs present but not in a row.
	alphabet := []rune("燃气泄漏哈火")
	text := func(n int) string {
		var b strings.Builder
		for range n {
			if r.IntN(12) == 0 {
				b.WriteString("，")
			}
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	sources := []string{"forum", "news"}
	doc := func(i int) Doc {
		return Doc{ID: fmt.Sprint("p", i), URL: fmt.Sprintf("https://bbs.example/%d", i),
			Source: sources[r.IntN(2)], Title: text(3 + r.IntN(8)), Body: text(10 + r.IntN(80))}
	}
	rw := queryRewriter(Query{}, true, ix.grams)
	phrases := []string{"燃气泄漏", "气泄漏", "哈哈哈", "哈哈哈哈", "漏火燃", "火哈燃气", "泄漏哈火燃", "火，燃气", "漏，哈哈"}
	filter := query.NewTermQuery("forum")
	filter.SetField(fieldSource)

	check := func(round int) {
		t.Helper()
		var fasts, slows []query.Query
		for _, p := range phrases {
			for _, f := range []string{fieldTitle, fieldBody} {
				fast, ok := rw.substring(p, f, 1.7).(*bigramPhrase)
				if !ok {
					t.Fatalf("%q on %s is not answered by the phrase searcher", p, f)
				}
				slow := fast.bleve
				what := fmt.Sprintf("round %d, %q on %s", round, p, f)
				want := allHits(t, ix, slow)
				sameHits(t, what, allHits(t, ix, fast), want)
				sameHits(t, what+" and a filter",
					allHits(t, ix, query.NewConjunctionQuery([]query.Query{filter, fast})),
					allHits(t, ix, query.NewConjunctionQuery([]query.Query{filter, slow})))
				fasts, slows = append(fasts, fast), append(slows, slow)
			}
		}
		for i := 0; i+1 < len(fasts); i += 3 {
			pair := func(qs []query.Query) query.Query {
				return query.NewConjunctionQuery([]query.Query{qs[i], qs[i+1]})
			}
			sameHits(t, fmt.Sprintf("round %d, two phrases %d", round, i), allHits(t, ix, pair(fasts)), allHits(t, ix, pair(slows)))
		}
		sameHits(t, fmt.Sprintf("round %d, any phrase", round),
			allHits(t, ix, query.NewDisjunctionQuery(fasts)), allHits(t, ix, query.NewDisjunctionQuery(slows)))
	}
	writeRounds(t, ix, 6, 120, 25, 10, doc, func(n int) string {
		return fmt.Sprintf("https://bbs.example/%d", r.IntN(n))
	}, check)

	// The check above must not pass because the fast searcher stepped
	// aside: on a scorch snapshot without locations it is the one used.
	adv, err := ix.shards[0].bi.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := adv.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	q := rw.substring("燃气泄漏", fieldBody, 1)
	s, err := q.Searcher(ctx, rd, ix.shards[0].bi.Mapping(), search.SearcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*phraseSearcher); !ok {
		t.Fatalf("searcher is %T", s)
	}
	if s.Count() == 0 {
		t.Fatal("the phrase's terms are in no document; the test checks nothing")
	}
	// Advance returns the first hit at or after the target, also when the
	// target is behind the searcher.
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(10, 0)}
	var hits []uint64
	for {
		dm, err := s.Next(sctx)
		if err != nil {
			t.Fatal(err)
		}
		if dm == nil {
			break
		}
		hits = append(hits, dm.IndexInternalID.Value())
	}
	if len(hits) < 20 {
		t.Fatalf("%d hits; the Advance check needs more", len(hits))
	}
	last := hits[len(hits)-1]
	for range 300 {
		target := uint64(r.IntN(int(last) + 3))
		want := uint64(math.MaxUint64)
		for _, h := range hits {
			if h >= target {
				want = h
				break
			}
		}
		dm, err := s.Advance(sctx, indexInternalID(target))
		if err != nil {
			t.Fatal(err)
		}
		got := uint64(math.MaxUint64)
		if dm != nil {
			got = dm.IndexInternalID.Value()
		}
		if got != want {
			t.Fatalf("Advance(%d) = %d, want %d", target, got, want)
		}
	}
	s, err = q.Searcher(ctx, rd, ix.shards[0].bi.Mapping(), search.SearcherOptions{IncludeTermVectors: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*phraseSearcher); ok {
		t.Fatal("a search with locations must use Bleve's phrase searcher")
	}
}
