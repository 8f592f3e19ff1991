package alerts_test

import (
	"path/filepath"
	"testing"

	"riskmine/alerts"
	"riskmine/alerts/storetest"
)

// TestStoreConformance runs the store suite against SQLite.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts alerts.Options) storetest.Store {
		s, err := alerts.OpenSQLite(filepath.Join(t.TempDir(), "alerts.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
