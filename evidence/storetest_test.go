package evidence_test

import (
	"context"
	"path/filepath"
	"testing"

	"riskmine/evidence"
	"riskmine/evidence/storetest"
)

func openSQLite(t *testing.T, path string) evidence.Index {
	t.Helper()
	x, err := evidence.OpenSQLiteIndex(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestSQLiteIndexConformance runs the index suite on SQLite.
func TestSQLiteIndexConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) evidence.Index {
		return openSQLite(t, filepath.Join(t.TempDir(), "riskmine.db"))
	})
}

// TestSQLiteIndexNodes runs the two-node cases with each node's handle on
// one SQLite file, as serve and crawl share riskmine.db.
func TestSQLiteIndexNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) storetest.Opener {
		path := filepath.Join(t.TempDir(), "riskmine.db")
		return func(t *testing.T) evidence.Index { return openSQLite(t, path) }
	})
}
