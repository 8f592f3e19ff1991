package pgstate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/crawler"
	"riskmine/internal/pgtest"
)

// forum serves a list of three threads at /list and each thread at
// /t/N.html; while hold is open the list waits, so a run can be caught in
// the middle.
func forum(t *testing.T, hold <-chan struct{}, listed chan<- struct{}) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	var once sync.Once
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(listed) })
		<-hold
		var b strings.Builder
		b.WriteString(`<html><body><ul>`)
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(&b, `<li><a class="item" href="/t/%d.html">第%d帖</a></li>`, i, i)
		}
		b.WriteString(`</ul></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(b.String()))
	})
	mux.HandleFunc("/t/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<html><head><title>帖子 %s</title></head><body><article><h1>帖子 %s</h1>
<p>小区门口的井盖松动了，晚上经过的居民差点踩空，希望有关部门尽快处理。这条帖子是 %s。</p>
<p>已经有好几位邻居在群里提到这个问题，物业说要等市政来修，大家出行注意安全。</p></article></body></html>`, r.URL.Path, r.URL.Path, r.URL.Path)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestCrawlerOnTwoNodes runs the real crawler on two nodes sharing one
// PostgreSQL schema: while node a crawls the forum, node b is refused the
// same source with an error naming a's process; b then sees a's run and
// pages, and crawls again with nothing new.
func TestCrawlerOnTwoNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	hold, listed := make(chan struct{}), make(chan struct{})
	srv := forum(t, hold, listed)
	src := crawler.Source{Name: "forum", Kind: crawler.KindHTML, Seeds: []string{srv.URL + "/list"},
		AllowPrivate: true, IgnoreRobots: true, Delay: time.Millisecond, List: crawler.ListSelectors{Items: "a.item"}}
	nodes := make([]*crawler.Crawler, 2)
	states := make([]*Store, 2)
	for i := range nodes {
		states[i] = open(t, dsn)
		c, err := crawler.New(crawler.Options{Store: states[i], Timeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = c
	}
	ctx := context.Background()
	var mu sync.Mutex
	emitted := map[string]int{}
	emit := func(_ context.Context, p crawler.Page) error {
		mu.Lock()
		emitted[p.URL]++
		mu.Unlock()
		return nil
	}

	type result struct {
		run crawler.Run
		err error
	}
	first := make(chan result, 1)
	go func() {
		r, err := nodes[0].Run(ctx, src, emit, nil)
		first <- result{r, err}
	}()
	<-listed // a holds the lease and is fetching the list
	_, err := nodes[1].Run(ctx, src, emit, nil)
	var held *crawler.LeaseHeldError
	if !errors.As(err, &held) || !errors.Is(err, crawler.ErrRunning) || held.Instance == nil || held.Instance.ID != states[0].Instance().ID {
		close(hold)
		<-first
		t.Fatalf("the second node during the first's run: %v; want crawler.ErrRunning naming %s", err, states[0].Instance().ID)
	}
	close(hold)
	res := <-first
	if res.err != nil || res.run.New != 3 {
		t.Fatalf("first node's run: %+v, %v; want 3 new pages", res.run, res.err)
	}
	if len(emitted) != 3 {
		t.Fatalf("pages handed on: %v", emitted)
	}
	if h, err := states[1].LeaseHolder(ctx, "forum"); err != nil || h.Holder != "(released just now)" {
		t.Fatalf("the lease after the run: %+v, %v", h, err)
	}
	last, ok, err := states[1].LastRun(ctx, "forum")
	if err != nil || !ok || last.ID != res.run.ID || last.New != 3 || last.Ended.IsZero() {
		t.Fatalf("the run as the other node sees it: %+v %v %v", last, ok, err)
	}
	again, err := nodes[1].Run(ctx, src, emit, nil)
	if err != nil || again.New != 0 || again.Changed != 0 {
		t.Fatalf("the other node's run over the same forum: %+v, %v; want nothing new", again, err)
	}
	for u, n := range emitted {
		if n != 1 {
			t.Errorf("%s handed on %d times", u, n)
		}
	}
}
