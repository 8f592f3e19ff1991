package evidence

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCopyArchiveWhileWriting copies an archive whose open file ends in a
// record still being written: the copy keeps the complete records, sealed,
// with the signing key (0600), and checks out against the database copy;
// a copy that lacks indexed bytes, or whose records were altered, is
// refused.
func TestCopyArchiveWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := openTest(t, dir, nil)
	defer a.Close()
	var last Entry
	for i := range 3 {
		e, _, err := a.Put(ctx, testPage(i, strings.Repeat("火灾现场浓烟。", 50+i)))
		if err != nil {
			t.Fatal(err)
		}
		last = e
	}
	// The database copy a backup takes first.
	dbCopy := filepath.Join(dir, "copy.db")
	if _, err := a.idx.(*SQLiteIndex).db.ExecContext(ctx, `VACUUM INTO ?`, dbCopy); err != nil {
		t.Fatal(err)
	}
	// A record in progress: the first bytes of a gzip member (the last
	// capture's first record) appended after the complete ones.
	raw, err := a.Raw(last)
	if err != nil {
		t.Fatal(err)
	}
	openPath := filepath.Join(a.Dir(), last.File+openSuffix)
	f, err := os.OpenFile(openPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(raw[:40])
	f.Close()
	full, _ := os.Stat(openPath)

	dst := filepath.Join(dir, "backup", "evidence")
	os.MkdirAll(filepath.Dir(dst), 0o700)
	rep, err := CopyArchive(ctx, a.Dir(), dst, dbCopy)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Files != 1 || rep.Captures != 3 || !rep.Key {
		t.Errorf("report %+v", rep)
	}
	copied, err := os.Stat(filepath.Join(dst, last.File))
	if err != nil {
		t.Fatalf("the open file is not copied under its sealed name: %v", err)
	}
	if want := last.Offset + last.Length; copied.Size() != want || copied.Size() >= full.Size() {
		t.Errorf("copied %d bytes of the open file (%d on disk), want its complete records, %d", copied.Size(), full.Size(), want)
	}
	if fi, err := os.Stat(filepath.Join(dst, signingKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key copy: %v %v", fi, err)
	}
	if n, err := CheckCopy(ctx, dst, dbCopy); err != nil || n != 3 {
		t.Errorf("check of the copy: %d %v", n, err)
	}

	// A file short of what the index names fails the backup.
	if _, err := checkCopy(ctx, dbCopy, map[string]int64{last.File: last.Offset}); err == nil || !strings.Contains(err.Error(), "take the backup again") {
		t.Errorf("short copy: %v", err)
	}
	// An altered record fails the restore's check.
	b, _ := os.ReadFile(filepath.Join(dst, last.File))
	b[last.Offset+last.Length-12] ^= 0xff // inside the member's compressed data or trailer
	os.WriteFile(filepath.Join(dst, last.File), b, 0o600)
	if _, err := CheckCopy(ctx, dst, dbCopy); err == nil {
		t.Error("an altered record passed the check")
	}
	// An archive never used copies nothing.
	if rep, err := CopyArchive(ctx, filepath.Join(dir, "none"), filepath.Join(dir, "b2"), dbCopy); err != nil || rep.Files != 0 {
		t.Errorf("no archive: %+v %v", rep, err)
	}
}
