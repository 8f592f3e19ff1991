package pgsearch_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/index"
	"riskmine/index/pgsearch"
	"riskmine/index/searchtest"
	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
	"riskmine/nlp"
)

// copyBackend loads posts with CopyIn in one transaction and searches
// them with the store.
type copyBackend struct {
	pool *pgxpool.Pool
	s    *pgsearch.Store
}

func (b copyBackend) Add(ctx context.Context, docs []index.Doc) error {
	return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error { return pgsearch.CopyIn(ctx, tx, docs) })
}

func (b copyBackend) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	return b.s.Search(ctx, q)
}

func openCopy(t *testing.T) copyBackend {
	t.Helper()
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, pgtest.DSN(t), pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: cutSearch, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	return copyBackend{pool, s}
}

// TestCopyInBehaviour: posts bulk-loaded by CopyIn are found as posts
// added one by one are (the search suite), with the same facets.
func TestCopyInBehaviour(t *testing.T) {
	b := openCopy(t)
	searchtest.Run(t, b, searchtest.Corpus(300))
	pg := pgBackend{openPG(t)}
	if err := pg.Add(context.Background(), searchtest.Corpus(300)); err != nil {
		t.Fatal(err)
	}
	searchtest.SameFacets(t, pg, b)
}

// TestCopyInRollsBack: a copy rolled back leaves neither posts nor the
// month partitions it created.
func TestCopyInRollsBack(t *testing.T) {
	b := openCopy(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		if err := pgsearch.CopyIn(ctx, tx, searchtest.Corpus(50)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if n, err := b.s.Count(ctx); err != nil || n != 0 {
		t.Fatalf("count %d, %v; want 0", n, err)
	}
	var parts int
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = 'search_posts' AND p.relnamespace = current_schema()::regnamespace`).Scan(&parts); err != nil {
		t.Fatal(err)
	}
	if parts != 0 {
		t.Fatalf("%d partitions left after the rollback", parts)
	}
	// A post without any time is refused before anything is written.
	err = pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		return pgsearch.CopyIn(ctx, tx, []index.Doc{{ID: "x", Title: "无时间"}})
	})
	if err == nil {
		t.Fatal("a post without a time was copied")
	}
}
