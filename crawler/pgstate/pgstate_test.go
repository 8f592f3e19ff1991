package pgstate

import (
	"context"
	"testing"

	"riskmine/crawler"
	"riskmine/crawler/storetest"
	"riskmine/internal/pgtest"
)

func open(t *testing.T, dsn string) *Store {
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
