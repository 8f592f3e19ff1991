package crawler

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"riskmine/internal/sqlitedb"
)

// Store keeps crawl state and run history in SQLite, in tables prefixed
// crawl_. Only the rows a run touches are read, one URL at a time, so memory
// does not grow with the number of URLs known.
type Store struct {
	db *sql.DB
	// wmu serialises writes: SQLite has one writer at a time, and a writer
	// that finds the lock taken backs off by sleeping (busy_timeout), which
	// costs far more than waiting on a mutex.
	wmu sync.Mutex
	// pageStmt and saveStmt are the statements run once per fetched page,
	// prepared once: parsing them each time was about 2 % of serve's CPU
	// during a crawl.
	pageStmt, saveStmt *sql.Stmt
	// saves are the page states waiting for the writer (SaveFetched); the
	// caller that takes wmu writes every one queued in one transaction.
	savesMu sync.Mutex
	saves   []*pageSave

	// inst is this process in the data folder; lock holds its lock file
	// (see the lease contract in lease.go).
	inst    Instance
	lockDir string
	lock    *os.File
	// renewEvery replaces LeaseRenewInterval in tests.
	renewEvery time.Duration
}

// schema is applied in order by sqlitedb.Migrate; crawl_schema records how
// far a database got. A released step never changes.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS crawl_pages (
		url           TEXT PRIMARY KEY,
		source        TEXT NOT NULL,
		etag          TEXT NOT NULL DEFAULT '',
		last_modified TEXT NOT NULL DEFAULT '',
		content_hash  TEXT NOT NULL DEFAULT '',
		first_seen    INTEGER NOT NULL,
		last_seen     INTEGER NOT NULL,
		last_fetched  INTEGER NOT NULL DEFAULT 0,
		last_status   INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE IF NOT EXISTS crawl_runs (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		source     TEXT NOT NULL,
		started_at INTEGER NOT NULL,
		ended_at   INTEGER NOT NULL DEFAULT 0,
		fetched    INTEGER NOT NULL DEFAULT 0,
		new        INTEGER NOT NULL DEFAULT 0,
		changed    INTEGER NOT NULL DEFAULT 0,
		unchanged  INTEGER NOT NULL DEFAULT 0,
		skipped    INTEGER NOT NULL DEFAULT 0,
		failed     INTEGER NOT NULL DEFAULT 0,
		retries    INTEGER NOT NULL DEFAULT 0,
		errors     TEXT NOT NULL DEFAULT '{}',
		error      TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX IF NOT EXISTS crawl_runs_source ON crawl_runs(source, started_at DESC);`,
	`CREATE TABLE IF NOT EXISTS crawl_leases (
		source     TEXT PRIMARY KEY,
		holder     TEXT NOT NULL,
		expires_at INTEGER NOT NULL
	);`,
	// Leases name their instance; runs record theirs, so a restart can tell
	// the runs of a killed process and mark them abandoned.
	`ALTER TABLE crawl_leases ADD COLUMN instance TEXT NOT NULL DEFAULT '';
	ALTER TABLE crawl_leases ADD COLUMN acquired_at INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE crawl_runs ADD COLUMN instance TEXT NOT NULL DEFAULT '';
	ALTER TABLE crawl_runs ADD COLUMN abandoned INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX crawl_leases_instance ON crawl_leases(instance);
	CREATE INDEX crawl_runs_unfinished ON crawl_runs(instance) WHERE ended_at = 0;
	CREATE TABLE crawl_instances (
		id         TEXT PRIMARY KEY,
		command    TEXT NOT NULL,
		pid        INTEGER NOT NULL,
		host       TEXT NOT NULL,
		started_at INTEGER NOT NULL
	);`,
	// Source health (health.go), which earlier releases created on first
	// use.
	healthTable,
	// The job queue shared by the nodes of a cluster (job.go).
	jobsTable,
}

// OpenStore opens (creating when needed) the crawl tables in the SQLite
// database at path, normally <data_dir>/riskmine.db. It records the process
// as a running instance of the data folder and releases the leases and
// abandons the runs of instances that died (see the lease contract).
func OpenStore(path string) (*Store, error) {
	db, err := sqlitedb.Open(path, sqlitedb.Options{Synchronous: "NORMAL", MaxOpenConns: 8})
	if err != nil {
		return nil, fmt.Errorf("crawler: open state %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := sqlitedb.Migrate(context.Background(), db, "crawl", schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("crawler: migrate state %s: %w", path, err)
	}
	if err := s.prepare(context.Background()); err != nil {
		s.closeStmts()
		db.Close()
		return nil, fmt.Errorf("crawler: state %s: %w", path, err)
	}
	if err := s.register(context.Background(), path, time.Now()); err != nil {
		s.unregister()
		s.closeStmts()
		db.Close()
		return nil, fmt.Errorf("crawler: state %s: %w", path, err)
	}
	return s, nil
}

const (
	pageQuery = `SELECT etag, last_modified, content_hash, first_seen, last_seen, last_fetched, last_status
		FROM crawl_pages WHERE url = ?`
	saveQuery = `INSERT INTO crawl_pages(url, source, etag, last_modified, content_hash, first_seen, last_seen, last_fetched, last_status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(url) DO UPDATE SET source = excluded.source, etag = excluded.etag, last_modified = excluded.last_modified,
			content_hash = excluded.content_hash, last_seen = excluded.last_seen, last_fetched = excluded.last_fetched,
			last_status = excluded.last_status`
)

// prepare prepares the statements run for every page.
func (s *Store) prepare(ctx context.Context) error {
	var err error
	if s.pageStmt, err = s.db.PrepareContext(ctx, pageQuery); err != nil {
		return err
	}
	s.saveStmt, err = s.db.PrepareContext(ctx, saveQuery)
	return err
}

// closeStmts closes the statements prepare made.
func (s *Store) closeStmts() {
	for _, st := range []*sql.Stmt{s.pageStmt, s.saveStmt} {
		if st != nil {
			st.Close()
		}
	}
}

// Close removes the instance from the data folder and closes the database.
func (s *Store) Close() error {
	s.unregister()
	s.closeStmts()
	return s.db.Close()
}

// PageState is what is known about one canonical URL.
type PageState struct {
	// Found is false for a URL never saved (the other fields are zero).
	Found        bool
	ETag         string
	LastModified string
	ContentHash  string
	FirstSeen    time.Time
	LastSeen     time.Time
	LastFetched  time.Time
	LastStatus   int
}

// Page returns what is known about canonical URL canon.
func (s *Store) Page(ctx context.Context, canon string) (PageState, error) {
	var st PageState
	var first, last, fetched int64
	err := s.pageStmt.QueryRowContext(ctx, canon).Scan(&st.ETag, &st.LastModified, &st.ContentHash, &first, &last, &fetched, &st.LastStatus)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("crawler: read state of %s: %w", canon, err)
	}
	st.Found = true
	st.FirstSeen, st.LastSeen = fromMillis(first), fromMillis(last)
	st.LastFetched = fromMillis(fetched)
	return st, nil
}

// pageSave is one page state waiting to be written.
type pageSave struct {
	args []any
	done chan error
}

// SaveFetched records a page handed on (or confirmed unchanged) at now.
// Pages acknowledged together (a pipeline's group commit acknowledges
// many at once) are written in one transaction: each caller queues its
// state, and whichever takes the writer first writes all that are queued.
// It returns once its state is committed.
func (s *Store) SaveFetched(ctx context.Context, canon, source string, st PageState, now time.Time) error {
	r := &pageSave{args: []any{canon, source, st.ETag, st.LastModified, st.ContentHash, millis(now), millis(now), millis(now), st.LastStatus},
		done: make(chan error, 1)}
	s.savesMu.Lock()
	s.saves = append(s.saves, r)
	s.savesMu.Unlock()
	s.wmu.Lock()
	select {
	case err := <-r.done: // written with an earlier caller's group
		s.wmu.Unlock()
		return saveErr(canon, err)
	default:
	}
	s.savesMu.Lock()
	group := s.saves
	s.saves = nil
	s.savesMu.Unlock()
	// The group's other pages do not depend on this caller's context.
	s.writeSaves(context.WithoutCancel(ctx), group)
	s.wmu.Unlock()
	return saveErr(canon, <-r.done)
}

func saveErr(canon string, err error) error {
	if err != nil {
		return fmt.Errorf("crawler: save state of %s: %w", canon, err)
	}
	return nil
}

// writeSaves writes group in one transaction and answers each; when the
// transaction fails, each state is tried on its own, so one bad row does
// not fail the others. wmu must be held.
func (s *Store) writeSaves(ctx context.Context, group []*pageSave) {
	if len(group) > 1 {
		err := func() error {
			tx, err := s.db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			st := tx.StmtContext(ctx, s.saveStmt)
			for _, r := range group {
				if _, err := st.ExecContext(ctx, r.args...); err != nil {
					return err
				}
			}
			return tx.Commit()
		}()
		if err == nil {
			for _, r := range group {
				r.done <- nil
			}
			return
		}
	}
	for _, r := range group {
		_, err := s.saveStmt.ExecContext(ctx, r.args...)
		r.done <- err
	}
}

// SaveStatus records the status of a failed fetch of a known URL without
// touching last_fetched, so the next run tries again.
func (s *Store) SaveStatus(ctx context.Context, canon string, status int) error {
	s.wmu.Lock()
	_, err := s.db.ExecContext(ctx, `UPDATE crawl_pages SET last_status = ? WHERE url = ?`, status, canon)
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("crawler: save status of %s: %w", canon, err)
	}
	return nil
}

// Run is one run of one source, as kept in crawl_runs.
type Run struct {
	ID      int64     `json:"id"`
	Source  string    `json:"source"`
	Started time.Time `json:"started"`
	// Ended is zero while the run is going on (or when it never finished).
	Ended time.Time `json:"ended"`
	Stats
	// Error is the error that stopped the run, if any.
	Error string `json:"error,omitempty"`
	// Abandoned is set on a run whose process died before it ended; Ended
	// is then when a later process noticed.
	Abandoned bool `json:"abandoned,omitempty"`
}

// Stats counts what a run did.
type Stats struct {
	// Fetched counts HTTP responses received (list pages, feeds, sitemaps, detail pages).
	Fetched int64 `json:"fetched"`
	// New and Changed count pages handed to emit.
	New     int64 `json:"new"`
	Changed int64 `json:"changed"`
	// Unchanged counts 304s and pages whose content hash had not changed.
	Unchanged int64 `json:"unchanged"`
	// Skipped counts detail pages left alone: within their revisit interval
	// or not modified since the sitemap's lastmod.
	Skipped int64 `json:"skipped"`
	// Failed counts URLs that could not be fetched, extracted or emitted.
	Failed int64 `json:"failed"`
	// Retries counts repeated attempts after network errors, 5xx and 429.
	Retries int64 `json:"retries"`
	// Errors counts failures by kind (network, timeout, http_4xx, http_5xx,
	// rate_limited, robots, blocked, too_large, redirect, parse, not_html,
	// extract, empty, emit, state, domain, browser, cancelled).
	Errors map[string]int64 `json:"errors"`
	// Elsewhere, on a node that does not crawl, names the worker running
	// the source; the counts above then stay zero (they live there).
	Elsewhere string `json:"elsewhere,omitempty"`
}

// StartRun records the start of a run of source at at, by this instance,
// and returns its id.
func (s *Store) StartRun(ctx context.Context, source string, at time.Time) (int64, error) {
	s.wmu.Lock()
	res, err := s.db.ExecContext(ctx, `INSERT INTO crawl_runs(source, started_at, instance) VALUES (?, ?, ?)`, source, millis(at), s.inst.ID)
	s.wmu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("crawler: record run start of %s: %w", source, err)
	}
	return res.LastInsertId()
}

// FinishRun records the end of run r.ID: r.Ended, its Stats and Error.
func (s *Store) FinishRun(ctx context.Context, r Run) error {
	errs, _ := json.Marshal(r.Errors)
	if r.Errors == nil {
		errs = []byte("{}")
	}
	s.wmu.Lock()
	_, err := s.db.ExecContext(ctx, `UPDATE crawl_runs SET ended_at = ?, fetched = ?, new = ?, changed = ?, unchanged = ?,
		skipped = ?, failed = ?, retries = ?, errors = ?, error = ? WHERE id = ?`,
		millis(r.Ended), r.Fetched, r.New, r.Changed, r.Unchanged, r.Skipped, r.Failed, r.Retries, string(errs), r.Error, r.ID)
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("crawler: record run end of %s: %w", r.Source, err)
	}
	return nil
}

// Runs returns the latest runs, newest first; source "" means all sources.
// limit <= 0 means 50.
func (s *Store) Runs(ctx context.Context, source string, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT id, source, started_at, ended_at, fetched, new, changed, unchanged, skipped, failed, retries, errors, error, abandoned FROM crawl_runs`
	args := []any{}
	if source != "" {
		q += ` WHERE source = ?`
		args = append(args, source)
	}
	q += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("crawler: list runs: %w", err)
	}
	out, err := sqlitedb.Collect(rows, func(rows *sql.Rows) (Run, error) {
		var r Run
		var started, ended int64
		var errs string
		if err := rows.Scan(&r.ID, &r.Source, &started, &ended, &r.Fetched, &r.New, &r.Changed, &r.Unchanged,
			&r.Skipped, &r.Failed, &r.Retries, &errs, &r.Error, &r.Abandoned); err != nil {
			return r, err
		}
		r.Started = fromMillis(started)
		r.Ended = fromMillis(ended)
		if err := json.Unmarshal([]byte(errs), &r.Errors); err != nil {
			return r, fmt.Errorf("run %d: errors column: %w", r.ID, err)
		}
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("crawler: list runs: %w", err)
	}
	return out, nil
}

// LastRun returns the latest run of source; ok is false when it never ran.
func (s *Store) LastRun(ctx context.Context, source string) (r Run, ok bool, err error) {
	runs, err := s.Runs(ctx, source, 1)
	if err != nil || len(runs) == 0 {
		return Run{}, false, err
	}
	return runs[0], true, nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
