// Package sqlitedb is how riskmine's stores open SQLite: one place for the
// connection settings, the versioned migrations of each store's tables and
// the loop over query results.
//
// Every store keeps its tables in the shared riskmine.db, prefixed with its
// name (web_, crawl_, alerts_, evidence_). Each records its own schema
// version in a one-row table <name>_schema, so the stores migrate
// independently of each other in one file, as they always have: a
// database written by an earlier release opens and carries on from the
// version it records.
//
// The package imports nothing of riskmine; it uses the pure-Go
// modernc.org/sqlite driver.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options are the settings a store opens its database with. The pragmas
// every store shares are always set: WAL journal, a busy timeout of 10 s
// and foreign keys on.
type Options struct {
	// Synchronous is the synchronous pragma, NORMAL or FULL; "" leaves
	// SQLite's default (FULL).
	Synchronous string
	// Pragmas are further pragmas, each as name(value), for example
	// cache_size(-32000).
	Pragmas []string
	// Immediate begins every transaction with BEGIN IMMEDIATE, so a writer
	// waits for the lock up front instead of failing to upgrade a read.
	Immediate bool
	// MaxOpenConns and MaxIdleConns limit the pool; 0 leaves database/sql's
	// default (no limit on open connections, 2 idle).
	MaxOpenConns, MaxIdleConns int
}

// BusyTimeout is how long, in milliseconds, a connection waits for a lock
// another connection or process holds before giving up.
const BusyTimeout = 10000

// DSN returns the modernc.org/sqlite data source name for the file at path
// with o's pragmas.
func DSN(path string, o Options) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout))
	q.Add("_pragma", "foreign_keys(1)")
	if o.Synchronous != "" {
		q.Add("_pragma", "synchronous("+o.Synchronous+")")
	}
	for _, p := range o.Pragmas {
		q.Add("_pragma", p)
	}
	if o.Immediate {
		q.Set("_txlock", "immediate")
	}
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Open opens the SQLite file at path (created when missing) with o. Like
// sql.Open it does not connect; the first statement (usually Migrate) does.
func Open(path string, o Options) (*sql.DB, error) {
	db, err := sql.Open("sqlite", DSN(path, o))
	if err != nil {
		return nil, err
	}
	if o.MaxOpenConns > 0 {
		db.SetMaxOpenConns(o.MaxOpenConns)
	}
	if o.MaxIdleConns > 0 {
		db.SetMaxIdleConns(o.MaxIdleConns)
	}
	return db, nil
}

// ErrTooNew is wrapped by Migrate when the database records a schema
// version newer than the program's steps: a newer riskmine wrote it.
var ErrTooNew = errors.New("the database was written by a newer riskmine")

// namePattern is what a store name may be: it becomes part of a table name.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Migrate brings the tables of store name up to date in db: steps are its
// schema changes in order, step i taking the database from version i to
// i+1, and <name>_schema records how many have run. Each step runs once,
// in a transaction of its own together with the new version number, so a
// crash leaves the database at a whole step. The transactions begin
// IMMEDIATE, so two processes opening one database at the same time take
// turns and the second sees the first's steps done.
//
// A database whose version is beyond len(steps) is refused with an error
// wrapping ErrTooNew.
//
// Steps already released must never change; a table that an earlier
// release created outside the steps is adopted by a new step that creates
// it IF NOT EXISTS.
func Migrate(ctx context.Context, db *sql.DB, name string, steps []string, hooks ...Hook) (err error) {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("store name %q: expected lowercase letters, digits and _", name)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for {
		done, err := migrateStep(ctx, conn, name, steps, hooks)
		if err != nil || done {
			return err
		}
	}
}

// A Hook runs Go code in the transaction of the step whose SQL is Step,
// right after that SQL: for what SQL alone cannot do, such as rewriting old
// rows into new columns. A hook's error rolls its step back.
type Hook struct {
	Step string
	Run  func(ctx context.Context, q Querier) error
}

// Querier is what a Hook may use of the migration's connection.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// migrateStep runs the next step of name's steps, if any, and reports
// whether there was none left.
func migrateStep(ctx context.Context, conn *sql.Conn, name string, steps []string, hooks []Hook) (done bool, err error) {
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return false, err
	}
	committed := false
	defer func() {
		if !committed {
			// The context may be what failed; the rollback must still run
			// or the connection goes back to the pool inside a transaction.
			_, rerr := conn.ExecContext(context.Background(), `ROLLBACK`)
			err = errors.Join(err, rerr)
		}
	}()
	table := name + "_schema"
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (version INTEGER NOT NULL)`); err != nil {
		return false, err
	}
	var v int
	err = conn.QueryRowContext(ctx, `SELECT version FROM `+table).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := conn.ExecContext(ctx, `INSERT INTO `+table+` (version) VALUES (0)`); err != nil {
			return false, err
		}
	} else if err != nil {
		return false, err
	}
	if v > len(steps) {
		return false, fmt.Errorf("%w: the %s tables are at schema version %d, this program knows %d; run a riskmine at least as new as the one that wrote it", ErrTooNew, name, v, len(steps))
	}
	if v < len(steps) {
		if _, err := conn.ExecContext(ctx, steps[v]); err != nil {
			return false, fmt.Errorf("%s schema step %d: %w", name, v+1, err)
		}
		for _, h := range hooks {
			if h.Step != steps[v] {
				continue
			}
			if err := h.Run(ctx, conn); err != nil {
				return false, fmt.Errorf("%s schema step %d: %w", name, v+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, `UPDATE `+table+` SET version = ?`, v+1); err != nil {
			return false, err
		}
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return false, err
	}
	committed = true
	return v+1 >= len(steps), nil
}

// Version returns the schema version recorded for store name, 0 when it has
// none yet.
func Version(ctx context.Context, db *sql.DB, name string) (int, error) {
	if !namePattern.MatchString(name) {
		return 0, fmt.Errorf("store name %q: expected lowercase letters, digits and _", name)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, name+"_schema").Scan(&n); err != nil || n == 0 {
		return 0, err
	}
	var v int
	err := db.QueryRowContext(ctx, `SELECT version FROM `+name+`_schema`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// Each calls fn for every row of rows, then closes rows. It returns the
// first error of fn, of the iteration (rows.Err, which a loop over
// rows.Next alone never sees) or of closing.
func Each(rows *sql.Rows, fn func(*sql.Rows) error) error {
	for rows.Next() {
		if err := fn(rows); err != nil {
			rows.Close()
			return err
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

// Collect scans every row of rows with scan and returns the values in
// order, with Each's error handling.
func Collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	var out []T
	err := Each(rows, func(r *sql.Rows) error {
		v, err := scan(r)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
