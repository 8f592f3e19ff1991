package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/crawler"
)

// StateJobs is a crawl state that also keeps the job queue, in one
// database: a claim looks at the state's leases.
type StateJobs interface {
	crawler.State
	crawler.Jobs
}

// NewStateJobs returns an empty state with its job queue; it closes it in
// t.Cleanup.
type NewStateJobs func(t *testing.T) StateJobs

// RunJobs runs the job queue's conformance suite (the contract in
// crawler/job.go) against stores made by newStore.
func RunJobs(t *testing.T, newStore NewStateJobs) {
	tests := []struct {
		name string
		fn   func(*testing.T, StateJobs)
	}{
		{"Enqueue", testJobEnqueue},
		{"ClaimOrder", testJobClaimOrder},
		{"ClaimSkipsBusySource", testJobClaimSkipsBusySource},
		{"HeartbeatFinish", testJobHeartbeatFinish},
		{"Requeue", testJobRequeue},
		{"RequeueBehindQueued", testJobRequeueBehindQueued},
		{"RecentPurge", testJobRecentPurge},
		{"ClaimRace", func(t *testing.T, s StateJobs) { testJobClaimRace(t, s, s) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// NewStateJobsNodes returns two stores on one empty storage, as two nodes
// open it; it closes both in t.Cleanup.
type NewStateJobsNodes func(t *testing.T) (a, b StateJobs)

// RunJobsNodes runs the job cases that need two nodes on one storage: one
// job per key however many nodes enqueue it, one claim per job however
// many nodes claim, and a job whose claim expired taken over by the other
// node.
func RunJobsNodes(t *testing.T, newNodes NewStateJobsNodes) {
	tests := []struct {
		name string
		fn   func(*testing.T, StateJobs, StateJobs)
	}{
		{"EnqueueRace", testJobsNodesEnqueueRace},
		{"ClaimRace", testJobClaimRace},
		{"TakeOver", testJobsNodesTakeOver},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newNodes(t)
			tc.fn(t, a, b)
		})
	}
}

func enqueue(t *testing.T, s crawler.Jobs, source, key string, at time.Time) (crawler.Job, bool) {
	t.Helper()
	j, added, err := s.EnqueueJob(context.Background(), source, key, crawler.JobScheduled, at)
	if err != nil {
		t.Fatalf("EnqueueJob(%s, %s): %v", source, key, err)
	}
	return j, added
}

func claim(t *testing.T, s crawler.Jobs, holder string, at time.Time, ttl time.Duration) (crawler.Job, bool) {
	t.Helper()
	j, ok, err := s.ClaimJob(context.Background(), holder, at, ttl)
	if err != nil {
		t.Fatalf("ClaimJob(%s): %v", holder, err)
	}
	return j, ok
}

func recent(t *testing.T, s crawler.Jobs, source string) []crawler.Job {
	t.Helper()
	js, err := s.RecentJobs(context.Background(), source, 0)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func testJobEnqueue(t *testing.T, s StateJobs) {
	j, added := enqueue(t, s, "forum", "forum@08:00", t0)
	if !added || j.ID == 0 || j.Source != "forum" || j.Key != "forum@08:00" || j.Reason != crawler.JobScheduled ||
		j.State != crawler.JobQueued || !j.Enqueued.Equal(t0) || j.Attempts != 0 || j.Holder != "" {
		t.Fatalf("a new job: %+v added %v", j, added)
	}
	// The same key again (another node's tick): the job kept.
	again, added := enqueue(t, s, "forum", "forum@08:00", t0.Add(time.Second))
	if added || again.ID != j.ID || !again.Enqueued.Equal(t0) {
		t.Fatalf("the key enqueued again: %+v added %v; want job %d kept", again, added, j.ID)
	}
	// A later tick while the first waits: one queued job per source.
	later, added := enqueue(t, s, "forum", "forum@08:10", t0.Add(10*time.Minute))
	if added || later.ID != j.ID {
		t.Fatalf("a second job of a source with one queued: %+v added %v; want job %d", later, added, j.ID)
	}
	other, added := enqueue(t, s, "news", "news@08:00", t0)
	if !added || other.ID == j.ID {
		t.Fatalf("a job of another source: %+v added %v", other, added)
	}
	if _, _, err := s.EnqueueJob(context.Background(), "forum", "", crawler.JobManual, t0); err == nil {
		t.Fatal("a job without a key was enqueued")
	}
	if js := recent(t, s, ""); len(js) != 2 {
		t.Fatalf("jobs kept: %+v; want 2", js)
	}
	// Once the first is claimed, the next tick queues.
	if c, ok := claim(t, s, "w/1", t0.Add(time.Minute), time.Minute); !ok || c.ID != j.ID {
		t.Fatalf("claim: %+v %v", c, ok)
	}
	next, added := enqueue(t, s, "forum", "forum@08:10", t0.Add(10*time.Minute))
	if !added || next.ID == j.ID {
		t.Fatalf("the next tick while the first job runs: %+v added %v", next, added)
	}
	// A key stays taken after its job ends.
	if _, added := enqueue(t, s, "forum", "forum@08:00", t0.Add(11*time.Minute)); added {
		t.Fatal("the key of a running job was enqueued again")
	}
}

func testJobClaimOrder(t *testing.T, s StateJobs) {
	ttl := 30 * time.Second
	var ids []int64
	for i, src := range []string{"forum", "news", "gov"} {
		j, _ := enqueue(t, s, src, src+"@1", t0.Add(time.Duration(i)*time.Second))
		ids = append(ids, j.ID)
	}
	at := t0.Add(time.Minute)
	for i, want := range ids {
		j, ok := claim(t, s, fmt.Sprintf("w/%d", i), at, ttl)
		if !ok || j.ID != want {
			t.Fatalf("claim %d: %+v %v; want job %d (oldest first)", i, j, ok, want)
		}
		if j.State != crawler.JobRunning || j.Holder != fmt.Sprintf("w/%d", i) || j.Attempts != 1 ||
			!j.Claimed.Equal(at) || !j.ClaimUntil.Equal(at.Add(ttl)) {
			t.Fatalf("a claimed job: %+v", j)
		}
	}
	if j, ok := claim(t, s, "w/9", at, ttl); ok {
		t.Fatalf("a claim of an empty queue got %+v", j)
	}
	for _, j := range recent(t, s, "") {
		if j.State != crawler.JobRunning {
			t.Fatalf("after the claims: %+v", j)
		}
	}
}

func testJobClaimSkipsBusySource(t *testing.T, s StateJobs) {
	ttl := 30 * time.Second
	// forum runs outside the queue (a run holding its lease).
	if !tryLease(t, s, "forum", "x/run", t0, ttl) {
		t.Fatal("a free lease was refused")
	}
	forum, _ := enqueue(t, s, "forum", "forum@1", t0)
	news, _ := enqueue(t, s, "news", "news@1", t0)
	if j, ok := claim(t, s, "w/1", t0.Add(time.Second), ttl); !ok || j.ID != news.ID {
		t.Fatalf("claim while forum's lease is live: %+v %v; want news's job", j, ok)
	}
	if j, ok := claim(t, s, "w/1", t0.Add(2*time.Second), ttl); ok {
		t.Fatalf("forum's job was claimed while its lease is live: %+v", j)
	}
	// The lease expires unrenewed: forum's job can go.
	j, ok := claim(t, s, "w/2", t0.Add(ttl+time.Second), ttl)
	if !ok || j.ID != forum.ID {
		t.Fatalf("claim after forum's lease expired: %+v %v", j, ok)
	}
	// A second job of forum waits while the first's claim is live, even
	// before its run takes the lease.
	second, added := enqueue(t, s, "forum", "forum@2", t0.Add(ttl+2*time.Second))
	if !added {
		t.Fatal("a job of a source running was not queued")
	}
	if j, ok := claim(t, s, "w/3", t0.Add(ttl+3*time.Second), ttl); ok {
		t.Fatalf("a second job of a source with a live claim was claimed: %+v", j)
	}
	done := j
	done.State = crawler.JobDone
	if ok, err := s.FinishJob(context.Background(), done, t0.Add(ttl+4*time.Second)); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	if j, ok := claim(t, s, "w/3", t0.Add(ttl+5*time.Second), ttl); !ok || j.ID != second.ID {
		t.Fatalf("the second job after the first finished: %+v %v", j, ok)
	}
}

func testJobHeartbeatFinish(t *testing.T, s StateJobs) {
	ctx := context.Background()
	ttl := 30 * time.Second
	enqueue(t, s, "forum", "forum@1", t0)
	j, _ := claim(t, s, "w/1", t0, ttl)
	if ok, err := s.HeartbeatJob(ctx, j.ID, "w/1", t0.Add(20*time.Second), ttl); err != nil || !ok {
		t.Fatalf("the holder's heartbeat: %v %v", ok, err)
	}
	if ok, err := s.HeartbeatJob(ctx, j.ID, "w/2", t0.Add(20*time.Second), ttl); err != nil || ok {
		t.Fatalf("another's heartbeat: %v %v", ok, err)
	}
	if got := recent(t, s, "forum")[0]; !got.ClaimUntil.Equal(t0.Add(50*time.Second)) || !got.Claimed.Equal(t0) {
		t.Fatalf("after the heartbeat: %+v; claim until 50 s, claimed at 0", got)
	}
	// Renewed: not expired at 40 s.
	if n, err := s.RequeueExpiredJobs(ctx, t0.Add(40*time.Second)); err != nil || n != 0 {
		t.Fatalf("requeue of a renewed claim: %d %v", n, err)
	}
	bad := j
	bad.State = crawler.JobRunning
	if _, err := s.FinishJob(ctx, bad, t0); err == nil {
		t.Fatal("a job finished as running")
	}
	other := j
	other.Holder, other.State = "w/2", crawler.JobDone
	if ok, err := s.FinishJob(ctx, other, t0.Add(time.Minute)); err != nil || ok {
		t.Fatalf("finish by another holder: %v %v", ok, err)
	}
	fin := j
	fin.State, fin.RunID, fin.Error = crawler.JobFailed, 42, "crawler: boom"
	if ok, err := s.FinishJob(ctx, fin, t0.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	got := recent(t, s, "forum")[0]
	if got.State != crawler.JobFailed || got.RunID != 42 || got.Error != "crawler: boom" || !got.Finished.Equal(t0.Add(time.Minute)) {
		t.Fatalf("a finished job: %+v", got)
	}
	if ok, err := s.FinishJob(ctx, fin, t0.Add(2*time.Minute)); err != nil || ok {
		t.Fatalf("finished twice: %v %v", ok, err)
	}
	if ok, err := s.HeartbeatJob(ctx, j.ID, "w/1", t0.Add(time.Minute), ttl); err != nil || ok {
		t.Fatalf("a heartbeat of a finished job: %v %v", ok, err)
	}
}

func testJobRequeue(t *testing.T, s StateJobs) {
	ctx := context.Background()
	ttl := 30 * time.Second
	enqueue(t, s, "forum", "forum@1", t0)
	at := t0
	for attempt := 1; attempt <= crawler.JobMaxAttempts; attempt++ {
		holder := fmt.Sprintf("w%d/run", attempt)
		j, ok := claim(t, s, holder, at, ttl)
		if !ok || j.Attempts != attempt {
			t.Fatalf("claim %d: %+v %v", attempt, j, ok)
		}
		if n, err := s.RequeueExpiredJobs(ctx, at.Add(ttl)); err != nil || n != 0 {
			t.Fatalf("requeue at the claim's last moment: %d %v", n, err)
		}
		at = at.Add(ttl + time.Millisecond)
		n, err := s.RequeueExpiredJobs(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		got := recent(t, s, "forum")[0]
		if attempt < crawler.JobMaxAttempts {
			if n != 1 || got.State != crawler.JobQueued || !strings.Contains(got.Error, holder) {
				t.Fatalf("after claim %d expired: %d requeued, %+v; want it queued, naming %s", attempt, n, got, holder)
			}
			if ok, err := s.HeartbeatJob(ctx, j.ID, holder, at, ttl); err != nil || ok {
				t.Fatalf("the expired holder renewed a requeued job: %v %v", ok, err)
			}
			j.State = crawler.JobDone
			if ok, err := s.FinishJob(ctx, j, at); err != nil || ok {
				t.Fatalf("the expired holder finished a requeued job: %v %v", ok, err)
			}
			continue
		}
		if n != 0 || got.State != crawler.JobFailed || !strings.Contains(got.Error, fmt.Sprintf("after %d attempts", attempt)) || got.Finished.IsZero() {
			t.Fatalf("after the last claim expired: %d requeued, %+v; want it failed", n, got)
		}
	}
	if j, ok := claim(t, s, "w9/run", at, ttl); ok {
		t.Fatalf("a failed job was claimed: %+v", j)
	}
}

func testJobRequeueBehindQueued(t *testing.T, s StateJobs) {
	ctx := context.Background()
	ttl := 30 * time.Second
	first, _ := enqueue(t, s, "forum", "forum@1", t0)
	claim(t, s, "w/1", t0, ttl)
	second, _ := enqueue(t, s, "forum", "forum@2", t0.Add(time.Second))
	if n, err := s.RequeueExpiredJobs(ctx, t0.Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("requeue with a later job queued: %d %v", n, err)
	}
	js := recent(t, s, "forum")
	if len(js) != 2 || js[0].ID != second.ID || js[0].State != crawler.JobQueued || js[1].ID != first.ID || js[1].State != crawler.JobFailed {
		t.Fatalf("jobs: %+v; want the later queued, the expired failed", js)
	}
}

func testJobRecentPurge(t *testing.T, s StateJobs) {
	ctx := context.Background()
	ttl := time.Minute
	for i, src := range []string{"a", "b", "c", "a"} {
		at := t0.Add(time.Duration(i) * time.Hour)
		enqueue(t, s, src, fmt.Sprintf("%s@%d", src, i), at)
		if i < 3 {
			j, ok := claim(t, s, "w/1", at, ttl)
			if !ok {
				t.Fatalf("claim %d", i)
			}
			if i < 2 {
				j.State = crawler.JobDone
				if ok, err := s.FinishJob(ctx, j, at.Add(time.Minute)); err != nil || !ok {
					t.Fatalf("finish %d: %v %v", i, ok, err)
				}
			}
		}
	}
	all := recent(t, s, "")
	if len(all) != 4 || all[0].Source != "a" || all[0].State != crawler.JobQueued || all[3].Key != "a@0" {
		t.Fatalf("recent jobs: %+v; want 4, newest first", all)
	}
	if as := recent(t, s, "a"); len(as) != 2 || as[0].Key != "a@3" || as[1].Key != "a@0" {
		t.Fatalf("recent jobs of a: %+v", as)
	}
	if one, err := s.RecentJobs(ctx, "", 1); err != nil || len(one) != 1 || one[0].Key != "a@3" {
		t.Fatalf("limited to 1: %+v %v", one, err)
	}
	// Purge before 2 h: the job finished at 0 h 1 min and the one at 1 h 1 min.
	n, err := s.PurgeJobs(ctx, t0.Add(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("purge: %d %v; want the two finished jobs", n, err)
	}
	left := recent(t, s, "")
	if len(left) != 2 || left[0].Key != "a@3" || left[1].Key != "c@2" {
		t.Fatalf("after the purge: %+v; want the queued and the running job", left)
	}
	if n, err := s.PurgeJobs(ctx, t0.Add(100*time.Hour)); err != nil || n != 0 {
		t.Fatalf("a purge took unfinished jobs: %d %v", n, err)
	}
}

// testJobClaimRace has claimers on a and b (the same store, or two nodes)
// take jobs until none is left: every job is claimed exactly once.
func testJobClaimRace(t *testing.T, a, b StateJobs) {
	const jobs, perNode = 24, 4
	want := map[int64]bool{}
	for i := range jobs {
		j, _ := enqueue(t, a, fmt.Sprintf("src%02d", i), fmt.Sprintf("src%02d@1", i), t0)
		want[j.ID] = true
	}
	var mu sync.Mutex
	got := map[int64]int{}
	var wg sync.WaitGroup
	var failed atomic.Value
	for i, s := range []StateJobs{a, b, a, b, a, b, a, b}[:2*perNode] {
		wg.Go(func() {
			for {
				j, ok, err := s.ClaimJob(context.Background(), fmt.Sprintf("%s/%d", s.Instance().ID, i), t0.Add(time.Second), time.Minute)
				if err != nil {
					failed.Store(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				got[j.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	if len(got) != jobs {
		t.Fatalf("%d jobs claimed, want %d", len(got), jobs)
	}
	for id, n := range got {
		if n != 1 || !want[id] {
			t.Fatalf("job %d claimed %d times", id, n)
		}
	}
}

func testJobsNodesEnqueueRace(t *testing.T, a, b StateJobs) {
	const rounds, perNode = 5, 4
	for round := range rounds {
		var added atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, 2*perNode)
		key := fmt.Sprintf("forum@%d", round)
		for _, s := range []StateJobs{a, b, a, b, a, b, a, b}[:2*perNode] {
			wg.Go(func() {
				_, ok, err := s.EnqueueJob(context.Background(), "forum", key, crawler.JobScheduled, t0)
				if err != nil {
					errs <- err
				}
				if ok {
					added.Add(1)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := added.Load(); n != 1 {
			t.Fatalf("round %d: %d enqueues of one tick added a job, want 1", round, n)
		}
		// Take it out of the queue so the next round's tick can be queued.
		j, ok := claim(t, b, "w/1", t0, time.Minute)
		if !ok || j.Key != key {
			t.Fatalf("round %d: claim %+v %v", round, j, ok)
		}
		j.State = crawler.JobDone
		if ok, err := a.FinishJob(context.Background(), j, t0); err != nil || !ok {
			t.Fatalf("finish: %v %v", ok, err)
		}
	}
	if js := recent(t, a, "forum"); len(js) != rounds {
		t.Fatalf("%d jobs, want one per tick (%d)", len(js), rounds)
	}
}

// testJobsNodesTakeOver: a claims a job and takes its source's lease, then
// stops renewing both (it died); b finds nothing to claim while they live,
// requeues the job once the claim expired, claims it once the lease
// expired too, and a, were it only paused, can no longer renew or finish.
func testJobsNodesTakeOver(t *testing.T, a, b StateJobs) {
	ctx := context.Background()
	ttl := 30 * time.Second
	enqueue(t, b, "forum", "forum@1", t0)
	ha := a.Instance().ID + "/run"
	j, ok := claim(t, a, ha, t0, ttl)
	if !ok {
		t.Fatal("a claimed nothing")
	}
	if !tryLease(t, a, "forum", ha, t0, ttl) {
		t.Fatal("a's lease was refused")
	}
	hb := b.Instance().ID + "/run"
	for at := t0; at.Before(t0.Add(ttl)); at = at.Add(10 * time.Second) {
		if n, err := b.RequeueExpiredJobs(ctx, at); err != nil || n != 0 {
			t.Fatalf("b requeued a live claim: %d %v", n, err)
		}
		if got, ok := claim(t, b, hb, at, ttl); ok {
			t.Fatalf("b claimed %+v during a's claim", got)
		}
	}
	// a renews its lease once more than its claim: b may requeue the job
	// but not start it while the lease lives.
	if !tryLease(t, a, "forum", ha, t0.Add(20*time.Second), ttl) {
		t.Fatal("a's lease renewal was refused")
	}
	at := t0.Add(ttl + time.Second)
	if n, err := b.RequeueExpiredJobs(ctx, at); err != nil || n != 1 {
		t.Fatalf("b's requeue after a's claim expired: %d %v", n, err)
	}
	if got, ok := claim(t, b, hb, at, ttl); ok {
		t.Fatalf("b claimed %+v while a's lease lives", got)
	}
	at = t0.Add(20*time.Second + ttl + time.Second)
	got, ok := claim(t, b, hb, at, ttl)
	if !ok || got.ID != j.ID || got.Attempts != 2 || got.Holder != hb {
		t.Fatalf("b's claim after the lease expired: %+v %v", got, ok)
	}
	if !tryLease(t, b, "forum", hb, at, ttl) {
		t.Fatal("b could not take the expired lease")
	}
	if ok, err := a.HeartbeatJob(ctx, j.ID, ha, at, ttl); err != nil || ok {
		t.Fatalf("a renewed a job taken over: %v %v", ok, err)
	}
	j.State = crawler.JobDone
	if ok, err := a.FinishJob(ctx, j, at); err != nil || ok {
		t.Fatalf("a finished a job taken over: %v %v", ok, err)
	}
	got.State = crawler.JobDone
	if ok, err := b.FinishJob(ctx, got, at.Add(time.Second)); err != nil || !ok {
		t.Fatalf("b's finish: %v %v", ok, err)
	}
}
