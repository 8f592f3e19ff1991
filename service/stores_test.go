package service

import (
	"context"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/index/pgsearch"
	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
	"riskmine/nlp"
)

// TestPgSearchWritesOnSync: on PostgreSQL the pipeline's posts are written
// by Sync, as one group, and only then found; a post kept twice before a
// Sync is stored once, the last version.
func TestPgSearchWritesOnSync(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st, err := pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: IndexTokenize, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	p := &pgSearch{Store: st}
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	for i, title := range []string{"路口井盖缺失", "仓库起火", "仓库起火，浓烟很大"} {
		url := "https://news.test/a"
		if i == 0 {
			url = "https://news.test/b"
		}
		if err := p.Add(ctx, index.Doc{ID: url, URL: url, CanonicalURL: url, Title: title, Body: title, FetchedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := p.Count(ctx); err != nil || n != 0 {
		t.Fatalf("before Sync: %d posts (%v), want none written", n, err)
	}
	if err := p.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Count(ctx); err != nil || n != 2 {
		t.Fatalf("after Sync: %d posts (%v), want 2", n, err)
	}
	res, err := p.Search(ctx, index.Query{Text: "浓烟"})
	if err != nil || res.Total != 1 {
		t.Fatalf("the last version of the post kept twice: %+v, %v", res, err)
	}
	if err := p.Sync(ctx); err != nil {
		t.Errorf("a Sync with nothing kept: %v", err)
	}
}
