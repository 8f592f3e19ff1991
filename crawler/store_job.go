package crawler

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"riskmine/internal/sqlitedb"
)

// jobsTable is the migration step of the job queue (job.go). At most one
// job of a source is queued (crawl_jobs_queued); keys are unique among the
// jobs kept.
const jobsTable = `CREATE TABLE crawl_jobs (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		source      TEXT NOT NULL,
		job_key     TEXT NOT NULL UNIQUE,
		reason      TEXT NOT NULL,
		state       TEXT NOT NULL,
		enqueued_at INTEGER NOT NULL,
		holder      TEXT NOT NULL DEFAULT '',
		claimed_at  INTEGER NOT NULL DEFAULT 0,
		claim_until INTEGER NOT NULL DEFAULT 0,
		attempts    INTEGER NOT NULL DEFAULT 0,
		finished_at INTEGER NOT NULL DEFAULT 0,
		run_id      INTEGER NOT NULL DEFAULT 0,
		error       TEXT NOT NULL DEFAULT ''
	);
	CREATE UNIQUE INDEX crawl_jobs_queued ON crawl_jobs(source) WHERE state = 'queued';
	CREATE INDEX crawl_jobs_running ON crawl_jobs(claim_until) WHERE state = 'running';
	CREATE INDEX crawl_jobs_source ON crawl_jobs(source, id DESC);
	CREATE INDEX crawl_jobs_finished ON crawl_jobs(finished_at) WHERE finished_at > 0;`

const jobColumns = `id, source, job_key, reason, state, enqueued_at, holder, claimed_at, claim_until, attempts, finished_at, run_id, error`

type rowScanner interface{ Scan(dest ...any) error }

func scanJob(r rowScanner) (Job, error) {
	var j Job
	var state string
	var enq, claimed, until, finished int64
	err := r.Scan(&j.ID, &j.Source, &j.Key, &j.Reason, &state, &enq, &j.Holder, &claimed, &until, &j.Attempts, &finished, &j.RunID, &j.Error)
	j.State = JobState(state)
	j.Enqueued, j.Claimed, j.ClaimUntil, j.Finished = fromMillis(enq), fromMillis(claimed), fromMillis(until), fromMillis(finished)
	return j, err
}

// EnqueueJob adds a queued job of source under key, unless key is taken or
// source has a job queued: that job is returned, with added false.
func (s *Store) EnqueueJob(ctx context.Context, source, key, reason string, now time.Time) (Job, bool, error) {
	if source == "" || key == "" {
		return Job{}, false, errors.New("crawler: enqueue job: a source name and a key are expected")
	}
	// The kept job may go (claimed, purged) between the two statements: try
	// again once.
	for range 2 {
		s.wmu.Lock()
		j, err := scanJob(s.db.QueryRowContext(ctx, `INSERT INTO crawl_jobs(source, job_key, reason, state, enqueued_at) VALUES (?, ?, ?, 'queued', ?)
			ON CONFLICT DO NOTHING RETURNING `+jobColumns, source, key, reason, millis(now)))
		s.wmu.Unlock()
		if err == nil {
			return j, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Job{}, false, fmt.Errorf("crawler: enqueue job of %s: %w", source, err)
		}
		j, err = scanJob(s.db.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM crawl_jobs
			WHERE job_key = ? OR (source = ? AND state = 'queued') ORDER BY job_key = ? DESC LIMIT 1`, key, source, key))
		if err == nil {
			return j, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Job{}, false, fmt.Errorf("crawler: enqueue job of %s: %w", source, err)
		}
	}
	return Job{}, false, fmt.Errorf("crawler: enqueue job of %s: the job in the way kept going away", source)
}

// ClaimJob gives holder the oldest queued job whose source is free. SQLite
// has one writer at a time, so the select and the update in one statement
// cannot be interleaved with another claim.
func (s *Store) ClaimJob(ctx context.Context, holder string, now time.Time, ttl time.Duration) (Job, bool, error) {
	at := millis(now)
	s.wmu.Lock()
	j, err := scanJob(s.db.QueryRowContext(ctx, `UPDATE crawl_jobs SET state = 'running', holder = ?, claimed_at = ?, claim_until = ?,
			attempts = attempts + 1, error = ''
		WHERE id = (SELECT j.id FROM crawl_jobs j WHERE j.state = 'queued'
			AND NOT EXISTS (SELECT 1 FROM crawl_leases l WHERE l.source = j.source AND l.expires_at >= ?)
			AND NOT EXISTS (SELECT 1 FROM crawl_jobs r WHERE r.source = j.source AND r.state = 'running' AND r.claim_until >= ?)
			ORDER BY j.id LIMIT 1)
		RETURNING `+jobColumns, holder, at, millis(now.Add(ttl)), at, at))
	s.wmu.Unlock()
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, false, nil
	}
	if err != nil {
		return Job{}, false, fmt.Errorf("crawler: claim job: %w", err)
	}
	return j, true, nil
}

// HeartbeatJob renews holder's claim of job id until now+ttl.
func (s *Store) HeartbeatJob(ctx context.Context, id int64, holder string, now time.Time, ttl time.Duration) (bool, error) {
	s.wmu.Lock()
	res, err := s.db.ExecContext(ctx, `UPDATE crawl_jobs SET claim_until = ? WHERE id = ? AND holder = ? AND state = 'running'`,
		millis(now.Add(ttl)), id, holder)
	s.wmu.Unlock()
	return affectedOne(res, err, "crawler: renew claim of job %d: %w", id)
}

// FinishJob records the end of j.ID by j.Holder.
func (s *Store) FinishJob(ctx context.Context, j Job, now time.Time) (bool, error) {
	if !j.State.Finished() {
		return false, fmt.Errorf("crawler: finish job %d: state %q, expected done, failed or skipped", j.ID, j.State)
	}
	s.wmu.Lock()
	res, err := s.db.ExecContext(ctx, `UPDATE crawl_jobs SET state = ?, finished_at = ?, run_id = ?, error = ?
		WHERE id = ? AND holder = ? AND state = 'running'`, string(j.State), millis(now), j.RunID, j.Error, j.ID, j.Holder)
	s.wmu.Unlock()
	return affectedOne(res, err, "crawler: finish job %d: %w", j.ID)
}

func affectedOne(res sql.Result, err error, format string, id int64) (bool, error) {
	if err != nil {
		return false, fmt.Errorf(format, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf(format, id, err)
	}
	return n == 1, nil
}

// RequeueExpiredJobs queues again the running jobs whose claim expired.
func (s *Store) RequeueExpiredJobs(ctx context.Context, now time.Time) (int, error) {
	at := millis(now)
	var n int64
	s.wmu.Lock()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE crawl_jobs SET state = 'failed', finished_at = ?,
				error = 'abandoned: the claim of ' || holder || ' expired' ||
					CASE WHEN attempts >= ? THEN ' after ' || attempts || ' attempts' ELSE '; a later job of the source is queued' END
			WHERE state = 'running' AND claim_until < ? AND (attempts >= ?
				OR EXISTS (SELECT 1 FROM crawl_jobs q WHERE q.source = crawl_jobs.source AND q.state = 'queued')
				OR EXISTS (SELECT 1 FROM crawl_jobs o WHERE o.source = crawl_jobs.source AND o.state = 'running' AND o.claim_until < ? AND o.id > crawl_jobs.id))`,
			at, JobMaxAttempts, at, JobMaxAttempts, at); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE crawl_jobs SET state = 'queued', error = 'requeued: the claim of ' || holder || ' expired'
			WHERE state = 'running' AND claim_until < ?`, at)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	s.wmu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("crawler: requeue expired jobs: %w", err)
	}
	return int(n), nil
}

// RecentJobs returns the latest jobs, newest first.
func (s *Store) RecentJobs(ctx context.Context, source string, limit int) ([]Job, error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT ` + jobColumns + ` FROM crawl_jobs`
	args := []any{}
	if source != "" {
		q += ` WHERE source = ?`
		args = append(args, source)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("crawler: list jobs: %w", err)
	}
	out, err := sqlitedb.Collect(rows, func(rows *sql.Rows) (Job, error) { return scanJob(rows) })
	if err != nil {
		return nil, fmt.Errorf("crawler: list jobs: %w", err)
	}
	return out, nil
}

// PurgeJobs deletes the jobs finished before before.
func (s *Store) PurgeJobs(ctx context.Context, before time.Time) (int, error) {
	s.wmu.Lock()
	res, err := s.db.ExecContext(ctx, `DELETE FROM crawl_jobs WHERE finished_at > 0 AND finished_at < ?`, millis(before))
	s.wmu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("crawler: purge jobs: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
