// Package pgstate is crawler.State and crawler.Jobs on PostgreSQL: page
// state, runs, leases, running instances, source health and the job queue,
// in tables prefixed crawl_ of the schema the connection's search_path
// selects. Several crawler nodes on one database share it; it passes
// crawler/storetest (Run, RunNodes, RunJobs, RunJobsNodes).
//
// Jobs. A claim is one UPDATE of the oldest free queued row, picked FOR
// UPDATE SKIP LOCKED, so nodes claiming at once take different jobs and
// never wait on each other; a unique key per tick and a unique index on
// the one queued job of a source make enqueuing idempotent.
//
// Leases. A lease is one row (source, holder, instance, acquired_at,
// expires_at), taken or renewed by a single INSERT … ON CONFLICT DO UPDATE
// … WHERE statement: PostgreSQL locks the conflicting row and re-checks
// the WHERE on its latest version, so of any number of nodes asking at
// once exactly one gets a free or expired lease. Expiry is judged by the
// time the caller passes (crawler.Options.Now, the node's clock), as in
// the SQLite store and as the conformance suite drives it; the database
// clock is not consulted. Nodes therefore need clocks kept in step (NTP):
// a skew of d moves a takeover by d.
//
// Dead nodes. Each instance holds, for its whole life, a session advisory
// lock on a connection of its own; the server drops it when that
// connection ends, kill -9 and a lost host included (the latter once TCP
// notices). When a node opens the state it releases the leases and
// abandons the unfinished runs of every recorded instance whose lock it
// can take, on any host, and RecoverDead does the same on demand. A dead
// holder is otherwise taken over crawler.LeaseTTL after its last
// heartbeat. A live node whose lock connection is cut takes the lock again
// at its next heartbeat; a node starting in between judges it dead,
// releases its leases and marks its runs abandoned, and the heartbeat then
// takes back each lease nobody else took, or finds it lost and stops the
// run. A pooler in transaction mode (PgBouncer) would break the
// session lock: connect the lock directly to PostgreSQL.
//
// It may import crawler and internal/pgdb; crawler does not import it.
package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/crawler"
	"riskmine/internal/pgdb"
)

// Store is crawler.State on a PostgreSQL pool.
type Store struct {
	pool  *pgxpool.Pool
	owned bool
	inst  crawler.Instance

	// lockMu guards lock, the connection holding this instance's advisory
	// lock and probing other instances' (a pgx.Conn is not safe for
	// concurrent use).
	lockMu sync.Mutex
	lock   *pgx.Conn
	closed bool
}

var _ crawler.State = (*Store)(nil)

// schema is applied in order by pgdb.Migrate; crawl_schema records how far
// a database got. A released step never changes.
var schema = []string{
	`CREATE TABLE crawl_pages (
		url           text PRIMARY KEY,
		source        text NOT NULL,
		etag          text NOT NULL DEFAULT '',
		last_modified text NOT NULL DEFAULT '',
		content_hash  text NOT NULL DEFAULT '',
		first_seen    timestamptz NOT NULL,
		last_seen     timestamptz NOT NULL,
		last_fetched  timestamptz,
		last_status   integer NOT NULL DEFAULT 0
	);
	CREATE TABLE crawl_runs (
		id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		source     text NOT NULL,
		instance   text NOT NULL DEFAULT '',
		started_at timestamptz NOT NULL,
		ended_at   timestamptz,
		fetched    bigint NOT NULL DEFAULT 0,
		new        bigint NOT NULL DEFAULT 0,
		changed    bigint NOT NULL DEFAULT 0,
		unchanged  bigint NOT NULL DEFAULT 0,
		skipped    bigint NOT NULL DEFAULT 0,
		failed     bigint NOT NULL DEFAULT 0,
		retries    bigint NOT NULL DEFAULT 0,
		errors     jsonb NOT NULL DEFAULT '{}',
		error      text NOT NULL DEFAULT '',
		abandoned  boolean NOT NULL DEFAULT false
	);
	CREATE INDEX crawl_runs_source ON crawl_runs(source, started_at DESC, id DESC);
	CREATE INDEX crawl_runs_started ON crawl_runs(started_at DESC, id DESC);
	CREATE INDEX crawl_runs_unfinished ON crawl_runs(instance) WHERE ended_at IS NULL;
	CREATE TABLE crawl_leases (
		source      text PRIMARY KEY,
		holder      text NOT NULL,
		instance    text NOT NULL,
		acquired_at timestamptz NOT NULL,
		expires_at  timestamptz NOT NULL
	);
	CREATE INDEX crawl_leases_instance ON crawl_leases(instance);
	CREATE TABLE crawl_instances (
		id         text PRIMARY KEY,
		command    text NOT NULL,
		pid        integer NOT NULL,
		host       text NOT NULL,
		started_at timestamptz NOT NULL
	);
	CREATE TABLE crawl_source_health (
		source  text NOT NULL,
		problem text NOT NULL,
		failing boolean NOT NULL DEFAULT false,
		runs    integer NOT NULL DEFAULT 0,
		since   timestamptz,
		checked timestamptz,
		PRIMARY KEY (source, problem)
	);`,
	// The job queue shared by the nodes (crawler/job.go).
	jobsStep,
}

// Open connects to the PostgreSQL server at dsn, migrates the crawl_
// tables and registers this process as a running instance; the store owns
// the pool and closes it.
func Open(ctx context.Context, dsn string) (*Store, error) {
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		return nil, fmt.Errorf("crawler: %w", err)
	}
	s, err := New(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New migrates the crawl_ tables in pool's database, registers this
// process as a running instance (its lock on a connection of its own) and
// releases what dead instances left. Close leaves a pool given here open.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, "crawl", schema); err != nil {
		return nil, fmt.Errorf("crawler: migrate state: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.register(ctx, time.Now()); err != nil {
		s.unregister()
		return nil, fmt.Errorf("crawler: state: %w", err)
	}
	return s, nil
}

// Close removes the instance, drops its lock and closes the pool when
// Open made it.
func (s *Store) Close() error {
	s.unregister()
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// Instance returns this store's process instance.
func (s *Store) Instance() crawler.Instance { return s.inst }

// instanceKey is the advisory lock key of an instance: per schema, so
// test schemas and cities on one server do not meet.
const instanceKey = `hashtextextended(current_schema() || '/crawl_instance/' || $1, 0)`

func (s *Store) register(ctx context.Context, now time.Time) error {
	s.inst = crawler.NewInstance(now)
	s.lockMu.Lock()
	err := s.takeLock(ctx)
	s.lockMu.Unlock()
	if err != nil {
		return err
	}
	_, err = s.RecoverDead(ctx, now)
	return err
}

// takeLock opens the lock connection, takes this instance's advisory lock
// on it and records the instance (again, after a lost connection). The
// caller holds lockMu.
func (s *Store) takeLock(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("instance lock connection: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+instanceKey+`)`, s.inst.ID); err != nil {
		conn.Close(context.Background())
		return fmt.Errorf("instance lock: %w", err)
	}
	s.lock = conn
	if _, err := s.pool.Exec(ctx, `INSERT INTO crawl_instances(id, command, pid, host, started_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO NOTHING`,
		s.inst.ID, s.inst.Command, s.inst.PID, s.inst.Host, s.inst.Started); err != nil {
		return fmt.Errorf("record instance: %w", err)
	}
	return nil
}

// keepLock checks the lock connection is alive and, when the server or
// the network ended it, takes the lock again on a new one. Until then
// another node may judge this instance dead and release its leases; the
// heartbeat that follows then re-takes each lease nobody else took, or
// finds it lost and stops the run.
func (s *Store) keepLock(ctx context.Context) error {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	if s.closed {
		return errors.New("crawler: the state is closed")
	}
	if s.lock != nil {
		if err := s.lock.Ping(ctx); err == nil {
			return nil
		}
		s.lock.Close(context.Background())
		s.lock = nil
	}
	if err := s.takeLock(ctx); err != nil {
		return fmt.Errorf("crawler: instance lock lost and not taken again: %w", err)
	}
	return nil
}

func (s *Store) unregister() {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.inst.ID != "" {
		s.pool.Exec(ctx, `DELETE FROM crawl_instances WHERE id = $1`, s.inst.ID)
	}
	if s.lock != nil {
		// Closing the connection drops the advisory lock.
		s.lock.Close(ctx)
		s.lock = nil
	}
}

// RecoverDead releases the leases of every recorded instance, on any host,
// whose advisory lock is free (its process or connection is gone), marks
// its unfinished runs abandoned at now and forgets it; it returns those
// instances.
func (s *Store) RecoverDead(ctx context.Context, now time.Time) ([]crawler.Instance, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, command, pid, host, started_at FROM crawl_instances WHERE id <> $1`, s.inst.ID)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	others, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crawler.Instance, error) {
		var in crawler.Instance
		err := r.Scan(&in.ID, &in.Command, &in.PID, &in.Host, &in.Started)
		in.Started = in.Started.UTC()
		return in, err
	})
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	var dead []crawler.Instance
	for _, in := range others {
		gone, err := s.recoverInstance(ctx, in, now)
		if err != nil {
			return dead, fmt.Errorf("release instance %s: %w", in.ID, err)
		}
		if gone {
			dead = append(dead, in)
		}
	}
	return dead, nil
}

// recoverInstance releases what instance in left when its lock is free.
// The lock is held while the rows go, so a process just starting under
// that id (it cannot: ids are unique) or a second node recovering the same
// instance waits its turn.
func (s *Store) recoverInstance(ctx context.Context, in crawler.Instance, now time.Time) (bool, error) {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	if s.closed || s.lock == nil {
		return false, errors.New("the state is closed or has lost its instance lock")
	}
	var free bool
	if err := s.lock.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+instanceKey+`)`, in.ID).Scan(&free); err != nil {
		return false, err
	}
	if !free {
		return false, nil
	}
	defer s.lock.Exec(context.Background(), `SELECT pg_advisory_unlock(`+instanceKey+`)`, in.ID)
	msg := fmt.Sprintf("abandoned: %s stopped before the run ended", in)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM crawl_leases WHERE instance = $1`, in.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE crawl_runs SET ended_at = $2, abandoned = true, error = $3 WHERE instance = $1 AND ended_at IS NULL`,
			in.ID, now, msg); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM crawl_instances WHERE id = $1`, in.ID)
		return err
	})
	return err == nil, err
}

// Page returns what is known about canonical URL canon.
func (s *Store) Page(ctx context.Context, canon string) (crawler.PageState, error) {
	var st crawler.PageState
	var fetched *time.Time
	err := s.pool.QueryRow(ctx, `SELECT etag, last_modified, content_hash, first_seen, last_seen, last_fetched, last_status
		FROM crawl_pages WHERE url = $1`, canon).Scan(&st.ETag, &st.LastModified, &st.ContentHash, &st.FirstSeen, &st.LastSeen, &fetched, &st.LastStatus)
	if errors.Is(err, pgx.ErrNoRows) {
		return crawler.PageState{}, nil
	}
	if err != nil {
		return crawler.PageState{}, fmt.Errorf("crawler: read state of %s: %w", canon, err)
	}
	st.Found = true
	st.FirstSeen, st.LastSeen, st.LastFetched = st.FirstSeen.UTC(), st.LastSeen.UTC(), utc(fetched)
	return st, nil
}

// SaveFetched records a page handed on (or confirmed unchanged) at now.
func (s *Store) SaveFetched(ctx context.Context, canon, source string, st crawler.PageState, now time.Time) error {
	at := ms(now)
	_, err := s.pool.Exec(ctx, `INSERT INTO crawl_pages(url, source, etag, last_modified, content_hash, first_seen, last_seen, last_fetched, last_status)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $6, $7)
		ON CONFLICT (url) DO UPDATE SET source = excluded.source, etag = excluded.etag, last_modified = excluded.last_modified,
			content_hash = excluded.content_hash, last_seen = excluded.last_seen, last_fetched = excluded.last_fetched,
			last_status = excluded.last_status`,
		canon, source, st.ETag, st.LastModified, st.ContentHash, at, st.LastStatus)
	if err != nil {
		return fmt.Errorf("crawler: save state of %s: %w", canon, err)
	}
	return nil
}

// SaveStatus records the status of a failed fetch of a known URL.
func (s *Store) SaveStatus(ctx context.Context, canon string, status int) error {
	if _, err := s.pool.Exec(ctx, `UPDATE crawl_pages SET last_status = $2 WHERE url = $1`, canon, status); err != nil {
		return fmt.Errorf("crawler: save status of %s: %w", canon, err)
	}
	return nil
}

// StartRun records the start of a run of source at at, by this instance.
func (s *Store) StartRun(ctx context.Context, source string, at time.Time) (int64, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, `INSERT INTO crawl_runs(source, started_at, instance) VALUES ($1, $2, $3) RETURNING id`,
		source, ms(at), s.inst.ID).Scan(&id); err != nil {
		return 0, fmt.Errorf("crawler: record run start of %s: %w", source, err)
	}
	return id, nil
}

// FinishRun records the end of run r.ID: r.Ended, its Stats and Error.
func (s *Store) FinishRun(ctx context.Context, r crawler.Run) error {
	errs := r.Errors
	if errs == nil {
		errs = map[string]int64{}
	}
	b, err := json.Marshal(errs)
	if err != nil {
		return fmt.Errorf("crawler: record run end of %s: %w", r.Source, err)
	}
	_, err = s.pool.Exec(ctx, `UPDATE crawl_runs SET ended_at = $2, fetched = $3, new = $4, changed = $5, unchanged = $6,
		skipped = $7, failed = $8, retries = $9, errors = $10, error = $11 WHERE id = $1`,
		r.ID, msOrNull(r.Ended), r.Fetched, r.New, r.Changed, r.Unchanged, r.Skipped, r.Failed, r.Retries, string(b), r.Error)
	if err != nil {
		return fmt.Errorf("crawler: record run end of %s: %w", r.Source, err)
	}
	return nil
}

// Runs returns the latest runs, newest first; source "" means all.
// limit <= 0 means 50.
func (s *Store) Runs(ctx context.Context, source string, limit int) ([]crawler.Run, error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT id, source, started_at, ended_at, fetched, new, changed, unchanged, skipped, failed, retries, errors::text, error, abandoned
		FROM crawl_runs`
	args := []any{limit}
	if source != "" {
		q += ` WHERE source = $2`
		args = append(args, source)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY started_at DESC, id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("crawler: list runs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (crawler.Run, error) {
		var r crawler.Run
		var ended *time.Time
		var errs string
		if err := row.Scan(&r.ID, &r.Source, &r.Started, &ended, &r.Fetched, &r.New, &r.Changed, &r.Unchanged,
			&r.Skipped, &r.Failed, &r.Retries, &errs, &r.Error, &r.Abandoned); err != nil {
			return r, err
		}
		r.Started, r.Ended = r.Started.UTC(), utc(ended)
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
func (s *Store) LastRun(ctx context.Context, source string) (crawler.Run, bool, error) {
	runs, err := s.Runs(ctx, source, 1)
	if err != nil || len(runs) == 0 {
		return crawler.Run{}, false, err
	}
	return runs[0], true, nil
}

// TryLease takes (or renews, for the same holder) the lease on name until
// now+ttl in one statement; false when another holder's lease has not
// expired by now.
func (s *Store) TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	inst, _, _ := strings.Cut(holder, "/")
	if inst == s.inst.ID {
		// A heartbeat of this instance: its lock must still be held for
		// other nodes to see it alive.
		if err := s.keepLock(ctx); err != nil {
			return false, err
		}
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO crawl_leases AS l (source, holder, instance, acquired_at, expires_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (source) DO UPDATE SET holder = excluded.holder, instance = excluded.instance, expires_at = excluded.expires_at,
			acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at ELSE excluded.acquired_at END
		WHERE l.expires_at < $4 OR l.holder = excluded.holder`,
		name, holder, inst, ms(now), ms(now.Add(ttl)))
	if err != nil {
		return false, fmt.Errorf("crawler: lease on %s: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease gives the lease up (nothing when holder no longer has it).
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM crawl_leases WHERE source = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("crawler: release lease on %s: %w", name, err)
	}
	return nil
}

// LeaseHolder describes the current holder of name's lease; a lease
// released in the meantime is described as held by "(released just now)".
func (s *Store) LeaseHolder(ctx context.Context, name string) (*crawler.LeaseHeldError, error) {
	e := &crawler.LeaseHeldError{Name: name}
	var id, cmd, host *string
	var pid *int
	var started *time.Time
	err := s.pool.QueryRow(ctx, `SELECT l.holder, l.acquired_at, l.expires_at, i.id, i.command, i.pid, i.host, i.started_at
		FROM crawl_leases l LEFT JOIN crawl_instances i ON i.id = l.instance WHERE l.source = $1`, name).
		Scan(&e.Holder, &e.Since, &e.Until, &id, &cmd, &pid, &host, &started)
	if errors.Is(err, pgx.ErrNoRows) {
		e.Holder = "(released just now)"
		return e, nil
	}
	if err != nil {
		return nil, fmt.Errorf("crawler: lease on %s: %w", name, err)
	}
	e.Since, e.Until = e.Since.UTC(), e.Until.UTC()
	if id != nil {
		e.Instance = &crawler.Instance{ID: *id, Command: *cmd, PID: *pid, Host: *host, Started: utc(started)}
	}
	return e, nil
}

// HealthStates returns source's health by problem.
func (s *Store) HealthStates(ctx context.Context, source string) (map[string]crawler.HealthState, error) {
	rows, err := s.pool.Query(ctx, `SELECT problem, failing, runs, since, checked FROM crawl_source_health WHERE source = $1`, source)
	if err != nil {
		return nil, fmt.Errorf("crawler: health of %s: %w", source, err)
	}
	sts, err := pgx.CollectRows(rows, scanHealth)
	if err != nil {
		return nil, fmt.Errorf("crawler: health of %s: %w", source, err)
	}
	out := make(map[string]crawler.HealthState, len(sts))
	for _, st := range sts {
		out[st.Problem] = st
	}
	return out, nil
}

func scanHealth(r pgx.CollectableRow) (crawler.HealthState, error) {
	var st crawler.HealthState
	var since, checked *time.Time
	err := r.Scan(&st.Problem, &st.Failing, &st.Runs, &since, &checked)
	st.Since, st.Checked = utc(since), utc(checked)
	return st, err
}

// SaveHealth records (replaces) source's state of problem st.Problem.
func (s *Store) SaveHealth(ctx context.Context, source string, st crawler.HealthState) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO crawl_source_health(source, problem, failing, runs, since, checked) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (source, problem) DO UPDATE SET failing = excluded.failing, runs = excluded.runs, since = excluded.since, checked = excluded.checked`,
		source, st.Problem, st.Failing, st.Runs, msOrNull(st.Since), msOrNull(st.Checked))
	if err != nil {
		return fmt.Errorf("crawler: save health of %s: %w", source, err)
	}
	return nil
}

// Health returns the health of every source that has been judged, by name.
func (s *Store) Health(ctx context.Context) (map[string]crawler.SourceHealth, error) {
	rows, err := s.pool.Query(ctx, `SELECT source, problem, failing, runs, since, checked FROM crawl_source_health ORDER BY source`)
	if err != nil {
		return nil, fmt.Errorf("crawler: health: %w", err)
	}
	type sourceState struct {
		source string
		st     crawler.HealthState
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sourceState, error) {
		var x sourceState
		var since, checked *time.Time
		err := r.Scan(&x.source, &x.st.Problem, &x.st.Failing, &x.st.Runs, &since, &checked)
		x.st.Since, x.st.Checked = utc(since), utc(checked)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("crawler: health: %w", err)
	}
	states := map[string][]crawler.HealthState{}
	for _, x := range all {
		states[x.source] = append(states[x.source], x.st)
	}
	out := make(map[string]crawler.SourceHealth, len(states))
	for src, sts := range states {
		out[src] = crawler.SummarizeHealth(src, sts)
	}
	return out, nil
}

// ms is t to the millisecond the State keeps.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

// msOrNull is ms(t), or NULL for the zero time.
func msOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := ms(t)
	return &v
}

// utc is *t in UTC, or the zero time for NULL.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
