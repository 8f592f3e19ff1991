//go:build linux

package evidence

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPutDiskFull makes the file system refuse the write of a capture
// half-way (a file size limit, which fails writes as a full disk does) and
// checks that the file is cut back to its last whole capture, nothing is
// indexed, and the same page is archived once space is back.
func TestPutDiskFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, _ := openTest(t, dir, nil)
	defer a.Close()
	first, _, err := a.Put(ctx, testPage(1, "first page"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "evidence", first.File+openSuffix)
	size := first.Offset + first.Length

	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails with EFBIG instead
	defer signal.Reset(syscall.SIGXFSZ)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	lim := old
	lim.Cur = uint64(size + 200) // room for part of the next capture only
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skip(err)
	}
	_, _, err = a.Put(ctx, testPage(2, strings.Repeat("第二篇 ", 3000)))
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err == nil || !strings.Contains(err.Error(), "evidence: write") {
		t.Fatalf("put past the limit: %v", err)
	}
	info, _ := os.Stat(path)
	if info.Size() != size {
		t.Errorf("file is %d bytes after the failed write, want %d", info.Size(), size)
	}
	if has, _ := a.Has(ctx, testPage(2, "").URL); has {
		t.Error("the failed capture is indexed")
	}
	second, wrote, err := a.Put(ctx, testPage(2, strings.Repeat("第二篇 ", 3000)))
	if err != nil || !wrote || second.Offset != size {
		t.Fatalf("after space is back: %v %v offset %d", err, wrote, second.Offset)
	}
	for _, e := range []Entry{first, second} {
		if _, err := a.Records(e); err != nil {
			t.Errorf("capture %d: %v", e.ID, err)
		}
	}
}
