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

// TestStoreConformanceNodes runs the two-node cases against two stores
// opened on one database file.
func TestStoreConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T, now func() time.Time) (web.AccountStore, web.AccountStore) {
		path := filepath.Join(t.TempDir(), "riskmine.db")
		var out [2]web.AccountStore
		for i := range out {
			s, err := web.OpenStore(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			web.SetStoreClock(s, now)
			out[i] = s
		}
		return out[0], out[1]
	})
}
