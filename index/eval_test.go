package index_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"riskmine/index"
)

var evalPosts = flag.String("index.posts", "", "JSON Lines of real posts {\"id\",\"title\",\"text\"} for TestFragmentRecall (skipped without it)")

// TestFragmentRecall measures, on real posts given with -index.posts, how
// often a fragment cut at random out of a post (4–8 characters, across word
// boundaries wherever they fall) finds that post as a quoted phrase and as
// bare words:
//
//	go test ./index -run TestFragmentRecall -v -args -index.posts=FILE
func TestFragmentRecall(t *testing.T) {
	if *evalPosts == "" {
		t.Skip("needs -index.posts FILE")
	}
	f, err := os.Open(*evalPosts)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix := openAt(t, filepath.Join(t.TempDir(), "idx"))
	ctx := context.Background()
	type post struct{ ID, Title, Text string }
	var posts []post
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var p post
		if json.Unmarshal(sc.Bytes(), &p) != nil || p.Text == "" {
			continue
		}
		p.ID = fmt.Sprint(len(posts))
		posts = append(posts, p)
		if err := ix.Add(ctx, index.Doc{ID: p.ID, Title: p.Title, Body: p.Text}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var frags []string
	var origin []string
	for tries := 0; len(frags) < 300 && tries < 100000; tries++ {
		p := posts[r.IntN(len(posts))]
		rs := []rune(p.Text)
		if len(rs) < 20 {
			continue
		}
		n := 4 + r.IntN(5)
		st := r.IntN(len(rs) - n)
		frag := string(rs[st : st+n])
		if strings.IndexFunc(frag, func(c rune) bool { return !unicode.Is(unicode.Han, c) }) >= 0 {
			continue
		}
		frags = append(frags, frag)
		origin = append(origin, p.ID)
	}
	found := map[string]int{}
	var hits []int
	for i, frag := range frags {
		for _, form := range []string{"phrase", "words"} {
			q := frag
			if form == "phrase" {
				q = `"` + frag + `"`
			}
			res, err := ix.Search(ctx, index.Query{Text: q, Size: index.MaxSize, NoFacets: true})
			if err != nil {
				t.Fatal(err)
			}
			if form == "phrase" {
				hits = append(hits, int(res.Total))
			}
			if slices.ContainsFunc(res.Hits, func(h index.Hit) bool { return h.ID == origin[i] }) {
				found[form]++
			}
		}
	}
	slices.Sort(hits)
	t.Logf("%d posts, %d fragments: found by quoted phrase %d (%.1f%%), by bare words %d (%.1f%%); median phrase hits %d",
		len(posts), len(frags), found["phrase"], 100*float64(found["phrase"])/float64(len(frags)),
		found["words"], 100*float64(found["words"])/float64(len(frags)), hits[len(hits)/2])
	if found["phrase"] != len(frags) {
		t.Errorf("a quoted fragment of a post must find that post: %d of %d did", found["phrase"], len(frags))
	}
}
