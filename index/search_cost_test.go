package index_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"riskmine/nlp"
	"strings"
	"testing"
	"time"

	"riskmine/index"

	"github.com/blevesearch/bleve/v2/search/searcher"
)

// numberDocs holds the words 10000 to 14999, so that wildcards can be made
// to match a known number of words.
func numberDocs() []index.Doc {
	var docs []index.Doc
	for d := 0; d < 50; d++ {
		var b strings.Builder
		b.WriteString("编号")
		for n := 0; n < 100; n++ {
			fmt.Fprintf(&b, " %d", 10000+d*100+n)
		}
		docs = append(docs, index.Doc{ID: fmt.Sprintf("n%d", d), URL: fmt.Sprintf("https://n.example/%d", d), Title: "编号表", Body: b.String(), PublishedAt: day0})
	}
	return docs
}

// pairChars are the characters pairDocs pairs with many others.
var pairChars = []rune("王李张刘陈杨黄赵")

// pairDocs hold each of pairChars beside 2,400 other characters, once
// before and once after each, so that the characters searched alone match
// more than index.MaxCharExpansion character pairs together.
func pairDocs() []index.Doc {
	var docs []index.Doc
	for i, c := range pairChars {
		var b strings.Builder
		for j := range 2400 {
			b.WriteRune(c)
			b.WriteRune(rune(0x5000 + j))
		}
		docs = append(docs, index.Doc{ID: fmt.Sprintf("c%d", i), URL: fmt.Sprintf("https://c.example/%d", i), Title: "姓氏表", Body: b.String(), PublishedAt: day0})
	}
	return docs
}

// TestHostileQueries runs the queries of the security audit, and their
// cousins, on a real index: each is answered (ok) or refused with a bad-query
// error that says what to change, never a panic or Bleve's insides.
// TestSingleCharactersOnBigramIndex: on an index made before the
// character fields, a character searched alone is every pair that holds
// it, and too many of them are refused.
func TestSingleCharactersOnBigramIndex(t *testing.T) {
	ix, err := index.OpenVariant(index.Options{Path: filepath.Join(t.TempDir(), "idx"), Tokenize: cutSearch, Normalize: nlp.NormalizeText, FlushInterval: 200 * time.Millisecond}, "bigrams")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	load(t, ix, pairDocs())
	ctx := context.Background()
	if _, err := ix.Search(ctx, index.Query{Text: string(pairChars), Size: 5}); err != nil {
		t.Fatalf("single characters of many pairs: %v", err)
	}
	q := strings.Join(strings.Split(string(pairChars), ""), " ")
	_, err = ix.Search(ctx, index.Query{Text: q, Size: 5})
	if !errors.Is(err, index.ErrBadQuery) || !strings.Contains(err.Error(), "more than 32768 character pairs") {
		t.Fatalf("%q: %v, want a refusal naming the character pairs", q, err)
	}
	r, err := ix.Search(ctx, index.Query{Text: "王", Size: 5})
	if err != nil || r.Total != 1 {
		t.Fatalf("王 on the bigram index: %v, %v; want the one post", r, err)
	}
}

func TestHostileQueries(t *testing.T) {
	ix := openAt(t, filepath.Join(t.TempDir(), "idx"))
	load(t, ix, append(append(corpus(), numberDocs()...), pairDocs()...))
	words := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "词%d ", i)
		}
		return b.String()
	}
	singles := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "%c ", 0x6000+i)
		}
		return b.String()
	}
	cases := []struct {
		name, q string
		want    string // a part of the refusal; "" means the query runs
	}{
		{"audit *1*", "*1*", "begins with a *"},
		{"match all wildcard", "*", "begins with a *"},
		{"leading ? then *", "?*火", "begins with a *"},
		{"audit /.*/", "/.*/", "begins with an open repetition"},
		{"audit /.*/ x5", strings.Repeat("/.*/ ", 5), "begins with an open repetition"},
		{"dot plus", "/.+/", "begins with an open repetition"},
		{"bounded any", "/.{0,9}/", "begins with an open repetition"},
		{"any Chinese character", "/[一-龥]*火/", "begins with an open repetition"},
		{"group", "/(.*)火/", "begins with an open repetition"},
		{"alternative", "/火|.*/", "begins with an open repetition"},
		{"after an optional", "/a?.*/", "begins with an open repetition"},
		{"field regexp", "title:/.*/", "begins with an open repetition"},
		{"bad regexp", "title:/[/", "not a valid regular expression"},
		{"regexp with a prefix", "/火.*/", ""},
		{"wildcard with a prefix", "火*", ""},
		{"single ? wildcard", "?灾", ""},
		{"too many words for one wildcard", "1*", "matches more than 1024 words"},
		{"too many words for one regexp", "/1[0-9]+/", "matches more than 1024 words"},
		{"a thousand words", "12*", ""},
		{"too many words together", "10* 11* 12* 13* 14*", "together"},
		{"fuzzy ~2 on a short word", "火灾~2", "fuzziness of 2"},
		{"fuzzy on one character", "火~1", "fuzziness of 1"},
		{"fuzzy on a latin word", "ab~2", "fuzziness of 2"},
		{"fuzzy ~1 on a word", "火灾~1", ""},
		{"huge OR list", words(300), "more than 256 words"},
		{"a long OR list", words(100), ""},
		{"audit q=/", "/", "could not be read"},
		{"slashes", "//", ""},
		{"unpaired slash", "火灾 /", "could not be read"},
		// The query string has no grouping: brackets are characters of
		// words, so nesting cannot grow the query.
		{"deep nesting", strings.Repeat("(", 40) + "火" + strings.Repeat(")", 40), ""},
		{"unbalanced", "((((火", ""},
		{"unpaired quote", `"火灾`, "unterminated quote"},
		{"too long", strings.Repeat("火灾 ", 1400), "bytes long"},
		{"plain words", "火灾 燃气", ""},
		// The load test's escape: 250 characters searched alone held a
		// gigabyte of term searchers and ran 34 s past a 5 s deadline.
		{"250 single characters", singles(250), "more than 8 characters alone"},
		{"9 single characters", singles(9), "more than 8 characters alone"},
		{"9 quoted single characters", `"` + strings.ReplaceAll(strings.TrimSpace(singles(9)), " ", `" "`) + `"`, "more than 8 characters alone"},
		{"8 single characters", singles(8), ""},
		{"single characters of many pairs", string(pairChars), ""},
		// A character field finds a character as one term; the bound on
		// the pairs holding it is for indexes of bigram fields
		// (TestSingleCharactersOnBigramIndex).
		{"single characters of many pairs, each one term", strings.Join(strings.Split(string(pairChars), ""), " "), ""},
		{"a single character in a keyword field", "source:王 " + singles(8), ""},
		{"single character", "火", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ix.Search(context.Background(), index.Query{Text: c.q, Size: 5})
			if c.want == "" {
				if err != nil {
					t.Fatalf("%q: %v", c.q, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("%q ran; want a refusal with %q", c.q, c.want)
			}
			if !errors.Is(err, index.ErrBadQuery) {
				t.Fatalf("%q: %v does not wrap ErrBadQuery", c.q, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Fatalf("%q: %q does not say %q", c.q, msg, c.want)
			}
			for _, inside := range []string{"runtime error", "panic", "goroutine", "TooManyClauses", "\n"} {
				if strings.Contains(msg, inside) {
					t.Fatalf("%q: the message shows %q: %s", c.q, inside, msg)
				}
			}
		})
	}
}

// TestPageWithoutMarksWhenMarkingExpandsTooFar: the clauses that mark a
// page's highlights expand a pattern on the bigram fields, which hold more
// terms than the word fields the bounds counted. When that expansion is
// refused the search still answers, with the page unmarked, instead of
// failing a query the bounds let through.
func TestPageWithoutMarksWhenMarkingExpandsTooFar(t *testing.T) {
	ix := openZH(t)
	load(t, ix, []index.Doc{{ID: "p1", Title: "一", Body: "仓库起火了。甲火乙火丙火丁火戊火己火庚火辛火壬火癸火"}})
	q := index.Query{Text: "/[一-龥]火/"}
	words := len(search(t, ix, q).Hits)
	if words == 0 {
		t.Fatal("the pattern finds nothing: the test says nothing")
	}
	defer func(n int) { searcher.DisjunctionMaxClauseCount = n }(searcher.DisjunctionMaxClauseCount)
	// Room for the pattern's words in the word fields, not for the
	// pairs ending in 火 in the bigram fields (甲火, 乙火, … ten of them).
	searcher.DisjunctionMaxClauseCount = 4
	r, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("the search failed on its marks: %v", err)
	}
	if len(r.Hits) != words {
		t.Fatalf("%d hits, want the %d found with every mark", len(r.Hits), words)
	}
}
