package crawler

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type leaseClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *leaseClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *leaseClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func openLeaseStore(t *testing.T, path string) *Store {
	t.Helper()
	st, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// A holder that stops renewing (a dead process this data folder cannot
// see) loses its lease within 30 s.
func TestLeaseRunsOutWithinThirtySeconds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskmine.db")
	a, b := openLeaseStore(t, path), openLeaseStore(t, path)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	if _, err := a.AcquireLease(ctx, "src", func() time.Time { return t0 }); err != nil {
		t.Fatal(err)
	}
	_, err := b.AcquireLease(ctx, "src", func() time.Time { return t0.Add(29 * time.Second) })
	var held *LeaseHeldError
	if !errors.As(err, &held) || !errors.Is(err, ErrRunning) {
		t.Fatalf("29s after the last heartbeat: %v, want a LeaseHeldError", err)
	}
	if held.Instance == nil || held.Instance.ID != a.Instance().ID || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("refusal does not name the holder: %v", err)
	}
	if _, err := b.AcquireLease(ctx, "src", func() time.Time { return t0.Add(30*time.Second + time.Millisecond) }); err != nil {
		t.Fatalf("just over 30s after the last heartbeat: %v", err)
	}
}

// A held lease is renewed by its heartbeat and outlives its TTL; a lease
// taken over after missed heartbeats cancels the holder.
func TestLeaseHeartbeatRenewsAndLossCancels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskmine.db")
	a, b := openLeaseStore(t, path), openLeaseStore(t, path)
	a.renewEvery = 5 * time.Millisecond
	ctx := context.Background()
	clock := &leaseClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	t0 := clock.Now()
	l, err := a.AcquireLease(ctx, "src", clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan error, 1)
	l.keep(func(err error) { lost <- err }, t.Logf)
	clock.Set(t0.Add(25 * time.Second))
	waitFor(t, 10*time.Second, "a renewal", func() bool {
		var exp int64
		a.db.QueryRow(`SELECT expires_at FROM crawl_leases WHERE source = 'src'`).Scan(&exp)
		return exp == millis(t0.Add(55*time.Second))
	})
	if _, err := b.AcquireLease(ctx, "src", func() time.Time { return t0.Add(40 * time.Second) }); !errors.Is(err, ErrRunning) {
		t.Fatalf("a renewed lease was taken: %v", err)
	}
	// The holder stalled past its TTL and someone else took over.
	if _, err := a.db.Exec(`UPDATE crawl_leases SET holder = ?, instance = ?`, b.Instance().ID+"/x", b.Instance().ID); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lost:
		if !errors.Is(err, errLeaseLost) {
			t.Fatalf("lost with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the holder was not told it lost its lease")
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireLease(ctx, "src", clock.Now); !errors.Is(err, ErrRunning) {
		t.Fatalf("the old holder's release freed the new holder's lease: %v", err)
	}
}

// TestHelperLeaseHolder is the child of TestKilledHolderReleasedAtRestart:
// it takes a lease, starts a run and waits to be killed.
func TestHelperLeaseHolder(t *testing.T) {
	path := os.Getenv("RISKMINE_LEASE_HELPER_DB")
	if path == "" {
		t.Skip("helper process")
	}
	st, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AcquireLease(context.Background(), "src", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.StartRun(context.Background(), "src", time.Now()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("held")
	time.Sleep(time.Minute)
}

func TestKilledHolderReleasedAtRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskmine.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLeaseHolder$", "-test.v")
	cmd.Env = append(os.Environ(), "RISKMINE_LEASE_HELPER_DB="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "held" {
	}
	// While the holder lives, a second process sharing the data folder is
	// refused and told who holds the lease.
	other := openLeaseStore(t, path)
	_, err = other.AcquireLease(context.Background(), "src", nil)
	var held *LeaseHeldError
	if !errors.As(err, &held) || held.Instance == nil || held.Instance.PID != cmd.Process.Pid {
		t.Fatalf("while the holder lives: %v, want a refusal naming pid %d", err, cmd.Process.Pid)
	}
	runs, _ := other.Runs(context.Background(), "src", 10)
	if len(runs) != 1 || runs[0].Abandoned || !runs[0].Ended.IsZero() {
		t.Fatalf("a live run was touched: %+v", runs)
	}
	other.Close()

	cmd.Process.Kill() // SIGKILL: no deferred release runs
	cmd.Wait()
	restarted := openLeaseStore(t, path)
	l, err := restarted.AcquireLease(context.Background(), "src", nil)
	if err != nil {
		t.Fatalf("lease of the killed process not released at restart: %v", err)
	}
	l.Release(context.Background())
	runs, err = restarted.Runs(context.Background(), "src", 10)
	if err != nil || len(runs) != 1 || !runs[0].Abandoned || runs[0].Ended.IsZero() || !strings.Contains(runs[0].Error, "abandoned") {
		t.Fatalf("the killed run is not marked abandoned: %+v %v", runs, err)
	}
	var n int
	restarted.db.QueryRow(`SELECT count(*) FROM crawl_instances`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d instances recorded, want only the running one", n)
	}
	if _, err := os.Stat(filepath.Join(path+"-instances", held.Instance.ID+".lock")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the dead instance's lock file is left: %v", err)
	}
}

// Unfinished runs recorded before runs named their instance are abandoned
// at start unless a live lease covers their source.
func TestOldUnfinishedRunsAbandonedAtStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskmine.db")
	st := openLeaseStore(t, path)
	now := time.Now()
	st.db.Exec(`INSERT INTO crawl_runs(source, started_at) VALUES ('old', ?), ('live', ?)`, millis(now.Add(-time.Hour)), millis(now))
	st.db.Exec(`INSERT INTO crawl_leases(source, holder, expires_at) VALUES ('live', 'x', ?)`, millis(now.Add(time.Minute)))
	st.Close()
	st = openLeaseStore(t, path)
	runs, err := st.Runs(context.Background(), "", 10)
	if err != nil || len(runs) != 2 {
		t.Fatal(runs, err)
	}
	for _, r := range runs {
		if r.Abandoned != (r.Source == "old") {
			t.Errorf("run of %s: abandoned %v", r.Source, r.Abandoned)
		}
	}
}

// A trigger refused because another process holds the lease fails at once
// with an error naming the holder, instead of starting a run that the
// lease then refuses.
func TestTriggerRefusedWhileAnotherProcessHoldsLease(t *testing.T) {
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/p/1.html">1</a>`))
		},
		"/p/": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("租约", zhPara)))
		},
	})
	path := filepath.Join(t.TempDir(), "riskmine.db")
	holder := openLeaseStore(t, path)
	l, err := holder.AcquireLease(context.Background(), "leased", nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Store: openLeaseStore(t, path), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewScheduler(c, []Source{htmlSource("leased", site, "/list")}, (&pageSink{}).emit, SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	err = s.Trigger("leased")
	var held *LeaseHeldError
	if !errors.As(err, &held) || !errors.Is(err, ErrRunning) || !strings.Contains(err.Error(), holder.Instance().ID) {
		t.Fatalf("trigger while another process holds the lease: %v", err)
	}
	if len(s.Running()) != 0 {
		t.Fatalf("a refused trigger left the source marked running: %v", s.Running())
	}
	l.Release(context.Background())
	if err := s.Trigger("leased"); err != nil {
		t.Fatalf("trigger after release: %v", err)
	}
	waitFor(t, 20*time.Second, "the run to end", func() bool { return len(s.Running()) == 0 })
	runs, _ := c.Store().Runs(context.Background(), "leased", 10)
	if len(runs) != 1 || runs[0].Error != "" || runs[0].New != 1 {
		t.Fatalf("runs %+v", runs)
	}
}
