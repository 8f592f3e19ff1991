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

// TestDataStoreConformance runs the suite of the DataStore's other parts
// against the SQLite store.
func TestDataStoreConformance(t *testing.T) {
	storetest.RunData(t, func(t *testing.T, now func() time.Time) web.DataStore {
		s, err := web.OpenStore(filepath.Join(t.TempDir(), "riskmine.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		web.SetStoreClock(s, now)
		return s
	})
}

// TestDataStoreConformanceNodes runs the audits and UI sources across two
// stores on one database file. (Login attempts, nonces and search slots
// live in the process on SQLite: RunLimitsNodes is PostgreSQL's.)
func TestDataStoreConformanceNodes(t *testing.T) {
	storetest.RunDataNodes(t, func(t *testing.T, now func() time.Time) (web.DataStore, web.DataStore) {
		path := filepath.Join(t.TempDir(), "riskmine.db")
		var out [2]web.DataStore
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
