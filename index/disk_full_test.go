package index_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"riskmine/index"
)

// TestFlushOnFullDisk writes to an index on a small tmpfs that fills up:
// Flush fails naming the index folder, searches and the facet warmer keep
// working (a segment whose persisting failed used to panic them), and once
// space returns the same documents are acknowledged without reopening.
func TestFlushOnFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs")
	}
	mnt := mountTmpfs(t, 32<<20)
	path := filepath.Join(mnt, "idx")
	ix := openAt(t, path)
	ctx := context.Background()
	add := func(from, to int) {
		for i := from; i < to; i++ {
			d := index.Doc{ID: fmt.Sprintf("p%d", i), Title: fmt.Sprintf("第%d号仓库起火", i), Body: "城东工业区仓库突然起火，消防赶到扑救。",
				Categories: []string{"fire"}, Level: "high", PublishedAt: time.Now()}
			if err := ix.Add(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(0, 100)
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	add(100, 400)
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	err := ix.Flush(fctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("flush on a full disk: %v, want ENOSPC naming %s", err, path)
	}
	if ix.WriteFailure() == nil {
		t.Error("no write failure reported on a full disk")
	}
	// The warmer runs every 200 ms; searches with facets read every segment.
	for range 10 {
		if _, err := ix.Search(ctx, index.Query{Text: "起火"}); err != nil {
			t.Logf("search on a full disk: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	fctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		err := ix.Flush(fctx)
		if err == nil {
			break
		}
		if fctx.Err() != nil {
			t.Fatalf("flush after space returned: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if ix.WriteFailure() != nil {
		t.Errorf("write failure still reported: %v", ix.WriteFailure())
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openAt(t, path)
	if n, err := ix.Count(); err != nil || n != 400 {
		t.Fatalf("after reopening: %d documents (%v), want 400", n, err)
	}
}

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new folder; it skips the
// test without root or sudo unless RISKMINE_REQUIRE_TMPFS is set.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	var prefix []string
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil || exec.Command("sudo", "-n", "true").Run() != nil {
			if os.Getenv("RISKMINE_REQUIRE_TMPFS") != "" {
				t.Fatal("RISKMINE_REQUIRE_TMPFS is set but mounting a tmpfs needs root or password-less sudo")
			}
			t.Skip("mounting a tmpfs needs root or password-less sudo; set RISKMINE_REQUIRE_TMPFS to make this a failure")
		}
		prefix = []string{"sudo", "-n"}
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append(prefix, "mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0777", size), "tmpfs", dir)
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		if os.Getenv("RISKMINE_REQUIRE_TMPFS") != "" {
			t.Fatalf("mount tmpfs: %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		args := append(prefix, "umount", "-l", dir)
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}
