package main

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// requireTmpfsEnv makes the disk-full test fail instead of skipping when
// it cannot mount a tmpfs; .ci/run sets it.
const requireTmpfsEnv = "RISKMINE_REQUIRE_TMPFS"

// mountTmpfs mounts a tmpfs of size bytes on a new folder and returns it;
// it skips the test (or fails it under requireTmpfsEnv) without root or
// sudo.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	var prefix []string
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil || exec.Command("sudo", "-n", "true").Run() != nil {
			if os.Getenv(requireTmpfsEnv) != "" {
				t.Fatalf("%s is set but mounting a tmpfs needs root or password-less sudo", requireTmpfsEnv)
			}
			t.Skip("mounting a tmpfs needs root or password-less sudo; set " + requireTmpfsEnv + " to make this a failure")
		}
		prefix = []string{"sudo", "-n"}
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := append(prefix, "mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0777", size), "tmpfs", dir)
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		if os.Getenv(requireTmpfsEnv) != "" {
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

// fillDisk writes path until the file system is full, then gives back
// leave bytes.
func fillDisk(t *testing.T, path string, leave int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(max(st.Size()-leave, 0)); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestServeOnFullDisk runs `riskmine serve` (a real binary) on a small
// tmpfs that is filled up while a source is crawled every second: it must
// not crash, must answer not ready naming the data folder, refuse API
// writes with the reason, record the refused runs in the history, and once
// the space is freed go on without a restart and lose nothing.
func TestServeOnFullDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and mounts a tmpfs")
	}
	mnt := mountTmpfs(t, 96<<20)
	bin := buildRiskmine(t)
	const pages = 60
	site := newKillSite(pages)
	defer site.srv.Close()
	site.hidden.Store(true) // the sitemap lists nothing until the disk is full

	dataDir := filepath.Join(mnt, "data")
	cfgPath := filepath.Join(t.TempDir(), "riskmine.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
data: {min_free_bytes: 8388608}
log: {level: warn}
crawler:
  timeout: 10s
  jitter: 0s
  sources:
    - name: site
      kind: sitemap
      seeds: ["%s/sitemap.xml"]
      schedule: "@every 1s"
      allow_private: true
      delay: 0s
      parallelism: 2
      max_pages: 100
`, dataDir, site.srv.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "RISKMINE_API_TOKEN=disk-token")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "riskmine ready at "); ok {
				addr <- a
			}
		}
		exited <- cmd.Wait()
	}()
	var base string
	select {
	case base = <-addr:
	case err := <-exited:
		t.Fatalf("serve ended at start: %v\n%s", err, stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("serve not ready\n%s", stderr.String())
	}
	alive := func() {
		t.Helper()
		select {
		case err := <-exited:
			t.Fatalf("serve ended: %v\n%s", err, stderr.String())
		default:
		}
	}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer disk-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("readyz before filling: %d %s", code, body)
	}

	// 1. Under the floor: not ready, writes refused, runs fail with the
	// reason in the history.
	filler := filepath.Join(mnt, "filler")
	fillDisk(t, filler, 2<<20)
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "data folder "+dataDir) || !strings.Contains(body, "min_free_bytes") {
		t.Fatalf("readyz under the floor: %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/leads/none/transition", strings.NewReader(`{"action":"confirm","version":1}`))
	req.Header.Set("Authorization", "Bearer disk-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(raw), "data folder "+dataDir) {
		t.Fatalf("API write under the floor: %d %s", resp.StatusCode, raw)
	}
	site.hidden.Store(false)
	dbPath := filepath.Join(dataDir, "riskmine.db")
	waitFor(t, "a refused run in the history", time.Minute, func() bool {
		alive()
		return countRuns(t, dbPath, "error LIKE '%data folder%min_free_bytes%' AND ended_at > 0") > 0
	})

	// 2. A disk with no space at all: writes fail, nothing panics.
	fillDisk(t, filler, 0)
	time.Sleep(3 * time.Second)
	alive()
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz on a full disk: %d", code)
	}

	// 3. Space returns: everything goes on without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready again", time.Minute, func() bool {
		alive()
		code, _ := get("/readyz")
		return code == http.StatusOK
	})
	waitFor(t, "a clean run after the space returned", 2*time.Minute, func() bool {
		alive()
		return countRuns(t, dbPath, "error = '' AND ended_at > 0 AND failed = 0 AND new > 0") > 0
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("serve exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(stderr.String(), "panic") {
		t.Fatalf("serve panicked:\n%s", stderr.String())
	}
	checkCrawledOnce(t, cfgPath, dataDir, site)
}

// countRuns counts the runs of the history at dbPath matching where.
func countRuns(t *testing.T, dbPath, where string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM crawl_runs WHERE ` + where).Scan(&n); err != nil {
		return 0 // the database may be busy or not yet created
	}
	return n
}

// lockedBuffer is a bytes buffer safe for a process's output and a test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
