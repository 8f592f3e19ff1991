package web

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/internal/sqlitedb"
	"riskmine/internal/sqlitedb/sqlitedbtest"
)

// copyLegacy writes the gzipped fixture testdata/legacy.db.gz, a database
// written by the release before internal/sqlitedb, to a temporary file.
// It was made with that release's OpenStore, AddUser, createSession,
// CreateToken, SaveSearch, CreateAlertRule, recordLexiconChange (whose
// table that release created on first use, outside its migrations),
// AddReads and CreateUISource.
func copyLegacy(t *testing.T) string {
	return sqlitedbtest.CopyGzipped(t, filepath.Join("testdata", "legacy.db.gz"))
}

// TestStoreOpensALegacyDatabase opens a database of the previous release:
// it migrates, its rows read back through the store, and its lexicon
// audit table, made outside the migrations then, is adopted.
func TestStoreOpensALegacyDatabase(t *testing.T) {
	ctx := context.Background()
	path := copyLegacy(t)
	for range 2 { // the second open finds nothing to do
		s, err := OpenStore(path)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := sqlitedb.Version(ctx, s.db, "web"); err != nil || v != len(migrations) {
			t.Fatalf("web schema version %d, %v; want %d", v, err, len(migrations))
		}
		var sync int
		if err := s.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
			t.Fatalf("synchronous %d, %v: the web store keeps SQLite's FULL", sync, err)
		}
		u, err := s.Authenticate(ctx, "ana", "correct horse battery")
		if err != nil || u.Role != RoleAnalyst {
			t.Fatalf("legacy user: %+v, %v", u, err)
		}
		toks, err := s.Tokens(ctx)
		if err != nil || len(toks) != 1 || toks[0].Name != "ci" {
			t.Fatalf("legacy tokens: %+v, %v", toks, err)
		}
		ss, err := s.SavedSearches(ctx, "ana")
		if err != nil || len(ss) != 1 || ss[0].Name != "fires" {
			t.Fatalf("legacy saved searches: %+v, %v", ss, err)
		}
		rules, err := s.AlertRules(ctx)
		if err != nil || len(rules) != 1 || rules[0].MinLevel != "high" {
			t.Fatalf("legacy alert rules: %+v, %v", rules, err)
		}
		audit, err := s.LexiconAudit(ctx, 10)
		if err != nil || len(audit) != 1 || audit[0].Code != "fire" {
			t.Fatalf("legacy lexicon audit: %+v, %v", audit, err)
		}
		reads, _, err := s.Reads(ctx, ReadFilter{Limit: 10})
		if err != nil || len(reads) != 1 || reads[0].Target != "L1" {
			t.Fatalf("legacy read audit: %+v, %v", reads, err)
		}
		srcs, err := s.UISources(ctx)
		if err != nil || len(srcs) != 1 || srcs[0].Name != "forum" {
			t.Fatalf("legacy ui sources: %+v, %v", srcs, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreRefusesANewerDatabase opens a database that a later release
// migrated further: the error says so on one line.
func TestStoreRefusesANewerDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskmine.db")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE web_schema SET version = version + 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenStore(path); err == nil {
		t.Fatal("a database newer than the program opened")
	} else if want := "newer riskmine"; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q does not say %q on one line", err, want)
	}
}
