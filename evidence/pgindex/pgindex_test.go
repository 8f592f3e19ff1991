package pgindex

import (
	"context"
	"testing"

	"riskmine/evidence"
	"riskmine/evidence/storetest"
	"riskmine/internal/pgtest"
)

func open(t *testing.T, dsn string) *Index {
	t.Helper()
	x, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestConformance runs the index suite on PostgreSQL, each case in a
// schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) evidence.Index { return open(t, pgtest.DSN(t)) })
}

// TestConformanceNodes runs the two-node cases with each node's index on
// a pool of its own, over one schema.
func TestConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) storetest.Opener {
		dsn := pgtest.DSN(t)
		return func(t *testing.T) evidence.Index { return open(t, dsn) }
	})
}
