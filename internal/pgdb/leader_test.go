package pgdb_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
)

// node is one caller of Lead: how often it led, and whether it leads now.
type node struct {
	name    string
	leading atomic.Bool
	terms   atomic.Int32
	stop    context.CancelFunc
	done    chan struct{}
}

func startNode(t *testing.T, dsn, name string, running *atomic.Int32, overlap *atomic.Bool) *node {
	pool := open(t, dsn)
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{name: name, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		pgdb.Lead(ctx, pool, "scans", func(ctx context.Context) {
			if running.Add(1) > 1 {
				overlap.Store(true)
			}
			n.terms.Add(1)
			n.leading.Store(true)
			<-ctx.Done()
			n.leading.Store(false)
			running.Add(-1)
		}, nil)
	}()
	t.Cleanup(func() { cancel(); <-n.done })
	return n
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLeadOneAtATimeAndTakeOver(t *testing.T) {
	dsn := pgtest.DSN(t)
	var running atomic.Int32
	var overlap atomic.Bool
	a := startNode(t, dsn, "a", &running, &overlap)
	waitUntil(t, "a to lead", 10*time.Second, a.leading.Load)
	b := startNode(t, dsn, "b", &running, &overlap)
	time.Sleep(2 * pgdb.LeaderCheck) // b tries at least once while a leads
	if b.leading.Load() {
		t.Fatal("b leads while a holds the lock")
	}
	// a stops: b takes over within one check.
	a.stop()
	<-a.done
	waitUntil(t, "b to take over", 2*pgdb.LeaderCheck+2*time.Second, b.leading.Load)
	if overlap.Load() {
		t.Fatal("two nodes ran the leader's work at once")
	}
}

func TestLeadLostConnectionEndsTheTerm(t *testing.T) {
	dsn := pgtest.DSN(t)
	var running atomic.Int32
	var overlap atomic.Bool
	a := startNode(t, dsn, "a", &running, &overlap)
	waitUntil(t, "a to lead", 10*time.Second, a.leading.Load)
	b := startNode(t, dsn, "b", &running, &overlap)
	// The server ends a's session (as when a's host is cut off and the
	// server notices): a's term ends at its next check, and a new term
	// begins on whichever node takes the lock first.
	admin := open(t, dsn)
	if _, err := admin.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a new term", 3*pgdb.LeaderCheck+2*time.Second, func() bool {
		return a.terms.Load()+b.terms.Load() == 2 && running.Load() == 1
	})
}
