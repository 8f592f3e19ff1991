package pgstore

import (
	"context"
	"testing"

	"riskmine/alerts"
	"riskmine/alerts/storetest"
	"riskmine/internal/pgtest"
)

// TestConformance runs the alerts store suite against PostgreSQL, each
// case in a schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts alerts.Options) storetest.Store {
		s, err := Open(context.Background(), pgtest.DSN(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConformanceNodes runs the multi-node cases against two stores, each
// with a pool of its own, on one schema.
func TestConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T, opts alerts.Options) (storetest.Store, storetest.Store) {
		dsn := pgtest.DSN(t)
		var out [2]*Store
		for i := range out {
			s, err := Open(context.Background(), dsn, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out[0], out[1]
	})
}
