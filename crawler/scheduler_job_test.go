package crawler

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jobNode is one node of a test cluster on one SQLite file.
type jobNode struct {
	store *Store
	sched *Scheduler
	sink  *pageSink
}

func startJobNode(t *testing.T, path string, srcs []Source, opts SchedulerOptions) *jobNode {
	t.Helper()
	st, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := New(Options{Store: st, Timeout: 5 * time.Second, LeaseTTL: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	opts.Jobs = st
	if opts.JobPoll == 0 {
		opts.JobPoll = 20 * time.Millisecond
	}
	opts.JobTTL, opts.LeaderTTL = 600*time.Millisecond, 300*time.Millisecond
	n := &jobNode{store: st, sink: &pageSink{}}
	n.sched, err = NewScheduler(c, srcs, n.sink.emit, opts)
	if err != nil {
		t.Fatal(err)
	}
	n.sched.Start()
	t.Cleanup(func() { n.sched.Stop(context.Background()) })
	return n
}

func TestSchedulerJobOptionsChecked(t *testing.T) {
	c, _ := newTestCrawler(t, nil)
	for _, o := range []SchedulerOptions{{Elect: true}, {Work: true}} {
		_, err := NewScheduler(c, nil, (&pageSink{}).emit, o)
		if err == nil || !strings.Contains(err.Error(), "need a job queue") {
			t.Errorf("options %+v without Jobs: %v; want one line naming what is missing", o, err)
		}
	}
	site := newSite(t, nil)
	_, err := NewScheduler(c, []Source{htmlSource(LeaderLease, site, "/list")}, (&pageSink{}).emit, SchedulerOptions{})
	if err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("a source named %s: %v; want it refused", LeaderLease, err)
	}
}

// An api node (Jobs, no Work) queues a "run now"; a worker on the same
// database claims it, runs the source and records the job with its run.
func TestSchedulerTriggerOnApiNodeQueues(t *testing.T) {
	site := newSite(t, map[string]http.HandlerFunc{
		"/list": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(`<a class=item href="/a/1.html">1</a><a class=item href="/a/2.html">2</a>`))
		},
		"/a/": func(w http.ResponseWriter, r *http.Request) {
			writeHTML(w, "text/html", []byte(article("燃气泄漏"+r.URL.Path, zhPara)))
		},
	})
	path := filepath.Join(t.TempDir(), "riskmine.db")
	srcs := []Source{htmlSource("forum", site, "/list")}
	api := startJobNode(t, path, srcs, SchedulerOptions{})
	if !api.sched.TriggerQueues() {
		t.Fatal("an api node does not say its triggers are queued")
	}
	if err := api.sched.Trigger("forum"); err != nil {
		t.Fatal(err)
	}
	if err := api.sched.Trigger("forum"); err != nil {
		t.Fatalf("a second run now while one is queued: %v", err)
	}
	if err := api.sched.Trigger("nope"); !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("an unknown source: %v", err)
	}
	jobs, err := api.sched.Jobs(context.Background(), "", 0)
	if err != nil || len(jobs) != 1 || jobs[0].State != JobQueued || jobs[0].Reason != JobManual {
		t.Fatalf("queued jobs: %+v, %v; want one manual job", jobs, err)
	}
	worker := startJobNode(t, path, srcs, SchedulerOptions{Work: true})
	if worker.sched.TriggerQueues() {
		t.Fatal("a worker says its triggers are queued")
	}
	var done Job
	waitFor(t, 10*time.Second, "the job to finish", func() bool {
		js, err := api.sched.Jobs(context.Background(), "forum", 1)
		if err != nil || len(js) == 0 {
			return false
		}
		done = js[0]
		return done.State.Finished()
	})
	run, ok, err := api.sched.LastRun(context.Background(), "forum")
	if err != nil || !ok {
		t.Fatalf("last run: %v %v", ok, err)
	}
	if done.State != JobDone || done.RunID != run.ID || done.Attempts != 1 || !strings.HasPrefix(done.Holder, worker.store.Instance().ID+"/") {
		t.Fatalf("the finished job %+v; want done by the worker, with run %d", done, run.ID)
	}
	if run.New != 2 || len(worker.sink.take()) != 2 || len(api.sink.take()) != 0 {
		t.Fatalf("the run %+v; want the worker to hand on the two pages", run)
	}
}

// Of two electable nodes one leads; only its cron ticks enqueue, one job
// per tick however many nodes tick; when it stops, the other leads.
func TestSchedulerOneLeaderEnqueues(t *testing.T) {
	site := newSite(t, nil)
	path := filepath.Join(t.TempDir(), "riskmine.db")
	src := htmlSource("forum", site, "/list")
	src.Schedule = "0 3 * * *" // never reached during the test: ticks are called below
	a := startJobNode(t, path, []Source{src}, SchedulerOptions{Elect: true})
	b := startJobNode(t, path, []Source{src}, SchedulerOptions{Elect: true})
	waitFor(t, 5*time.Second, "a leader", func() bool { return a.sched.Leader() || b.sched.Leader() })
	lead, other := a, b
	if b.sched.Leader() {
		lead, other = b, a
	}
	if other.sched.Leader() {
		t.Fatal("two leaders")
	}
	other.sched.scheduled("forum")
	if js, _ := other.sched.Jobs(context.Background(), "", 0); len(js) != 0 {
		t.Fatalf("a node that does not lead enqueued %+v", js)
	}
	lead.sched.scheduled("forum")
	lead.sched.scheduled("forum") // the same tick again
	js, err := lead.sched.Jobs(context.Background(), "", 0)
	if err != nil || len(js) != 1 || js[0].Reason != JobScheduled || !strings.HasPrefix(js[0].Key, "forum@") {
		t.Fatalf("jobs after the leader's ticks: %+v, %v; want one scheduled job", js, err)
	}
	if err := lead.sched.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the other node to lead", other.sched.Leader)
}
