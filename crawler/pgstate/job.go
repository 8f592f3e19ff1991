package pgstate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmine/crawler"
)

var _ crawler.Jobs = (*Store)(nil)

// jobsStep is the migration step of the job queue (crawler/job.go). At
// most one job of a source is queued (crawl_jobs_queued); keys are unique
// among the jobs kept.
const jobsStep = `CREATE TABLE crawl_jobs (
		id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		source      text NOT NULL,
		job_key     text NOT NULL UNIQUE,
		reason      text NOT NULL,
		state       text NOT NULL,
		enqueued_at timestamptz NOT NULL,
		holder      text NOT NULL DEFAULT '',
		claimed_at  timestamptz,
		claim_until timestamptz,
		attempts    integer NOT NULL DEFAULT 0,
		finished_at timestamptz,
		run_id      bigint NOT NULL DEFAULT 0,
		error       text NOT NULL DEFAULT ''
	);
	CREATE UNIQUE INDEX crawl_jobs_queued ON crawl_jobs(source) WHERE state = 'queued';
	CREATE INDEX crawl_jobs_queue ON crawl_jobs(id) WHERE state = 'queued';
	CREATE INDEX crawl_jobs_running ON crawl_jobs(source, claim_until) WHERE state = 'running';
	CREATE INDEX crawl_jobs_source ON crawl_jobs(source, id DESC);
	CREATE INDEX crawl_jobs_finished ON crawl_jobs(finished_at) WHERE finished_at IS NOT NULL;`

const jobColumns = `id, source, job_key, reason, state, enqueued_at, holder, claimed_at, claim_until, attempts, finished_at, run_id, error`

func scanJob(r pgx.Row) (crawler.Job, error) {
	var j crawler.Job
	var state string
	var claimed, until, finished *time.Time
	err := r.Scan(&j.ID, &j.Source, &j.Key, &j.Reason, &state, &j.Enqueued, &j.Holder, &claimed, &until, &j.Attempts, &finished, &j.RunID, &j.Error)
	j.State = crawler.JobState(state)
	j.Enqueued, j.Claimed, j.ClaimUntil, j.Finished = j.Enqueued.UTC(), utc(claimed), utc(until), utc(finished)
	return j, err
}

// EnqueueJob adds a queued job of source under key, unless key is taken or
// source has a job queued: that job is returned, with added false. Two
// nodes enqueuing one key at once make one job: the unique index decides.
func (s *Store) EnqueueJob(ctx context.Context, source, key, reason string, now time.Time) (crawler.Job, bool, error) {
	if source == "" || key == "" {
		return crawler.Job{}, false, errors.New("crawler: enqueue job: a source name and a key are expected")
	}
	for range 2 {
		j, err := scanJob(s.pool.QueryRow(ctx, `INSERT INTO crawl_jobs(source, job_key, reason, state, enqueued_at) VALUES ($1, $2, $3, 'queued', $4)
			ON CONFLICT DO NOTHING RETURNING `+jobColumns, source, key, reason, ms(now)))
		if err == nil {
			return j, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return crawler.Job{}, false, fmt.Errorf("crawler: enqueue job of %s: %w", source, err)
		}
		j, err = scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM crawl_jobs
			WHERE job_key = $1 OR (source = $2 AND state = 'queued') ORDER BY job_key = $1 DESC LIMIT 1`, key, source))
		if err == nil {
			return j, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return crawler.Job{}, false, fmt.Errorf("crawler: enqueue job of %s: %w", source, err)
		}
	}
	return crawler.Job{}, false, fmt.Errorf("crawler: enqueue job of %s: the job in the way kept going away", source)
}

// ClaimJob gives holder the oldest queued job whose source is free. The
// candidate row is locked with SKIP LOCKED, so claims on several nodes at
// once each take a different job and none waits on another.
func (s *Store) ClaimJob(ctx context.Context, holder string, now time.Time, ttl time.Duration) (crawler.Job, bool, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `UPDATE crawl_jobs SET state = 'running', holder = $1, claimed_at = $2, claim_until = $3,
			attempts = attempts + 1, error = ''
		WHERE id = (SELECT j.id FROM crawl_jobs j WHERE j.state = 'queued'
			AND NOT EXISTS (SELECT 1 FROM crawl_leases l WHERE l.source = j.source AND l.expires_at >= $2)
			AND NOT EXISTS (SELECT 1 FROM crawl_jobs r WHERE r.source = j.source AND r.state = 'running' AND r.claim_until >= $2)
			ORDER BY j.id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobColumns, holder, ms(now), ms(now.Add(ttl))))
	if errors.Is(err, pgx.ErrNoRows) {
		return crawler.Job{}, false, nil
	}
	if err != nil {
		return crawler.Job{}, false, fmt.Errorf("crawler: claim job: %w", err)
	}
	return j, true, nil
}

// HeartbeatJob renews holder's claim of job id until now+ttl.
func (s *Store) HeartbeatJob(ctx context.Context, id int64, holder string, now time.Time, ttl time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE crawl_jobs SET claim_until = $3 WHERE id = $1 AND holder = $2 AND state = 'running'`,
		id, holder, ms(now.Add(ttl)))
	if err != nil {
		return false, fmt.Errorf("crawler: renew claim of job %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// FinishJob records the end of j.ID by j.Holder.
func (s *Store) FinishJob(ctx context.Context, j crawler.Job, now time.Time) (bool, error) {
	if !j.State.Finished() {
		return false, fmt.Errorf("crawler: finish job %d: state %q, expected done, failed or skipped", j.ID, j.State)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE crawl_jobs SET state = $3, finished_at = $4, run_id = $5, error = $6
		WHERE id = $1 AND holder = $2 AND state = 'running'`, j.ID, j.Holder, string(j.State), ms(now), j.RunID, j.Error)
	if err != nil {
		return false, fmt.Errorf("crawler: finish job %d: %w", j.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// RequeueExpiredJobs queues again the running jobs whose claim expired.
// Nodes may run it at once: each row is changed by one of them, the other
// finding it no longer running.
func (s *Store) RequeueExpiredJobs(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE crawl_jobs j SET state = 'failed', finished_at = $1,
				error = 'abandoned: the claim of ' || holder || ' expired' ||
					CASE WHEN attempts >= $2 THEN ' after ' || attempts || ' attempts' ELSE '; a later job of the source is queued' END
			WHERE state = 'running' AND claim_until < $1 AND (attempts >= $2
				OR EXISTS (SELECT 1 FROM crawl_jobs q WHERE q.source = j.source AND q.state = 'queued')
				OR EXISTS (SELECT 1 FROM crawl_jobs o WHERE o.source = j.source AND o.state = 'running' AND o.claim_until < $1 AND o.id > j.id))`,
			ms(now), crawler.JobMaxAttempts); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE crawl_jobs SET state = 'queued', error = 'requeued: the claim of ' || holder || ' expired'
			WHERE state = 'running' AND claim_until < $1`, ms(now))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("crawler: requeue expired jobs: %w", err)
	}
	return int(n), nil
}

// RecentJobs returns the latest jobs, newest first.
func (s *Store) RecentJobs(ctx context.Context, source string, limit int) ([]crawler.Job, error) {
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT ` + jobColumns + ` FROM crawl_jobs`
	args := []any{limit}
	if source != "" {
		q += ` WHERE source = $2`
		args = append(args, source)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("crawler: list jobs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (crawler.Job, error) { return scanJob(r) })
	if err != nil {
		return nil, fmt.Errorf("crawler: list jobs: %w", err)
	}
	return out, nil
}

// PurgeJobs deletes the jobs finished before before.
func (s *Store) PurgeJobs(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM crawl_jobs WHERE finished_at < $1`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("crawler: purge jobs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
