package index_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"riskmine/index"
)

// TestBackupWhileWriting copies an index while a writer keeps adding posts
// and checks the copy opens on its own, holds every post flushed before
// the copy began and answers searches.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	ix := openZH(t)
	for i, d := range corpus() {
		d.ID = fmt.Sprintf("before-%d", i)
		if err := ix.Add(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	before, _ := ix.Count()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			d := index.Doc{ID: fmt.Sprintf("during-%d", i), URL: fmt.Sprintf("https://w.example/%d", i), Source: "forum",
				Title: "仓库起火", Body: "一仓库起火，消防赶到。", PublishedAt: day0, Categories: []string{"fire"}, Level: "high"}
			if err := ix.Add(ctx, d); err != nil {
				t.Error(err)
				return
			}
			if i%20 == 0 {
				ix.Flush(ctx)
			}
		}
	})
	dir := filepath.Join(t.TempDir(), "copy")
	copied, err := ix.Backup(ctx, dir)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Backup(ctx, dir); err == nil {
		t.Fatal("a second backup into a full folder was not refused")
	}

	cp := openAt(t, dir)
	n, err := cp.Count()
	if err != nil || n < before || n != copied {
		t.Fatalf("copy holds %d documents (%v), Backup said %d, want at least the %d flushed before", n, err, copied, before)
	}
	if cp.Shards() != ix.Shards() {
		t.Fatalf("copy has %d shards, original %d", cp.Shards(), ix.Shards())
	}
	res, err := cp.Search(ctx, index.Query{Text: "燃气泄漏"})
	if err != nil || res.Total == 0 {
		t.Fatalf("search in the copy: %v %v", res, err)
	}
	// The copy is an index of its own: writes to it leave the original alone.
	if err := cp.Add(ctx, index.Doc{ID: "only-in-copy", Title: "测试", Body: "仅在副本", PublishedAt: day0}); err != nil {
		t.Fatal(err)
	}
	if err := cp.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "shard-0")); err != nil {
		t.Fatal(err)
	}
}
