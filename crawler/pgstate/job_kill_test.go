package pgstate

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/crawler"
	"riskmine/internal/pgtest"
)

// The worker of TestJobTakenOverAfterKill reads its database and site
// from these.
const (
	jobWorkerDSN  = "RISKMINE_PGSTATE_JOB_WORKER_DSN"
	jobWorkerSite = "RISKMINE_PGSTATE_JOB_WORKER_SITE"
)

// Short lease times of the test cluster: a dead worker's job and source
// are taken over in about a second, not in the 30 s of production.
const (
	testLeaseTTL = time.Second
	testJobPoll  = 50 * time.Millisecond
)

// threadCount is the number of threads of jobForum's list.
const threadCount = 6

// jobForum serves a list of threadCount threads at /list and each at
// /t/N.html; the first request of /t/4.html waits until its client goes
// away, and is announced on stuck.
func jobForum(t *testing.T, stuck chan<- struct{}) *httptest.Server {
	t.Helper()
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`<html><body><ul>`)
		for i := 1; i <= threadCount; i++ {
			fmt.Fprintf(&b, `<li><a class="item" href="/t/%d.html">第%d帖</a></li>`, i, i)
		}
		b.WriteString(`</ul></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, b.String())
	})
	mux.HandleFunc("/t/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/t/4.html" {
			first := false
			once.Do(func() { first = true })
			if first {
				close(stuck)
				<-r.Context().Done()
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<html><head><title>帖子 %s</title></head><body><article><h1>帖子 %s</h1>
<p>小区门口的井盖松动了，晚上经过的居民差点踩空，希望有关部门尽快处理。这条帖子是 %s。</p>
<p>已经有好几位邻居在群里提到这个问题，物业说要等市政来修，大家出行注意安全。</p></article></body></html>`, r.URL.Path, r.URL.Path, r.URL.Path)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func jobSource(site string) crawler.Source {
	// One request at a time, so the run is caught after three threads.
	return crawler.Source{Name: "forum", Kind: crawler.KindHTML, Seeds: []string{site + "/list"}, Parallelism: 1,
		AllowPrivate: true, IgnoreRobots: true, Delay: time.Millisecond, List: crawler.ListSelectors{Items: "a.item"}}
}

// startJobScheduler starts a scheduler over st with the test cluster's
// lease times.
func startJobScheduler(t testing.TB, st *Store, site string, emit crawler.EmitFunc, o crawler.SchedulerOptions) *crawler.Scheduler {
	c, err := crawler.New(crawler.Options{Store: st, Timeout: 5 * time.Second, LeaseTTL: testLeaseTTL})
	if err != nil {
		t.Fatal(err)
	}
	o.Jobs, o.JobTTL, o.LeaderTTL, o.JobPoll = st, testLeaseTTL, testLeaseTTL, testJobPoll
	s, err := crawler.NewScheduler(c, []crawler.Source{jobSource(site)}, emit, o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	return s
}

// TestJobWorkerProcess is the worker node of TestJobTakenOverAfterKill:
// it leads, claims jobs and runs them, printing each page it hands on,
// until it is killed.
func TestJobWorkerProcess(t *testing.T) {
	dsn := os.Getenv(jobWorkerDSN)
	if dsn == "" {
		t.Skip("the worker process of TestJobTakenOverAfterKill; it runs only when that test starts it")
	}
	st, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	emit := func(_ context.Context, p crawler.Page) error {
		mu.Lock()
		fmt.Printf("emitted %s\n", p.URL)
		mu.Unlock()
		return nil
	}
	startJobScheduler(t, st, os.Getenv(jobWorkerSite), emit, crawler.SchedulerOptions{Elect: true, Work: true})
	mu.Lock()
	fmt.Printf("ready %s\n", st.Instance().ID)
	mu.Unlock()
	time.Sleep(time.Minute)
	t.Fatal("the worker was not killed")
}

// TestJobTakenOverAfterKill: an api node queues a "run now"; a worker
// process claims the job and is SIGKILLed in the middle of the run, three
// threads handed on; the worker node of this process, started before the
// kill, queues the job again once its claim expired, runs the source,
// resuming from the crawl state, and leads. Every thread is handed on
// exactly once over both workers.
func TestJobTakenOverAfterKill(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	stuck := make(chan struct{})
	site := jobForum(t, stuck)
	st := open(t, dsn) // this node, opened before the kill
	var mu sync.Mutex
	handed := map[string]int{}
	emit := func(_ context.Context, p crawler.Page) error {
		mu.Lock()
		handed[p.URL]++
		mu.Unlock()
		return nil
	}
	api := startJobScheduler(t, st, site.URL, emit, crawler.SchedulerOptions{})
	t.Cleanup(func() { api.Stop(ctx) })

	cmd := exec.Command(os.Args[0], "-test.run=^TestJobWorkerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), jobWorkerDSN+"="+dsn, jobWorkerSite+"="+site.URL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "ready ") {
		t.Fatalf("the worker said %q, %v", lines.Text(), lines.Err())
	}
	worker := strings.TrimPrefix(lines.Text(), "ready ")
	byWorker := map[string]int{}
	var readDone sync.WaitGroup
	readDone.Go(func() {
		for lines.Scan() {
			if u, ok := strings.CutPrefix(lines.Text(), "emitted "); ok {
				mu.Lock()
				byWorker[u]++
				mu.Unlock()
			}
		}
	})

	if !api.TriggerQueues() {
		t.Fatal("the api node runs its triggers itself")
	}
	if err := api.Trigger("forum"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stuck: // the worker waits for thread 4
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not reach thread 4")
	}
	for i := 1; i <= 3; i++ {
		u := fmt.Sprintf("%s/t/%d.html", site.URL, i)
		deadline := time.Now().Add(10 * time.Second)
		for p, err := st.Page(ctx, u); !p.Found; p, err = st.Page(ctx, u) {
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("thread %d not recorded by the worker: %v", i, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	jobs, err := st.RecentJobs(ctx, "forum", 0)
	if err != nil || len(jobs) != 1 || jobs[0].State != crawler.JobRunning || !strings.HasPrefix(jobs[0].Holder, worker+"/") {
		t.Fatalf("before the kill: %+v, %v; want the worker's running job", jobs, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed = true
	killedAt := time.Now()
	cmd.Wait()
	readDone.Wait()

	node := startJobScheduler(t, st, site.URL, emit, crawler.SchedulerOptions{Elect: true, Work: true})
	t.Cleanup(func() { node.Stop(ctx) })
	var job crawler.Job
	deadline := time.Now().Add(10 * time.Second)
	for !job.State.Finished() {
		if time.Now().After(deadline) {
			t.Fatalf("the killed worker's job was not run again: %+v", job)
		}
		time.Sleep(20 * time.Millisecond)
		js, err := st.RecentJobs(ctx, "forum", 1)
		if err != nil {
			t.Fatal(err)
		}
		job = js[0]
	}
	t.Logf("the killed worker's job was run again and finished %s after the kill (lease and claim TTL %s)",
		time.Since(killedAt).Round(time.Millisecond), testLeaseTTL)
	if job.State != crawler.JobDone || job.Attempts != 2 || strings.HasPrefix(job.Holder, worker+"/") {
		t.Fatalf("the job after the takeover: %+v; want done at the second attempt by this node", job)
	}
	runs, err := st.Runs(ctx, "forum", 0)
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs: %+v, %v; want the killed one and the takeover", runs, err)
	}
	rerun, killedRun := runs[0], runs[1]
	if rerun.ID != job.RunID || rerun.New != threadCount-3 || rerun.Error != "" {
		t.Fatalf("the rerun %+v; want the %d threads the killed worker had not handed on", rerun, threadCount-3)
	}
	if !killedRun.Abandoned || !strings.Contains(killedRun.Error, worker) {
		t.Fatalf("the killed worker's run %+v; want it abandoned, naming the worker", killedRun)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i <= threadCount; i++ {
		u := fmt.Sprintf("%s/t/%d.html", site.URL, i)
		if n := byWorker[u] + handed[u]; n != 1 {
			t.Errorf("thread %d handed on %d times (killed worker %d, this node %d); want once", i, n, byWorker[u], handed[u])
		}
	}
	deadline = time.Now().Add(5 * time.Second)
	for !node.Leader() {
		if time.Now().After(deadline) {
			t.Fatal("this node did not take the dead worker's leadership")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
