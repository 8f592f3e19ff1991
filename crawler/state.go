package crawler

import (
	"context"
	"time"
)

// State is the crawl state the crawler keeps between runs, in storage
// verbs: what is known of each URL, the runs of each source, the leases
// that keep one source from running twice at once, and each source's
// health. *Store is the SQLite implementation; crawler/storetest holds the
// behaviour every implementation must show (run it from the backend's
// tests). The lease protocol (heartbeat, takeover, the error naming the
// holder) is written once above it, in lease.go.
type State interface {
	// Instance is the process that opened the state; its leases are held
	// as "<Instance().ID>/<token>".
	Instance() Instance

	// Page returns what is known about a canonical URL (Found false when
	// nothing is).
	Page(ctx context.Context, url string) (PageState, error)
	// SaveFetched records a page fetched at now: its validators, content
	// hash and status; a URL's first save sets FirstSeen, which later
	// saves keep.
	SaveFetched(ctx context.Context, url, source string, st PageState, now time.Time) error
	// SaveStatus records the status of a failed fetch of a known URL
	// without touching LastFetched; an unknown URL is left unknown.
	SaveStatus(ctx context.Context, url string, status int) error

	// StartRun records that a run of source began at at and returns its id.
	StartRun(ctx context.Context, source string, at time.Time) (int64, error)
	// FinishRun records the end of run r.ID: Ended, Stats and Error.
	FinishRun(ctx context.Context, r Run) error
	// Runs returns the latest runs, newest first; source "" means all;
	// limit <= 0 means 50.
	Runs(ctx context.Context, source string, limit int) ([]Run, error)
	// LastRun returns the latest run of source; ok is false when it never
	// ran.
	LastRun(ctx context.Context, source string) (r Run, ok bool, err error)

	// TryLease takes the lease on name for holder until now+ttl when it is
	// free or expired, or renews it when holder has it; false when another
	// holder has an unexpired lease.
	TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up; nothing happens when holder no
	// longer has it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// LeaseHolder describes who holds name's lease and since when.
	LeaseHolder(ctx context.Context, name string) (*LeaseHeldError, error)

	// HealthStates returns source's health by problem.
	HealthStates(ctx context.Context, source string) (map[string]HealthState, error)
	// SaveHealth records (replaces) source's state of problem st.Problem.
	SaveHealth(ctx context.Context, source string, st HealthState) error
	// Health returns every judged source's health, by name.
	Health(ctx context.Context) (map[string]SourceHealth, error)
}

var _ State = (*Store)(nil)
