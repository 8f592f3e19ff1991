//go:build unix

package service

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrepareDataDirMakesItPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(filepath.Join(dir, "index"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"riskmine.db", "riskmine.db-wal", "index/store"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, f), 0o644) // whatever the test's umask
	}
	os.Chmod(dir, 0o755)
	var logs bytes.Buffer
	if err := PrepareDataDir(dir, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{".": 0o700, "index": 0o700, "riskmine.db": 0o600, "riskmine.db-wal": 0o600, "index/store": 0o600}
	for p, m := range want {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != m {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), m)
		}
	}
	if !strings.Contains(logs.String(), "files=3") {
		t.Errorf("no log line of what was tightened: %q", logs.String())
	}
	// Files made later by the process are private too.
	if err := os.WriteFile(filepath.Join(dir, "later"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "later")); fi.Mode().Perm() != 0o600 {
		t.Errorf("file created after start: %v, want 0600", fi.Mode().Perm())
	}
	// Nothing to tighten: no log line.
	logs.Reset()
	if err := PrepareDataDir(dir, slog.New(slog.NewTextHandler(&logs, nil))); err != nil || logs.Len() != 0 {
		t.Errorf("second run: %v %q", err, logs.String())
	}
}
