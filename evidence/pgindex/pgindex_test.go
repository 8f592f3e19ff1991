package pgindex

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"riskmine/evidence"
	"riskmine/evidence/storetest"
	"riskmine/internal/pgtest"
)

func open(t *testing.T, dsn string) *Index {
	t.Helper()
	x, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestConformance runs the index suite on PostgreSQL, each case in a
// schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) evidence.Index { return open(t, pgtest.DSN(t)) })
}

// TestConformanceNodes runs the two-node cases with each node's index on
// a pool of its own, over one schema.
func TestConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) storetest.Opener {
		dsn := pgtest.DSN(t)
		return func(t *testing.T) evidence.Index { return open(t, dsn) }
	})
}

// TestImportFromSQLite moves an embedded index to PostgreSQL as riskmine
// migrate would: the captures keep their ids, a rerun adds nothing, and
// the next capture gets a higher id.
func TestImportFromSQLite(t *testing.T) {
	ctx := context.Background()
	x := open(t, pgtest.DSN(t))
	lite, err := evidence.OpenSQLiteIndex(ctx, filepath.Join(t.TempDir(), "riskmine.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	at := time.Date(2026, 12, 1, 8, 0, 0, 5000, time.UTC)
	for i := range 7 {
		e := evidence.Entry{LeadID: fmt.Sprint("L", i%3), URL: fmt.Sprint("http://a.test/", i), TargetURI: "http://a.test/",
			Source: "news", File: "riskmine-1.warc.gz", Offset: int64(i) * 100, Length: 100, ResponseID: fmt.Sprint("<urn:uuid:", i, ">"),
			PayloadDigest: "sha256:" + fmt.Sprintf("%064d", i), BlockDigest: "sha256:" + fmt.Sprintf("%064d", i+1), Status: 200,
			ContentType: "text/html", CapturedAt: at.Add(time.Duration(i) * time.Minute), ArchivedAt: at.Add(time.Hour)}
		if _, err := lite.Insert(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// Ids with a gap, as retention leaves them.
	if _, err := lite.DeleteBeyond(ctx, "riskmine-1.warc.gz", 500); err != nil {
		t.Fatal(err)
	}
	var all []evidence.Entry
	for after := int64(0); ; {
		page, err := lite.Entries(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		n, err := x.Import(ctx, page)
		if err != nil || n != len(page) {
			t.Fatalf("import of %d: %d, %v", len(page), n, err)
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
	if len(all) != 5 {
		t.Fatalf("%d captures read from SQLite, want 5", len(all))
	}
	for _, e := range all {
		got, err := x.Get(ctx, e.ID)
		if err != nil || got != e {
			t.Errorf("capture %d in PostgreSQL: %+v, %v\nwant %+v", e.ID, got, err, e)
		}
	}
	if n, err := x.Import(ctx, all); err != nil || n != 0 {
		t.Errorf("import again: %d, %v; want 0", n, err)
	}
	id, err := x.Insert(ctx, all[0])
	if err != nil || id <= all[len(all)-1].ID {
		t.Errorf("the next capture's id %d, %v; want above %d", id, err, all[len(all)-1].ID)
	}
}
