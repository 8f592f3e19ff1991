package index_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/nlp"
)

// cutSearch adapts the real gse segmenter of nlp to the index's tokenizer.
func cutSearch(s string) []index.Token {
	toks := nlp.CutSearch(s)
	out := make([]index.Token, len(toks))
	for i, t := range toks {
		out[i] = index.Token{Text: t.Text, Start: t.Start, End: t.End}
	}
	return out
}

// openZH opens a fresh index with the real Chinese analyzer.
func openZH(t testing.TB) *index.Index {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "idx"))
}

func openAt(t testing.TB, path string) *index.Index {
	t.Helper()
	ix, err := index.Open(index.Options{Path: path, Tokenize: cutSearch, Normalize: nlp.NormalizeText, FlushInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

var day0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

// corpus is a small set of posts used by the relevance and filter tests.
func corpus() []index.Doc {
	return []index.Doc{
		{ID: "p1", URL: "https://a.example/1", Source: "forum", Site: "a.example",
			Title: "马尾区一小区发生火灾", Body: "今天上午，福州市马尾区某小区发生火灾，消防救援人员赶到现场扑救，暂无人员伤亡。公共安全部门提醒居民注意用电安全。",
			PublishedAt: day0, Categories: []string{"fire"}, Level: "high", Score: 7.5,
			LocationCodes: []string{"350105"}, LocationNames: []string{"福建省/福州市/马尾区"}},
		{ID: "p2", URL: "https://b.example/2", Source: "news", Site: "b.example",
			Title: "5G基站起火 通信中断", Body: "昨晚一座5G基站起火，附近居民的手机信号中断两小时。运营商称已恢复。",
			PublishedAt: day0.Add(24 * time.Hour), Categories: []string{"fire", "city_management"}, Level: "medium", Score: 4,
			LocationCodes: []string{"350102"}},
		{ID: "p3", URL: "https://b.example/3", Source: "news", Site: "b.example",
			Title: "燃气泄漏致居民疏散", Body: "某街道燃气泄漏，现场气味很大，居民已疏散，燃气公司正在抢修。",
			PublishedAt: day0.Add(48 * time.Hour), Categories: []string{"hazmat_leak"}, Level: "critical", Score: 11,
			LocationCodes: []string{"350203"}},
		{ID: "p4", URL: "https://c.example/4", Source: "gov", Site: "c.example",
			Title: "关于开展消防演练的通知", Body: "为提高全员安全意识，定于下周开展消防演练。请各单位做好准备。ＡＢＣ公司参加。",
			PublishedAt: day0.Add(-24 * time.Hour), Categories: nil, Level: "none", Score: 0},
		{ID: "p5", URL: "https://c.example/5", Source: "gov", Site: "c.example",
			Title: "倉庫火災調查", Body: "消防部門對倉庫火災展開調查，起火原因尚待確認。",
			PublishedAt: day0.Add(-48 * time.Hour), Categories: []string{"fire"}, Level: "low", Score: 2},
	}
}

func load(t testing.TB, ix *index.Index, docs []index.Doc) {
	t.Helper()
	ctx := context.Background()
	for _, d := range docs {
		if err := ix.Add(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func ids(r *index.Result) []string {
	out := make([]string, 0, len(r.Hits))
	for _, h := range r.Hits {
		out = append(out, h.ID)
	}
	slices.Sort(out)
	return out
}

func search(t *testing.T, ix *index.Index, q index.Query) *index.Result {
	t.Helper()
	r, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return r
}

// TestChineseRelevance runs on the index as made now (character fields),
// on one made before the character fields replaced the bigram fields, and
// on one made before the word fields lost their term vectors: all find the
// same posts and mark the same words (the marks of words come from the
// character or bigram fields, those of wildcards and regular expressions
// on a character index from the page's texts).
func TestChineseRelevance(t *testing.T) {
	for _, variant := range []string{"", "bigrams", "word-vectors"} {
		t.Run("mapping="+variant, func(t *testing.T) {
			ix, err := index.OpenVariant(index.Options{Path: filepath.Join(t.TempDir(), "idx"), Tokenize: cutSearch, Normalize: nlp.NormalizeText, FlushInterval: 200 * time.Millisecond}, variant)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ix.Close() })
			load(t, ix, corpus())
			testChineseRelevance(t, ix)
		})
	}
}

func testChineseRelevance(t *testing.T, ix *index.Index) {
	cases := []struct {
		name, q string
		want    []string // exact set of hits
		mark    string   // a <mark>ed text expected in some fragment of a hit
	}{
		{"whole word", "火灾", []string{"p1", "p5"}, "火災"},
		{"compound part", "安全", []string{"p1", "p4"}, "安全"},
		{"compound whole", "公共安全", []string{"p1"}, "公共安全"},
		{"phrase", `"燃气泄漏"`, []string{"p3"}, "燃气泄漏"},
		{"fragment across words as phrase", `"站起火"`, []string{"p2"}, "站起火"},
		{"fragment across words bare", "站起火", []string{"p2"}, "站起火"},
		{"fragment of two words", `"区某小"`, []string{"p1"}, "区某小"},
		{"traditional query", "火災", []string{"p1", "p5"}, "火"},
		{"traditional doc found by simplified", "仓库", []string{"p5"}, "倉庫"},
		{"full-width query", "ＡＢＣ", []string{"p4"}, "ＡＢＣ"},
		{"half-width query finds full-width text", "abc", []string{"p4"}, "ＡＢＣ"},
		{"mixed script", "5G基站起火", []string{"p2"}, "5G基站起火"},
		{"mixed lower case", "5g", []string{"p2"}, "5G"},
		{"must and must not", "+火灾 -马尾", []string{"p5"}, "火災"},
		{"field", "title:燃气", []string{"p3"}, "燃气"},
		{"category field", "category:hazmat_leak", []string{"p3"}, ""},
		{"numeric range", "score:>=7", []string{"p1", "p3"}, ""},
		// A lone character is matched through the bigrams around it, and
		// those are what gets marked (民疏散), so no mark is checked.
		{"single character inside a word", "疏", []string{"p3"}, ""},
		{"single character ending a run", "亡", []string{"p1"}, ""},
		{"date range", `published_at:>"2026-11-21"`, []string{"p2", "p3"}, ""},
		{"level field", "level:critical", []string{"p3"}, ""},
		{"location alias", "location:3502", []string{"p3"}, ""},
		// Words of the query apart in the post: both are marked.
		{"words apart", "仓库调查", []string{"p5"}, "調查"},
		{"words apart, first word", "仓库调查", []string{"p5"}, "倉庫"},
		{"wildcard", "title:燃*", []string{"p3"}, "燃气"},
		{"wildcard of three characters", "燃气泄*", []string{"p3"}, "燃气泄"},
		{"regexp", "/泄[漏露]/", []string{"p3"}, "泄漏"},
		{"no match", "地震", []string{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := search(t, ix, index.Query{Text: c.q})
			if got := ids(r); !slices.Equal(got, c.want) {
				t.Fatalf("%s: hits %v, want %v", c.q, got, c.want)
			}
			if int(r.Total) != len(c.want) {
				t.Errorf("total %d, want %d", r.Total, len(c.want))
			}
			if c.mark == "" {
				return
			}
			var all []string
			for _, h := range r.Hits {
				for _, fs := range h.Fragments {
					all = append(all, fs...)
				}
			}
			joined := strings.Join(all, " | ")
			if !strings.Contains(joined, "<mark>"+c.mark) {
				t.Errorf("%s: fragments %q lack <mark>%s", c.q, joined, c.mark)
			}
		})
	}
}

func TestFiltersAndFacets(t *testing.T) {
	ix := openZH(t)
	load(t, ix, corpus())
	cases := []struct {
		name string
		q    index.Query
		want []string
	}{
		{"category", index.Query{Categories: []string{"fire"}}, []string{"p1", "p2", "p5"}},
		{"two categories", index.Query{Categories: []string{"hazmat_leak", "city_management"}}, []string{"p2", "p3"}},
		{"min level", index.Query{MinLevel: "high"}, []string{"p1", "p3"}},
		{"source", index.Query{Sources: []string{"gov"}}, []string{"p4", "p5"}},
		{"site", index.Query{Sites: []string{"b.example"}}, []string{"p2", "p3"}},
		{"since", index.Query{Since: day0.Add(24 * time.Hour)}, []string{"p2", "p3"}},
		{"until exclusive", index.Query{Until: day0}, []string{"p4", "p5"}},
		{"range", index.Query{Since: day0.Add(-24 * time.Hour), Until: day0.Add(25 * time.Hour)}, []string{"p1", "p2", "p4"}},
		{"province code finds districts", index.Query{Locations: []string{"35"}}, []string{"p1", "p2", "p3"}},
		{"city code", index.Query{Locations: []string{"3501"}}, []string{"p1", "p2"}},
		{"district code", index.Query{Locations: []string{"350105"}}, []string{"p1"}},
		{"text and filter", index.Query{Text: "火灾", MinLevel: "medium"}, []string{"p1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := search(t, ix, c.q)
			if got := ids(r); !slices.Equal(got, c.want) {
				t.Fatalf("hits %v, want %v", got, c.want)
			}
		})
	}

	r := search(t, ix, index.Query{})
	if r.Total != 5 {
		t.Fatalf("match all: total %d", r.Total)
	}
	f := r.Facets
	if f == nil {
		t.Fatal("no facets")
	}
	want := map[string]int{"fire": 3, "hazmat_leak": 1, "city_management": 1}
	for _, c := range f.Categories {
		if want[c.Term] != c.Count {
			t.Errorf("category facet %s=%d, want %d", c.Term, c.Count, want[c.Term])
		}
	}
	if len(f.Categories) != 3 || f.Categories[0].Term != "fire" {
		t.Errorf("category facets %+v", f.Categories)
	}
	if len(f.Levels) != 5 {
		t.Errorf("level facets %+v", f.Levels)
	}
	if len(f.Sources) != 3 {
		t.Errorf("source facets %+v", f.Sources)
	}
	loc := map[string]int{}
	for _, c := range f.Locations {
		loc[c.Term] = c.Count
	}
	if loc["35"] != 3 || loc["3501"] != 2 || loc["3502"] != 1 || loc["350105"] != 1 {
		t.Errorf("location facets %+v", f.Locations)
	}
	var days []string
	for _, d := range f.Days {
		days = append(days, d.Term)
		if d.Count != 1 {
			t.Errorf("day %s count %d", d.Term, d.Count)
		}
	}
	wantDays := []string{"2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"}
	if !slices.Equal(days, wantDays) {
		t.Errorf("days %v, want %v", days, wantDays)
	}
}

func TestSortAndPaging(t *testing.T) {
	ix := openZH(t)
	load(t, ix, corpus())
	r := search(t, ix, index.Query{Sort: index.SortTime, Size: 2})
	if r.Total != 5 || len(r.Hits) != 2 || r.Hits[0].ID != "p3" || r.Hits[1].ID != "p2" {
		t.Fatalf("time sort page 1: total %d hits %+v", r.Total, ids(r))
	}
	r = search(t, ix, index.Query{Sort: index.SortTime, Size: 2, From: 4})
	if len(r.Hits) != 1 || r.Hits[0].ID != "p5" {
		t.Fatalf("time sort last page: %v", ids(r))
	}
	r = search(t, ix, index.Query{Sort: index.SortScore, Size: 3})
	var got []string
	for _, h := range r.Hits {
		got = append(got, h.ID)
	}
	if !slices.Equal(got, []string{"p3", "p1", "p2"}) {
		t.Fatalf("score sort: %v", got)
	}
	// Relevance: a title match ranks above a body-only match.
	r = search(t, ix, index.Query{Text: "消防"})
	if len(r.Hits) < 2 || r.Hits[0].ID != "p4" {
		t.Fatalf("relevance: %v", ids(r))
	}
	h := r.Hits[0]
	if h.URL != "https://c.example/4" || h.Source != "gov" || h.Level != "none" || !h.PublishedAt.Equal(day0.Add(-24*time.Hour)) {
		t.Errorf("hit fields: %+v", h)
	}
}

func TestUpsertByCanonicalURL(t *testing.T) {
	ix := openZH(t)
	ctx := context.Background()
	d := index.Doc{ID: "a", URL: "https://x.example/p?utm=1", CanonicalURL: "https://x.example/p", Title: "旧标题", Body: "道路塌陷"}
	if err := ix.Add(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	d.ID, d.URL, d.Title = "b", "https://x.example/p?utm=2", "新标题"
	if err := ix.Add(ctx, d); err != nil {
		t.Fatal(err)
	}
	// Same key twice in one batch too.
	d.Body = "道路塌陷，车辆绕行"
	if err := ix.Add(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := ix.Count()
	if err != nil || n != 1 {
		t.Fatalf("count %d, %v; want 1", n, err)
	}
	r := search(t, ix, index.Query{Text: "塌陷"})
	if r.Total != 1 || r.Hits[0].Title != "新标题" || r.Hits[0].Key != "https://x.example/p" || r.Hits[0].ID != "b" {
		t.Fatalf("after upsert: %+v", r.Hits)
	}
	if r := search(t, ix, index.Query{Text: "旧标题"}); r.Total != 0 {
		t.Fatalf("old version still found: %+v", r.Hits)
	}
}

func TestSearchableWithoutExplicitFlush(t *testing.T) {
	ix := openZH(t) // FlushInterval 200ms
	if err := ix.Add(context.Background(), index.Doc{ID: "late", Title: "山体滑坡", Body: "暴雨引发山体滑坡"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := search(t, ix, index.Query{Text: "滑坡"})
		if r.Total == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("document not searchable 5 s after Add")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRetention(t *testing.T) {
	ix := openZH(t)
	docs := corpus()
	// One document with only a fetch time, one with no time at all.
	docs = append(docs,
		index.Doc{ID: "f1", Title: "旧帖", Body: "旧帖内容", FetchedAt: day0.Add(-72 * time.Hour)},
		index.Doc{ID: "n1", Title: "无时间", Body: "无时间内容"})
	load(t, ix, docs)
	n, err := ix.DeleteOlderThan(context.Background(), day0)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 { // p4, p5, f1
		t.Fatalf("deleted %d, want 3", n)
	}
	r := search(t, ix, index.Query{Size: 100})
	if got := ids(r); !slices.Equal(got, []string{"n1", "p1", "p2", "p3"}) {
		t.Fatalf("left %v", got)
	}
	if n, err := ix.DeleteOlderThan(context.Background(), day0); err != nil || n != 0 {
		t.Fatalf("second run deleted %d, %v", n, err)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idx")
	ix, err := index.Open(index.Options{Path: path, Tokenize: cutSearch, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, d := range corpus() {
		if err := ix.Add(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Close(); err != nil { // Close flushes
		t.Fatal(err)
	}
	if err := ix.Add(ctx, index.Doc{ID: "x"}); !errors.Is(err, index.ErrClosed) {
		t.Fatalf("add after close: %v", err)
	}
	if _, err := ix.Search(ctx, index.Query{Text: "火灾"}); !errors.Is(err, index.ErrClosed) {
		t.Fatalf("search after close: %v", err)
	}
	ix = openAt(t, path)
	r := search(t, ix, index.Query{Text: "火灾"})
	if got := ids(r); !slices.Equal(got, []string{"p1", "p5"}) {
		t.Fatalf("after reopen: %v", got)
	}
	// An index built with the injected tokenizer refuses the fallback one.
	ix.Close()
	if _, err := index.Open(index.Options{Path: path}); err == nil {
		t.Fatal("reopening without tokenizer succeeded")
	}
}

func TestBadQueries(t *testing.T) {
	ix := openZH(t)
	load(t, ix, corpus())
	bad := []index.Query{
		{Text: `"unterminated`},
		{Text: "title:"},
		{Text: "+"},
		{Text: "score:>abc"},
		{Text: "/[/"},
		{Text: "published_at:>\"not a date\""},
		{Text: "\xff\xfe"},
		{MinLevel: "severe"},
		{Sort: "random"},
		{Size: index.MaxSize + 1},
		{From: -1},
		{Since: day0, Until: day0},
	}
	for _, q := range bad {
		_, err := ix.Search(context.Background(), q)
		if !errors.Is(err, index.ErrBadQuery) {
			t.Errorf("query %+v: error %v, want ErrBadQuery", q, err)
		}
	}
}

func TestResultJSONShape(t *testing.T) {
	ix := openZH(t)
	load(t, ix, corpus())
	r := search(t, ix, index.Query{Text: "燃气"})
	var buf strings.Builder
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	for _, k := range []string{`"total":1`, `"hits":[`, `"id":"p3"`, `"url":`, `"title":`, `"score":`,
		`"categories":["hazmat_leak"]`, `"level":"critical"`, `"fragments":{`, `"facets":{`, `<mark>燃气`} {
		if !strings.Contains(raw, k) {
			t.Errorf("JSON lacks %s: %s", k, raw)
		}
	}
}

// Without an injected tokenizer the index still works, one token per
// Han character, with the same bigram phrase matching.
func TestFallbackAnalyzer(t *testing.T) {
	ix, err := index.Open(index.Options{Path: filepath.Join(t.TempDir(), "basic")})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	load(t, ix, corpus())
	for q, want := range map[string][]string{
		"安全":       {"p1", "p4"},
		`"站起火"`:    {"p2"},
		"abc":      {"p4"},
		"5G基站":     {"p2"},
		`"燃气泄漏"`:   {"p3"},
		"title:火灾": {"p1"}, // no traditional→simplified in the fallback
	} {
		r := search(t, ix, index.Query{Text: q})
		if got := ids(r); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
}

// A second Open of an index held by another Index (as by another process)
// fails with ErrLocked instead of blocking.
func TestOpenLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the lock timeout")
	}
	path := filepath.Join(t.TempDir(), "idx")
	openAt(t, path)
	_, err := index.Open(index.Options{Path: path, Tokenize: cutSearch, Normalize: nlp.NormalizeText})
	if !errors.Is(err, index.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

// TestFragmentsDoNotCrossBreaks: a fragment is found where its characters
// stand side by side, never across a punctuation mark between two of them,
// alike on character fields and on the bigram fields of older indexes. On
// character fields a fragment written with the mark finds the text that
// has it (a bigram field holds 起火 but no lone 火 to find it by).
func TestFragmentsDoNotCrossBreaks(t *testing.T) {
	for _, variant := range []string{"", "bigrams"} {
		t.Run("mapping="+variant, func(t *testing.T) {
			ix, err := index.OpenVariant(index.Options{Path: filepath.Join(t.TempDir(), "idx"), Tokenize: cutSearch, Normalize: nlp.NormalizeText, FlushInterval: 200 * time.Millisecond}, variant)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ix.Close() })
			load(t, ix, []index.Doc{
				{ID: "broken", Title: "一", Body: "仓库起火，浓烟很大"},
				{ID: "joined", Title: "二", Body: "远处起火浓烟一片"},
			})
			cases := map[string][]string{
				`"火浓"`: {"joined"},
				`"起火"`: {"broken", "joined"},
			}
			if variant == "" {
				cases[`"火，浓"`] = []string{"broken"}
			}
			for q, want := range cases {
				r := search(t, ix, index.Query{Text: q})
				got := ids(r)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s found %v, want %v", q, got, want)
				}
			}
		})
	}
}

// TestSingleCharacterMarks: a character searched alone is found and marked
// as itself on character fields.
func TestSingleCharacterMarks(t *testing.T) {
	ix := openZH(t)
	load(t, ix, []index.Doc{{ID: "a", Title: "一", Body: "仓库起火，浓烟很大"}})
	r := search(t, ix, index.Query{Text: "火"})
	if len(r.Hits) != 1 {
		t.Fatalf("火 found %v, want the post", ids(r))
	}
	if fr := strings.Join(r.Hits[0].Fragments["body"], ""); !strings.Contains(fr, "起<mark>火</mark>，") {
		t.Errorf("highlight %q, want the mark on 火 alone", fr)
	}
}
