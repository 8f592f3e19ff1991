package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func openTemp(t *testing.T, o Options) (*sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	db, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func version(t *testing.T, db *sql.DB, name string) int {
	t.Helper()
	v, err := Version(context.Background(), db, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Steps that fail when run twice (CREATE TABLE without IF NOT EXISTS, an
// insert into a unique column) show that each runs once.
var testSteps = []string{
	`CREATE TABLE t_a (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
	CREATE TABLE t_log (step INTEGER NOT NULL UNIQUE);
	INSERT INTO t_log VALUES (1);`,
	`ALTER TABLE t_a ADD COLUMN extra TEXT NOT NULL DEFAULT '';
	INSERT INTO t_log VALUES (2);`,
	`CREATE INDEX t_a_extra ON t_a(extra);
	INSERT INTO t_log VALUES (3);`,
}

func TestMigrateRunsEachStepOnce(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t, Options{})
	if v := version(t, db, "t"); v != 0 {
		t.Fatalf("version of an empty database %d", v)
	}
	// An old binary knew two steps.
	if err := Migrate(ctx, db, "t", testSteps[:2]); err != nil {
		t.Fatal(err)
	}
	if v := version(t, db, "t"); v != 2 {
		t.Fatalf("version %d after two steps", v)
	}
	if _, err := db.Exec(`INSERT INTO t_a(name, extra) VALUES ('kept', 'x')`); err != nil {
		t.Fatal(err)
	}
	// The new one knows three; opening twice more runs the third once.
	for range 2 {
		if err := Migrate(ctx, db, "t", testSteps); err != nil {
			t.Fatal(err)
		}
	}
	if v := version(t, db, "t"); v != 3 {
		t.Fatalf("version %d after three steps", v)
	}
	if n := count(t, db, `SELECT count(*) FROM t_log`); n != 3 {
		t.Fatalf("%d steps logged, want 3", n)
	}
	if n := count(t, db, `SELECT count(*) FROM t_a WHERE name = 'kept' AND extra = 'x'`); n != 1 {
		t.Fatal("the row written between versions is gone")
	}
	if n := count(t, db, `SELECT count(*) FROM sqlite_schema WHERE name = 't_a_extra'`); n != 1 {
		t.Fatal("the third step's index is missing")
	}
}

func TestMigrateRefusesANewerDatabase(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t, Options{})
	if err := Migrate(ctx, db, "t", testSteps); err != nil {
		t.Fatal(err)
	}
	err := Migrate(ctx, db, "t", testSteps[:1])
	if !errors.Is(err, ErrTooNew) {
		t.Fatalf("an older program opened a newer database: %v", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "t tables are at schema version 3, this program knows 1") {
		t.Fatalf("error %q: want one line naming the store and both versions", msg)
	}
	if v := version(t, db, "t"); v != 3 {
		t.Fatalf("refusing changed the version to %d", v)
	}
}

func TestMigrateFailedStepLeavesTheLastWholeStep(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t, Options{})
	bad := append(append([]string(nil), testSteps[:1]...),
		`CREATE TABLE t_half (x INTEGER); INSERT INTO no_such_table VALUES (1);`)
	err := Migrate(ctx, db, "t", bad)
	if err == nil || !strings.Contains(err.Error(), "t schema step 2") {
		t.Fatalf("a failing step gave %v, want an error naming step 2", err)
	}
	if v := version(t, db, "t"); v != 1 {
		t.Fatalf("version %d after a failed second step, want 1", v)
	}
	if n := count(t, db, `SELECT count(*) FROM sqlite_schema WHERE name = 't_half'`); n != 0 {
		t.Fatal("the failed step's first statement was kept")
	}
	// The connection went back to the pool out of its transaction: the
	// next migration works.
	if err := Migrate(ctx, db, "t", testSteps); err != nil {
		t.Fatal(err)
	}
	if v := version(t, db, "t"); v != 3 {
		t.Fatalf("version %d after the fixed steps", v)
	}
}

func TestMigrateStoresAreIndependent(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t, Options{})
	if err := Migrate(ctx, db, "one", []string{`CREATE TABLE one_x (a INTEGER)`}); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db, "two", []string{`CREATE TABLE two_x (a INTEGER)`, `CREATE TABLE two_y (a INTEGER)`}); err != nil {
		t.Fatal(err)
	}
	if a, b := version(t, db, "one"), version(t, db, "two"); a != 1 || b != 2 {
		t.Fatalf("versions one %d two %d", a, b)
	}
}

// TestMigrateConcurrentOpens has several pools, as several processes would,
// migrate one file at once: every step runs exactly once.
func TestMigrateConcurrentOpens(t *testing.T) {
	ctx := context.Background()
	_, path := openTemp(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			db, err := Open(path, Options{MaxOpenConns: 2})
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			errs <- Migrate(ctx, db, "t", testSteps)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := count(t, db, `SELECT count(*) FROM t_log`); n != 3 {
		t.Fatalf("%d steps logged, want 3", n)
	}
}

func TestMigrateRejectsABadName(t *testing.T) {
	db, _ := openTemp(t, Options{})
	for _, name := range []string{"", "Web", "a b", "x; DROP TABLE y", "1st"} {
		if err := Migrate(context.Background(), db, name, testSteps); err == nil {
			t.Errorf("store name %q accepted", name)
		}
	}
}

func TestOpenSetsThePragmas(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		sync int // 1 NORMAL, 2 FULL
		conn int
	}{
		{"defaults", Options{}, 2, 0},
		{"normal", Options{Synchronous: "NORMAL", MaxOpenConns: 3}, 1, 3},
		{"full with cache", Options{Synchronous: "FULL", Pragmas: []string{"cache_size(-32000)"}}, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openTemp(t, tc.o)
			var mode string
			if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
				t.Fatalf("journal_mode %q %v", mode, err)
			}
			if n := count(t, db, `PRAGMA busy_timeout`); n != BusyTimeout {
				t.Errorf("busy_timeout %d", n)
			}
			if n := count(t, db, `PRAGMA foreign_keys`); n != 1 {
				t.Errorf("foreign_keys %d", n)
			}
			if n := count(t, db, `PRAGMA synchronous`); n != tc.sync {
				t.Errorf("synchronous %d, want %d", n, tc.sync)
			}
			if len(tc.o.Pragmas) > 0 {
				if n := count(t, db, `PRAGMA cache_size`); n != -32000 {
					t.Errorf("cache_size %d", n)
				}
			}
			if got := db.Stats().MaxOpenConnections; got != tc.conn {
				t.Errorf("max open connections %d, want %d", got, tc.conn)
			}
		})
	}
}

func TestOpenImmediateTakesTheWriteLockAtBegin(t *testing.T) {
	db, path := openTemp(t, Options{Immediate: true, MaxOpenConns: 1})
	// The other pool does not wait for the lock, so the test need not.
	other, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// The first transaction has written nothing, yet holds the lock.
	tx2, err := other.Begin()
	if err == nil {
		tx2.Rollback()
		t.Fatal("a second immediate transaction began while the first held the write lock")
	}
}

// badRows yields two rows and then fails while stepping to the third.
const badRows = `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5)
	SELECT CASE WHEN n = 3 THEN abs(-9223372036854775807 - 1) ELSE n END FROM c`

func TestEachReportsAnErrorMidIteration(t *testing.T) {
	db, _ := openTemp(t, Options{})
	// A loop over Next alone stops quietly after two rows.
	rows, err := db.Query(badRows)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		seen++
	}
	rows.Close()
	if seen != 2 {
		t.Fatalf("the query yielded %d rows before failing, the test expects 2", seen)
	}
	rows, err = db.Query(badRows)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Collect(rows, func(r *sql.Rows) (int, error) {
		var n int
		return n, r.Scan(&n)
	})
	if err == nil || !strings.Contains(err.Error(), "overflow") {
		t.Fatalf("Collect gave %v, %v; want the integer overflow", got, err)
	}
}

func TestCollectAndEach(t *testing.T) {
	db, _ := openTemp(t, Options{})
	rows, err := db.Query(`SELECT value FROM json_each('[3,1,2]')`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Collect(rows, func(r *sql.Rows) (int, error) {
		var n int
		return n, r.Scan(&n)
	})
	if err != nil || len(got) != 3 || got[0] != 3 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("Collect = %v, %v", got, err)
	}
	rows, err = db.Query(`SELECT value FROM json_each('[1,2,3]')`)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err = Each(rows, func(*sql.Rows) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("Each returned %v after %d calls, want stop after 2", err, calls)
	}
	// Each closed the rows: the single connection is free again.
	db.SetMaxOpenConns(1)
	if n := count(t, db, `SELECT 1`); n != 1 {
		t.Fatal("SELECT 1")
	}
}

// A hook runs once, right after its step's SQL and inside its transaction:
// a failing hook leaves the step undone, and a later open runs both.
func TestMigrateHooks(t *testing.T) {
	ctx := context.Background()
	db, _ := openTemp(t, Options{})
	fail := true
	runs := 0
	hook := Hook{Step: testSteps[1], Run: func(ctx context.Context, q Querier) error {
		runs++
		// The step's new column is already there.
		if _, err := q.ExecContext(ctx, `INSERT INTO t_a (name, extra) VALUES ('from hook', 'x')`); err != nil {
			return err
		}
		if fail {
			return errors.New("hook failed")
		}
		return nil
	}}
	err := Migrate(ctx, db, "t", testSteps, hook)
	if err == nil || !strings.Contains(err.Error(), "t schema step 2: hook failed") {
		t.Fatalf("Migrate with a failing hook = %v", err)
	}
	if v := version(t, db, "t"); v != 1 {
		t.Fatalf("version %d after the hook failed, want 1 (step 2 rolled back)", v)
	}
	if n := count(t, db, `SELECT count(*) FROM t_a`); n != 0 {
		t.Fatalf("%d rows left by the rolled-back hook", n)
	}
	fail = false
	if err := Migrate(ctx, db, "t", testSteps, hook); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db, "t", testSteps, hook); err != nil {
		t.Fatal(err)
	}
	if v := version(t, db, "t"); v != len(testSteps) || runs != 2 {
		t.Fatalf("version %d, hook runs %d; want %d and 2 (one failed, one kept)", v, runs, len(testSteps))
	}
	if n := count(t, db, `SELECT count(*) FROM t_a WHERE name = 'from hook'`); n != 1 {
		t.Fatalf("%d rows from the hook, want 1", n)
	}
}
