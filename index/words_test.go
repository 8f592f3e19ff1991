package index_test

import (
	"slices"
	"strings"
	"testing"

	"riskmine/index"
	"riskmine/nlp"
)

// TestGivenWordsIndexLikeSegmenting indexes the corpus once segmented by the
// index and once with the words handed in, and checks that searches find
// the same posts with the same highlights.
func TestGivenWordsIndexLikeSegmenting(t *testing.T) {
	plain, given := openZH(t), openZH(t)
	load(t, plain, corpus())
	docs := corpus()
	for i := range docs {
		docs[i].TitleWords = givenWords(docs[i].Title)
		docs[i].BodyWords = givenWords(docs[i].Body)
	}
	load(t, given, docs)
	for _, q := range []string{"火灾", "火災", "燃气泄漏", `"基站起火"`, "5G", "消防 -演练", "title:倉庫", "abc", "居民"} {
		a, b := search(t, plain, index.Query{Text: q}), search(t, given, index.Query{Text: q})
		if !slices.Equal(ids(a), ids(b)) {
			t.Errorf("%s: segmented by the index %v, words given %v", q, ids(a), ids(b))
			continue
		}
		if a.Total == 0 {
			t.Errorf("%s: found nothing; the comparison says nothing", q)
		}
		for i := range a.Hits {
			ha, hb := a.Hits[i], b.Hits[i]
			if ha.ID != hb.ID || !slices.Equal(ha.Fragments["body"], hb.Fragments["body"]) || !slices.Equal(ha.Fragments["title"], hb.Fragments["title"]) {
				t.Errorf("%s: hit %d differs: %v %v / %v %v", q, i, ha.ID, ha.Fragments, hb.ID, hb.Fragments)
			}
		}
	}
}

// TestGivenWordsUsedOnlyWhenTheyFit hands in words the text does not
// contain: it is indexed when the words belong to the field's normalised
// text (so the index really took them) and ignored when they belong to
// another text.
func TestGivenWordsUsedOnlyWhenTheyFit(t *testing.T) {
	ix := openZH(t)
	body := "甲乙丙丁戊己庚辛"
	n := nlp.NormalizeText(body)
	// The words of 消防员 (a query of three characters or more searches the
	// word field), planted over the first three characters of the body.
	var planted []index.Token
	for _, w := range cutSearch("消防员") {
		planted = append(planted, index.Token{Text: w.Text, Start: 0, End: 9})
	}
	load(t, ix, []index.Doc{
		{ID: "fits", Title: "一", Body: body, BodyWords: &index.Words{Normalized: n, Tokens: planted}},
		{ID: "stale", Title: "二", Body: body + "。", BodyWords: &index.Words{Normalized: n, Tokens: planted}},
	})
	r := search(t, ix, index.Query{Text: "消防员"})
	if got := ids(r); !slices.Equal(got, []string{"fits"}) {
		t.Fatalf("消防员 found %v, want only the post whose words fit its text", got)
	}
	r = search(t, ix, index.Query{Text: `"丙丁戊"`})
	if got := ids(r); !slices.Equal(got, []string{"fits", "stale"}) {
		t.Fatalf("the bigram field of both posts: %v", got)
	}
}

// TestGivenWordsCarryTheScorersText hands in words with the scorer's
// offset map: the scorer drops the space and the joining dot between
// Chinese characters over the whole text, which the index cannot do piece
// by piece on its own. With the map the index takes the scorer's text, so
// a fragment across the dropped space is found, and its highlight covers
// the characters as the post shows them; a map that does not fit the text
// is ignored.
func TestGivenWordsCarryTheScorersText(t *testing.T) {
	ix := openZH(t)
	body := "仓库起火 浓烟很大，约翰·史密斯在现场"
	nz := nlp.Normalize(body)
	if strings.ContainsAny(nz.Text, " ·") {
		t.Fatalf("the scorer's text %q keeps the space or the dot: the test needs another example", nz.Text)
	}
	words := func(orig []int32) *index.Words {
		return &index.Words{Normalized: nz.Text, Tokens: cutSearch(nz.Text), Orig: orig}
	}
	load(t, ix, []index.Doc{
		{ID: "given", Title: "一", Body: body, BodyWords: words(nz.Orig)},
		{ID: "plain", Title: "二", Body: body},
		{ID: "badmap", Title: "三", Body: body, BodyWords: words(nz.Orig[:len(nz.Orig)-1])},
	})
	r := search(t, ix, index.Query{Text: `"火浓"`})
	if got := ids(r); !slices.Equal(got, []string{"given"}) {
		t.Fatalf(`"火浓" found %v, want the post indexed with the scorer's text only`, got)
	}
	if fr := r.Hits[0].Fragments["body"]; len(fr) == 0 || !strings.Contains(fr[0], "<mark>火 浓</mark>") {
		t.Errorf("highlight %q, want the mark over 火 浓 as written", fr)
	}
	r = search(t, ix, index.Query{Text: "约翰史密斯"})
	if !slices.Contains(ids(r), "given") {
		t.Fatalf("约翰史密斯 found %v, want given among them", ids(r))
	}
	for _, h := range r.Hits {
		if h.ID == "given" && !strings.Contains(strings.Join(h.Fragments["body"], ""), "约翰·史密斯</mark>") {
			t.Errorf("highlight %q, want the mark to end after 约翰·史密斯 as written", h.Fragments["body"])
		}
	}
	r = search(t, ix, index.Query{Text: "仓库"})
	if got := ids(r); !slices.Equal(got, []string{"badmap", "given", "plain"}) {
		t.Fatalf("仓库 found %v, want all three posts", got)
	}
}
