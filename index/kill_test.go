package index_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/nlp"
)

const (
	childEnv     = "RISKMINE_INDEX_KILL_CHILD"
	childModeEnv = "RISKMINE_INDEX_KILL_MODE"
	childAcked   = 300
)

// TestReopenAfterKill runs a child process (this test binary again) that
// indexes documents, acknowledges them with Flush, keeps adding more and is
// killed with SIGKILL; every acknowledged document must be there on reopen.
func TestReopenAfterKill(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		killChild(path, os.Getenv(childModeEnv))
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	t.Run("flush", func(t *testing.T) { reopenAfterKill(t, "flush") })
	// Sync acknowledges through the journal alone: the child's batches
	// never reach Bleve before the kill, so every acknowledged document
	// comes back from the journal's replay.
	t.Run("sync", func(t *testing.T) { reopenAfterKill(t, "sync") })
}

func reopenAfterKill(t *testing.T, mode string) {
	path := filepath.Join(t.TempDir(), "idx")
	cmd := exec.Command(os.Args[0], "-test.run=^TestReopenAfterKill$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+path, childModeEnv+"="+mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "flushed" {
				acked <- true
				return
			}
		}
		acked <- false
	}()
	select {
	case ok := <-acked:
		if !ok {
			cmd.Wait()
			t.Fatal("child ended before acknowledging its documents")
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child did not acknowledge within 60 s")
	}
	// Let it write some unacknowledged documents, then kill it mid-work.
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child was not killed by the signal: %v", err)
	}

	ix, err := index.Open(index.Options{Path: path, Tokenize: cutSearch, Normalize: nlp.NormalizeText})
	if err != nil {
		ls, _ := exec.Command("ls", "-lR", path).CombinedOutput()
		t.Fatalf("reopen after kill: %v\n%s", err, ls)
	}
	t.Cleanup(func() { ix.Close() })
	n, err := ix.Count()
	if err != nil {
		t.Fatal(err)
	}
	if n < childAcked {
		t.Fatalf("after kill: %d documents, want at least the %d acknowledged", n, childAcked)
	}
	r := search(t, ix, index.Query{Text: `"已确认文档"`, Size: 1})
	if r.Total != childAcked {
		t.Fatalf("acknowledged documents found: %d, want %d", r.Total, childAcked)
	}
	// The reopened index takes writes again.
	if err := ix.Add(context.Background(), index.Doc{ID: "after", Title: "重启后", Body: "重启后写入"}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d documents after the kill (%d acknowledged)", mode, n, childAcked)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(path, "journal", "*.log")); len(left) != 0 {
		t.Fatalf("journal files left after a clean close: %v", left)
	}
}

// killChild is the child's side: it never returns normally.
func killChild(path, mode string) {
	opts := index.Options{Path: path, Tokenize: cutSearch, Normalize: nlp.NormalizeText, BatchSize: 100}
	ack := func(ix *index.Index, ctx context.Context) error { return ix.Flush(ctx) }
	if mode == "sync" {
		opts.BatchSize, opts.FlushInterval = 1_000_000, time.Hour
		ack = func(ix *index.Index, ctx context.Context) error { return ix.Sync(ctx) }
	}
	ix, err := index.Open(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	for i := range childAcked {
		d := index.Doc{ID: fmt.Sprintf("acked-%d", i), Title: "已确认文档", Body: fmt.Sprintf("第%d号已确认文档：仓库火灾调查", i)}
		if err := ix.Add(ctx, d); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
	}
	if err := ack(ix, ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	fmt.Println("flushed")
	for i := 0; ; i++ {
		d := index.Doc{ID: fmt.Sprintf("pending-%d", i), Title: "未确认", Body: "未确认的写入"}
		if err := ix.Add(ctx, d); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		if i%50 == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}
