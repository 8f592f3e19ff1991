package crawler

import (
	"context"
	"time"
)

// The job contract. On a cluster the runs of sources go through a queue
// shared by the nodes instead of each node's clock (the Scheduler's Jobs
// option). It is defined here once, for every backend:
//
//   - A job is one run of one source to do. Its Key makes enqueuing
//     idempotent: the leader names a cron tick "<source>@<tick time>", so two
//     nodes that both believe they lead still make one job of it.
//   - A source has at most one queued job: enqueuing while one waits returns
//     that job. A tick that comes while a run goes on waits for it rather
//     than piling up.
//   - A worker claims the oldest queued job whose source is not running
//     (no live lease, no live claim of another job) for JobTTL, renews the
//     claim while the run goes on, and finishes the job with its outcome.
//   - A claim not renewed expires; RequeueExpiredJobs puts the job back in
//     the queue for another worker, which runs the source again, resuming
//     from its crawl state. After JobMaxAttempts claims that all expired the
//     job is failed instead, so a source that kills its workers does not
//     kill them all in turn.
//   - The run itself still takes the source's lease (lease.go): a job is
//     the order to run, the lease the guarantee that one run goes on at a
//     time.

// JobState is where a job is in its life.
type JobState string

// The states of a job.
const (
	// JobQueued waits for a worker.
	JobQueued JobState = "queued"
	// JobRunning is claimed by a worker (Holder, until ClaimUntil).
	JobRunning JobState = "running"
	// JobDone ran (its run may still have failed URLs, counted in the run).
	JobDone JobState = "done"
	// JobFailed ended with an error: the run's, or its claims expired
	// JobMaxAttempts times.
	JobFailed JobState = "failed"
	// JobSkipped found its source running elsewhere and was not run.
	JobSkipped JobState = "skipped"
)

// Finished reports whether a job in state st is over.
func (st JobState) Finished() bool { return st == JobDone || st == JobFailed || st == JobSkipped }

// JobMaxAttempts is how many claims of one job may expire before the job
// is failed rather than queued again.
const JobMaxAttempts = 3

// Reasons a job was enqueued.
const (
	// JobScheduled is a cron tick of the leader.
	JobScheduled = "schedule"
	// JobManual is a "run now" of a node that does not crawl.
	JobManual = "manual"
)

// Job is one queued run of one source.
type Job struct {
	ID     int64  `json:"id"`
	Source string `json:"source"`
	// Key is unique among the jobs kept: enqueuing a key again adds nothing.
	Key string `json:"key"`
	// Reason is JobScheduled or JobManual.
	Reason   string    `json:"reason"`
	State    JobState  `json:"state"`
	Enqueued time.Time `json:"enqueued"`
	// Holder is the worker that claimed the job last ("<instance>/<token>"),
	// Claimed when and ClaimUntil until when, unless renewed.
	Holder     string    `json:"holder,omitempty"`
	Claimed    time.Time `json:"claimed"`
	ClaimUntil time.Time `json:"claim_until"`
	// Attempts counts the claims.
	Attempts int       `json:"attempts"`
	Finished time.Time `json:"finished"`
	// RunID is the run the job made (see Runs), 0 when none.
	RunID int64 `json:"run_id,omitempty"`
	// Error is why the job failed or was skipped, or, on a queued job,
	// why it was queued again.
	Error string `json:"error,omitempty"`
}

// Jobs is the queue of source runs shared by the nodes of a cluster, in
// storage verbs; every verb takes the time it acts at. *Store (SQLite) and
// crawler/pgstate's Store (PostgreSQL) implement it, in the database of
// their State: a claim looks at the leases. crawler/storetest.RunJobs is
// the behaviour every implementation must show.
type Jobs interface {
	// EnqueueJob adds a queued job of source under key; added is false, and
	// the job returned is the one kept, when a job with key exists or a job
	// of source is already queued.
	EnqueueJob(ctx context.Context, source, key, reason string, now time.Time) (j Job, added bool, err error)
	// ClaimJob gives holder the oldest queued job whose source is free (no
	// lease live at now, no other job's claim live at now) until now+ttl;
	// ok is false when there is none. Claims on several nodes at once never
	// get the same job.
	ClaimJob(ctx context.Context, holder string, now time.Time, ttl time.Duration) (j Job, ok bool, err error)
	// HeartbeatJob renews holder's claim of job id until now+ttl; false when
	// holder no longer has it (requeued, claimed by another, finished).
	HeartbeatJob(ctx context.Context, id int64, holder string, now time.Time, ttl time.Duration) (bool, error)
	// FinishJob records the end of j.ID (by j.Holder): j.State (a finished
	// state), j.RunID and j.Error, at now; false when j.Holder no longer
	// has the job.
	FinishJob(ctx context.Context, j Job, now time.Time) (bool, error)
	// RequeueExpiredJobs puts back in the queue the running jobs whose claim
	// expired before now and returns how many; it fails instead those that
	// reached JobMaxAttempts and those whose source has a job queued
	// already.
	RequeueExpiredJobs(ctx context.Context, now time.Time) (int, error)
	// RecentJobs returns the latest jobs, newest first; source "" means
	// all; limit <= 0 means 50.
	RecentJobs(ctx context.Context, source string, limit int) ([]Job, error)
	// PurgeJobs deletes the finished jobs that finished before before and
	// returns how many.
	PurgeJobs(ctx context.Context, before time.Time) (int, error)
}

var _ Jobs = (*Store)(nil)
