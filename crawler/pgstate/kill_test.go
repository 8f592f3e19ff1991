package pgstate

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"riskmine/internal/pgtest"
)

// workerEnv names the schema a re-executed test binary works in as the
// worker of TestKilledWorkerReleased.
const workerEnv = "RISKMINE_PGSTATE_WORKER_DSN"

// TestWorkerProcess is the worker of TestKilledWorkerReleased: it takes
// the lease on "forum", starts a run, says so and waits to be killed.
func TestWorkerProcess(t *testing.T) {
	dsn := os.Getenv(workerEnv)
	if dsn == "" {
		t.Skip("the worker process of TestKilledWorkerReleased; it runs only when that test starts it")
	}
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ok, err := s.TryLease(context.Background(), "forum", s.Instance().ID+"/run", now, time.Hour)
	if err != nil || !ok {
		t.Fatalf("worker lease: %v %v", ok, err)
	}
	if _, err := s.StartRun(context.Background(), "forum", now); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("holding %s\n", s.Instance().ID)
	time.Sleep(time.Minute)
	t.Fatal("the worker was not killed")
}

// TestKilledWorkerReleased SIGKILLs a worker process that holds a lease
// (an hour long, so only the instance lock can free it) in the middle of a
// run: the next node to open the state releases the lease at once, marks
// the run abandoned and forgets the instance, while a live node's lease
// is left alone.
func TestKilledWorkerReleased(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	live := open(t, dsn)
	if ok, err := live.TryLease(ctx, "news", live.Instance().ID+"/run", time.Now(), time.Hour); err != nil || !ok {
		t.Fatalf("live node's lease: %v %v", ok, err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), workerEnv+"="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "holding ") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("worker said %q, %v", line, err)
	}
	worker := strings.TrimSpace(strings.TrimPrefix(line, "holding "))
	if held, err := live.LeaseHolder(ctx, "forum"); err != nil || held.Instance == nil || held.Instance.ID != worker {
		t.Fatalf("before the kill: %+v, %v", held, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	// The server notices the closed connection at once; give it a moment
	// on a loaded machine rather than a fixed sleep.
	var next *Store
	deadline := time.Now().Add(10 * time.Second)
	for {
		next = open(t, dsn)
		if held, _ := next.LeaseHolder(ctx, "forum"); held != nil && held.Holder == "(released just now)" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed worker's lease was not released by the next node's open")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ok, err := next.TryLease(ctx, "forum", next.Instance().ID+"/run", time.Now(), time.Minute); err != nil || !ok {
		t.Fatalf("the killed worker's source was not free: %v %v", ok, err)
	}
	r, ok, err := next.LastRun(ctx, "forum")
	if err != nil || !ok || !r.Abandoned || r.Ended.IsZero() || !strings.Contains(r.Error, worker) {
		t.Fatalf("the killed worker's run: %+v %v %v; want abandoned, naming the worker", r, ok, err)
	}
	var n int
	if err := next.pool.QueryRow(ctx, `SELECT count(*) FROM crawl_instances WHERE id = $1`, worker).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the killed worker is still recorded: %d, %v", n, err)
	}
	if held, err := next.LeaseHolder(ctx, "news"); err != nil || held.Instance == nil || held.Instance.ID != live.Instance().ID {
		t.Fatalf("the live node's lease: %+v, %v", held, err)
	}
}

// TestLostLockConnectionTakenAgain ends a live node's lock connection on
// the server (as a network cut or an administrator would): the node's next
// heartbeat takes the lock again, so a node starting afterwards leaves its
// lease and run alone.
func TestLostLockConnectionTakenAgain(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	a := open(t, dsn)
	holder := a.Instance().ID + "/run"
	now := time.Now()
	if ok, err := a.TryLease(ctx, "forum", holder, now, time.Hour); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	if _, err := a.StartRun(ctx, "forum", now); err != nil {
		t.Fatal(err)
	}
	a.lockMu.Lock()
	pid := a.lock.PgConn().PID()
	a.lockMu.Unlock()
	var ended bool
	if err := a.pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ended); err != nil || !ended {
		t.Fatalf("terminate the lock connection: %v %v", ended, err)
	}
	// The heartbeat notices and takes the lock again.
	if ok, err := a.TryLease(ctx, "forum", holder, now.Add(10*time.Second), time.Hour); err != nil || !ok {
		t.Fatalf("heartbeat after the lost connection: %v %v", ok, err)
	}
	b := open(t, dsn)
	if dead, err := b.RecoverDead(ctx, time.Now()); err != nil || len(dead) != 0 {
		t.Fatalf("a live node judged dead: %+v, %v", dead, err)
	}
	if held, err := b.LeaseHolder(ctx, "forum"); err != nil || held.Holder != holder || held.Instance == nil {
		t.Fatalf("the live node's lease: %+v, %v", held, err)
	}
	if r, _, err := b.LastRun(ctx, "forum"); err != nil || r.Abandoned {
		t.Fatalf("the live node's run: %+v, %v", r, err)
	}
}
