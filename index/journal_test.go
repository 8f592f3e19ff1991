package index_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/nlp"
)

// copyDir copies the files of an open index: a crash at this moment would
// leave them so (its batches are held back, so Bleve's files are at rest).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), raw, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestJournalReplay: documents added and deleted, then Synced (never
// written to Bleve), come back from the journal in a copy of the folder;
// a record cut short at the end of a file is skipped with what follows it,
// and the replayed journal is removed.
func TestJournalReplay(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live")
	ix, err := index.Open(index.Options{Path: live, Tokenize: cutSearch, Normalize: nlp.NormalizeText, BatchSize: 1_000_000, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	for i := range 20 {
		d := index.Doc{ID: fmt.Sprintf("d%d", i), Title: "仓库起火", Body: fmt.Sprintf("第%d号：仓库起火，消防到场。", i), Level: "high", Score: 7,
			PublishedAt: time.Date(2026, 11, 20, 8, i, 0, 0, time.UTC), Categories: []string{"fire"}, LocationCodes: []string{"350105"}}
		if err := ix.Add(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Delete(ctx, "d3"); err != nil {
		t.Fatal(err)
	}
	if err := ix.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := ix.Count(); n != 0 {
		t.Fatalf("%d documents reached Bleve before the copy; the test needs none", n)
	}

	crashed := filepath.Join(dir, "crashed")
	copyDir(t, live, crashed)
	// A crash mid-append: half a record at the end of the journal.
	files, _ := filepath.Glob(filepath.Join(crashed, "journal", "*.log"))
	if len(files) != 1 {
		t.Fatalf("journal files %v, want one", files)
	}
	f, err := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 'a', '{', '"'})
	f.Close()

	re, err := index.Open(index.Options{Path: crashed, Tokenize: cutSearch, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	n, err := re.Count()
	if err != nil {
		t.Fatal(err)
	}
	if n != 19 {
		t.Fatalf("%d documents after the replay, want 19 (20 added, 1 deleted)", n)
	}
	r := search(t, re, index.Query{Text: "仓库", Categories: []string{"fire"}, Locations: []string{"3501"}, Size: 100})
	if r.Total != 19 {
		t.Fatalf("replayed documents found with their fields: %d, want 19", r.Total)
	}
	if ok, _ := re.Has(ctx, "d3"); ok {
		t.Fatal("the deleted document came back")
	}
	if left, _ := filepath.Glob(filepath.Join(crashed, "journal", "*.log")); len(left) != 1 {
		t.Fatalf("journal after the replay: %v, want only the new file", left)
	}
	if err := re.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(crashed, "journal", "*.log")); len(left) != 0 {
		t.Fatalf("journal after close: %v", left)
	}
}

// TestJournalFilesGoOnceWritten: batches written in the background take
// their journal files with them once persisted.
func TestJournalFilesGoOnceWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idx")
	ix := openAt(t, path)
	ctx := context.Background()
	for i := range 50 {
		if err := ix.Add(ctx, index.Doc{ID: fmt.Sprintf("d%d", i), Title: "井盖丢失", Body: "路口井盖丢失"}); err != nil {
			t.Fatal(err)
		}
		if err := ix.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(path, "journal", "*.log"))
		if len(left) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal files after everything persisted: %v, want the current one only", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
