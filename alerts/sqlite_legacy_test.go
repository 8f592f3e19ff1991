package alerts

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/internal/sqlitedb"
	"riskmine/internal/sqlitedb/sqlitedbtest"
)

// copyLegacy writes the gzipped fixture testdata/legacy.db.gz, a database
// written by the release before internal/sqlitedb, to a temporary file.
// It was made with that release's OpenSQLite and two posts filed with
// placed (one lead of two sources).
func copyLegacy(t *testing.T) string {
	return sqlitedbtest.CopyGzipped(t, filepath.Join("testdata", "legacy.db.gz"))
}

// TestSQLiteOpensALegacyDatabase opens a lead store of the previous
// release: its lead reads back and a new post of the same incident joins
// it.
func TestSQLiteOpensALegacyDatabase(t *testing.T) {
	ctx := context.Background()
	path := copyLegacy(t)
	s, err := OpenSQLite(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := sqlitedb.Version(ctx, s.r, "alerts"); err != nil || v != len(migrations) {
		t.Fatalf("alerts schema version %d, %v; want %d", v, err, len(migrations))
	}
	for _, db := range []struct {
		name string
		q    func() (int, error)
	}{
		{"writer", func() (n int, err error) { return n, s.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&n) }},
		{"reader", func() (n int, err error) { return n, s.r.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&n) }},
	} {
		if n, err := db.q(); err != nil || n != 1 {
			t.Fatalf("%s synchronous %d, %v: the lead store keeps NORMAL", db.name, n, err)
		}
	}
	leads, total, err := s.ListLeads(ctx, LeadFilter{Limit: 10})
	if err != nil || total != 1 || len(leads) != 1 || leads[0].SourceCount != 2 || leads[0].Place != "五四路" {
		t.Fatalf("legacy leads: %d %+v %v", total, leads, err)
	}
	joined := mustFile(t, s, placed("https://c.test/3", "350102", 1, "五四路"))
	if joined.LeadID != leads[0].ID {
		t.Fatalf("a new post of the incident opened %s, want it to join %s", joined.LeadID, leads[0].ID)
	}
}

// TestSQLiteRefusesANewerDatabase opens a lead store that a later release
// migrated further: the error says so on one line.
func TestSQLiteRefusesANewerDatabase(t *testing.T) {
	s, path := openTestStore(t, Options{})
	if _, err := s.w.Exec(`UPDATE alerts_schema SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := OpenSQLite(path, Options{})
	if !errors.Is(err, sqlitedb.ErrTooNew) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("opening a newer database: %v", err)
	}
}
