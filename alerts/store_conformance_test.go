package alerts_test

import (
	"fmt"
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

// TestStoreNodes runs the multi-node suite with two SQLite stores on one
// file.
func TestStoreNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T, opts alerts.Options) (storetest.Store, storetest.Store) {
		path := filepath.Join(t.TempDir(), "alerts.db")
		var s [2]*alerts.SQLStore
		for i := range s {
			var err error
			if s[i], err = alerts.OpenSQLite(path, opts); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s[i].Close() })
		}
		return s[0], s[1]
	})
}

// TestStoreExtras runs what the service needs beyond alerts.Store against
// SQLite.
func TestStoreExtras(t *testing.T) {
	storetest.RunExtras(t, func(t *testing.T, opts alerts.Options) alerts.ServiceStore {
		s, err := alerts.OpenSQLite(filepath.Join(t.TempDir(), "alerts.db"), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestStoreNodesExtras runs the multi-node extras with two SQLite stores
// on one file (not RunNodesEvents: SQLite's lead events stay in the
// process that filed the lead).
func TestStoreNodesExtras(t *testing.T) {
	storetest.RunNodesExtras(t, func(t *testing.T, opts alerts.Options) (alerts.ServiceStore, alerts.ServiceStore) {
		path := filepath.Join(t.TempDir(), "alerts.db")
		var s [2]*alerts.SQLStore
		for i := range s {
			var err error
			if s[i], err = alerts.OpenSQLite(path, opts); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s[i].Close() })
		}
		return s[0], s[1]
	})
}

// BenchmarkRecordBurstPost counts distinct posts for burst detection in
// one SQLite store, by one caller and by four
// (storetest.BenchRecordBurstPost).
func BenchmarkRecordBurstPost(b *testing.B) {
	for _, callers := range []int{1, 4} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			s, err := alerts.OpenSQLite(filepath.Join(b.TempDir(), "alerts.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			storetest.BenchRecordBurstPost(b, []alerts.ServiceStore{s}, callers)
		})
	}
}
