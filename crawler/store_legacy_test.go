package crawler

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"riskmine/internal/sqlitedb"
	"riskmine/internal/sqlitedb/sqlitedbtest"
)

// copyLegacy writes the gzipped fixture testdata/legacy.db.gz, a database
// written by the release before internal/sqlitedb, to a temporary file.
// It was made with that release's OpenStore, saveFetched, startRun,
// finishRun, acquireLease (a lease of another host's process, renewed far
// into the future) and saveHealth (whose table that release created on
// first use, outside its migrations).
func copyLegacy(t *testing.T) string {
	return sqlitedbtest.CopyGzipped(t, filepath.Join("testdata", "legacy.db.gz"))
}

// TestStoreOpensALegacyDatabase opens a crawl state of the previous
// release: it migrates, its pages, runs, leases and source health read
// back, and the health table, made outside the migrations then, is
// adopted.
func TestStoreOpensALegacyDatabase(t *testing.T) {
	ctx := context.Background()
	path := copyLegacy(t)
	at := time.UnixMilli(1760000000000).UTC()
	for range 2 { // the second open finds nothing to do
		s, err := OpenStore(path)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := sqlitedb.Version(ctx, s.db, "crawl"); err != nil || v != len(schema) {
			t.Fatalf("crawl schema version %d, %v; want %d", v, err, len(schema))
		}
		var sync int
		if err := s.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 1 {
			t.Fatalf("synchronous %d, %v: the crawl store keeps NORMAL", sync, err)
		}
		p, err := s.Page(ctx, "http://forum.test/t/1")
		if err != nil || !p.Found || p.ETag != `"e1"` || !p.LastFetched.Equal(at) {
			t.Fatalf("legacy page: %+v, %v", p, err)
		}
		r, ok, err := s.LastRun(ctx, "forum")
		if err != nil || !ok || r.Fetched != 3 || r.New != 1 || r.Errors["network"] != 1 || r.Abandoned {
			t.Fatalf("legacy run: %+v %v %v", r, ok, err)
		}
		_, err = s.AcquireLease(ctx, "news", func() time.Time { return at })
		var held *LeaseHeldError
		if !errors.As(err, &held) || held.Holder != "elsewhere-1/abc" {
			t.Fatalf("legacy lease: %v", err)
		}
		h, err := s.Health(ctx)
		if err != nil || len(h["forum"].Failing) != 1 || h["forum"].Failing[0].Problem != HealthNoItems || h["forum"].EmptyRuns != 3 {
			t.Fatalf("legacy health: %+v, %v", h, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreRefusesANewerDatabase opens a crawl state that a later release
// migrated further: the error says so on one line.
func TestStoreRefusesANewerDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskmine.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE crawl_schema SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = OpenStore(path)
	if !errors.Is(err, sqlitedb.ErrTooNew) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("opening a newer database: %v", err)
	}
}
