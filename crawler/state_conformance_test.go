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
