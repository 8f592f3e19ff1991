package pgstate

import (
	"context"
	"testing"

	"riskmine/crawler"
	"riskmine/crawler/storetest"
	"riskmine/internal/pgtest"
)

func open(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the State suite against PostgreSQL, each case in a
// schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) crawler.State { return open(t, pgtest.DSN(t)) })
}

// TestConformanceNodes runs the two-node cases against two stores, each
// with a pool of its own, on one schema.
func TestConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) (crawler.State, crawler.State) {
		dsn := pgtest.DSN(t)
		return open(t, dsn), open(t, dsn)
	})
}

// TestJobs runs the job queue's suite against PostgreSQL.
func TestJobs(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) storetest.StateJobs { return open(t, pgtest.DSN(t)) })
}

// TestJobsNodes runs the two-node job cases against two stores, each with
// a pool of its own, on one schema.
func TestJobsNodes(t *testing.T) {
	storetest.RunJobsNodes(t, func(t *testing.T) (storetest.StateJobs, storetest.StateJobs) {
		dsn := pgtest.DSN(t)
		return open(t, dsn), open(t, dsn)
	})
}
