package crawler_test

import (
	"path/filepath"
	"testing"

	"riskmine/crawler"
	"riskmine/crawler/storetest"
)

// TestStoreConformance runs the State suite against the SQLite store, each
// case on a fresh database file.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) crawler.State {
		s, err := crawler.OpenStore(filepath.Join(t.TempDir(), "riskmine.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestStoreConformanceNodes runs the two-node cases against two stores
// opened on one database file, as serve and a manual crawl share a data
// folder.
func TestStoreConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) (crawler.State, crawler.State) {
		path := filepath.Join(t.TempDir(), "riskmine.db")
		var out [2]crawler.State
		for i := range out {
			s, err := crawler.OpenStore(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out[0], out[1]
	})
}

// TestStoreJobs runs the job queue's suite against the SQLite store.
func TestStoreJobs(t *testing.T) {
	storetest.RunJobs(t, func(t *testing.T) storetest.StateJobs {
		s, err := crawler.OpenStore(filepath.Join(t.TempDir(), "riskmine.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestStoreJobsNodes runs the two-node job cases against two stores on one
// database file.
func TestStoreJobsNodes(t *testing.T) {
	storetest.RunJobsNodes(t, func(t *testing.T) (storetest.StateJobs, storetest.StateJobs) {
		path := filepath.Join(t.TempDir(), "riskmine.db")
		var out [2]storetest.StateJobs
		for i := range out {
			s, err := crawler.OpenStore(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out[0], out[1]
	})
}
