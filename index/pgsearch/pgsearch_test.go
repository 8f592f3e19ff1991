package pgsearch_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/index/pgsearch"
	"riskmine/index/searchtest"
	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
	"riskmine/nlp"
	"riskmine/web"
)

func cutSearch(s string) []index.Token {
	toks := nlp.CutSearch(s)
	out := make([]index.Token, len(toks))
	for i, t := range toks {
		out[i] = index.Token{Text: t.Text, Start: t.Start, End: t.End}
	}
	return out
}

// bleveBackend is the Bleve index with the real Chinese analysis.
type bleveBackend struct{ ix *index.Index }

func (b bleveBackend) Add(ctx context.Context, docs []index.Doc) error {
	for _, d := range docs {
		if err := b.ix.Add(ctx, d); err != nil {
			return err
		}
	}
	return b.ix.Flush(ctx)
}

func (b bleveBackend) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	return b.ix.Search(ctx, q)
}

func openBleve(t testing.TB) bleveBackend {
	t.Helper()
	ix, err := index.Open(index.Options{Path: filepath.Join(t.TempDir(), "idx"), Tokenize: cutSearch, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return bleveBackend{ix}
}

// pgBackend is the PostgreSQL store.
type pgBackend struct{ s *pgsearch.Store }

func (b pgBackend) Add(ctx context.Context, docs []index.Doc) error {
	for len(docs) > 0 {
		n := min(len(docs), 200)
		if err := b.s.Add(ctx, docs[:n]...); err != nil {
			return err
		}
		docs = docs[n:]
	}
	return nil
}

func (b pgBackend) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	return b.s.Search(ctx, q)
}

func openPG(t testing.TB) *pgsearch.Store {
	t.Helper()
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: cutSearch, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBleveBehaviour(t *testing.T) {
	searchtest.Run(t, openBleve(t), searchtest.Corpus(300))
}

func TestPostgresBehaviour(t *testing.T) {
	searchtest.Run(t, pgBackend{openPG(t)}, searchtest.Corpus(300))
}

func TestFacetsSameOnBothBackends(t *testing.T) {
	pg := pgBackend{openPG(t)}
	bl := openBleve(t)
	docs := searchtest.Corpus(300)
	ctx := context.Background()
	if err := pg.Add(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := bl.Add(ctx, docs); err != nil {
		t.Fatal(err)
	}
	searchtest.SameFacets(t, bl, pg)
}

// TestUnsupportedQueries: what a tsquery cannot say is a bad query, not a
// wrong answer.
func TestUnsupportedQueries(t *testing.T) {
	s := openPG(t)
	for _, text := range []string{"井*", "/井.盖/", "井盖~1", "score:>5", `published_at:>"2026-01-01"`, "火", "-井盖", "price:3"} {
		_, err := s.Search(context.Background(), index.Query{Text: text})
		if !errors.Is(err, index.ErrBadQuery) {
			t.Errorf("%q: got %v, want an error wrapping index.ErrBadQuery", text, err)
		}
	}
}

// TestReplaceAcrossMonths: a post whose time moves to another month is
// stored once.
func TestReplaceAcrossMonths(t *testing.T) {
	s := openPG(t)
	ctx := context.Background()
	d := searchtest.Corpus(1)[0]
	if err := s.Add(ctx, d); err != nil {
		t.Fatal(err)
	}
	d.PublishedAt = d.PublishedAt.AddDate(0, -2, 0)
	if err := s.Add(ctx, d); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Count(ctx); err != nil || n != 1 {
		t.Fatalf("count %d, %v; want 1", n, err)
	}
}

// TestDropBefore: retention drops whole months, and only those that end
// before the cut.
func TestDropBefore(t *testing.T) {
	s := openPG(t)
	ctx := context.Background()
	docs := searchtest.Corpus(300) // 300 posts 7 h apart: about 3 months
	if err := s.Add(ctx, docs...); err != nil {
		t.Fatal(err)
	}
	cut := time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC)
	dropped, err := s.DropBefore(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	wantDropped, kept := []string{}, 0
	seen := map[string]bool{}
	for _, d := range docs {
		month := d.PublishedAt.Format("search_posts_2006_01")
		if d.PublishedAt.Before(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
			if !seen[month] {
				seen[month] = true
				wantDropped = append(wantDropped, month)
			}
		} else {
			kept++
		}
	}
	slices.Sort(wantDropped)
	if !slices.Equal(dropped, wantDropped) {
		t.Errorf("dropped %v, want %v", dropped, wantDropped)
	}
	if n, err := s.Count(ctx); err != nil || int(n) != kept {
		t.Errorf("count after drop %d, %v; want %d", n, err, kept)
	}
	// A post for a dropped month creates its partition again.
	if err := s.Add(ctx, docs[len(docs)-1]); err != nil {
		t.Fatal(err)
	}
}

// The web pages take either backend through web.Searcher.
var (
	_ web.Searcher = (*pgsearch.Store)(nil)
	_ web.Searcher = (*index.Index)(nil)
)
