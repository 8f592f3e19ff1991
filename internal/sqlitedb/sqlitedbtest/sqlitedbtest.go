// Package sqlitedbtest helps the stores' tests open databases that earlier
// releases wrote.
package sqlitedbtest

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// CopyGzipped writes the gzipped database fixture at path (relative to the
// test's package) to a temporary riskmine.db and returns its path, so a
// test can open and migrate it without touching the fixture.
func CopyGzipped(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	dst := filepath.Join(t.TempDir(), "riskmine.db")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}
