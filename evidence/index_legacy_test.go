package evidence

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"riskmine/internal/sqlitedb"
)

// TestIndexOpensALegacyDatabase opens a riskmine.db whose evidence tables
// the release before internal/sqlitedb made (its bookkeeping SQL, copied
// here): the index adopts them at their version and archives into them.
func TestIndexOpensALegacyDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "riskmine.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS evidence_schema (version INTEGER NOT NULL)`,
		`INSERT INTO evidence_schema(version) VALUES (0)`,
		schema[0],
		`UPDATE evidence_schema SET version = 1`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	a, _ := openTest(t, dir, nil)
	defer a.Close()
	if v, err := sqlitedb.Version(ctx, a.idx.(*SQLiteIndex).db, "evidence"); err != nil || v != len(schema) {
		t.Fatalf("evidence schema version %d, %v; want %d", v, err, len(schema))
	}
	var sync int
	if err := a.idx.(*SQLiteIndex).db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 1 {
		t.Fatalf("synchronous %d, %v: the index keeps NORMAL", sync, err)
	}
	e, _, err := a.Put(ctx, testPage(1, "<p>井盖</p>"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get(ctx, e.ID); err != nil || got.PayloadDigest != e.PayloadDigest {
		t.Fatalf("Get(%d) = %+v, %v", e.ID, got, err)
	}
}
