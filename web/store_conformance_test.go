package web_test

import (
	"path/filepath"
	"testing"
	"time"

	"riskmine/web"
	"riskmine/web/storetest"
)

// TestStoreConformance runs the AccountStore suite against the SQLite
// store, each case on a fresh database file.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) web.AccountStore {
		s, err := web.OpenStore(filepath.Join(t.TempDir(), "riskmine.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		web.SetStoreClock(s, now)
		return s
	})
}
