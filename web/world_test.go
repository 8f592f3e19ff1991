package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/crawler"
	"riskmine/index"
	"riskmine/nlp"
)

// The analyzer is read-only and safe for concurrent use: one per binary.
var (
	analyzerOnce sync.Once
	analyzer     *nlp.Analyzer
	analyzerErr  error
)

func testAnalyzer(t testing.TB) *nlp.Analyzer {
	t.Helper()
	analyzerOnce.Do(func() { analyzer, analyzerErr = nlp.NewAnalyzer(nlp.Options{}) })
	if analyzerErr != nil {
		t.Fatal(analyzerErr)
	}
	return analyzer
}

// world is a server wired to real components in a temp dir: the alerts
// SQLite store and dispatcher, a Bleve index, the nlp analyzer and a crawl
// scheduler over a small RSS site on loopback, joined by a little pipeline
// like the one cmd/riskmine runs.
type world struct {
	*testEnv
	leads    *alerts.SQLStore
	idx      *index.Index
	disp     *alerts.Dispatcher
	sched    *crawler.Scheduler
	site     *httptest.Server
	receiver *httptest.Server
	received chan *http.Request
	secret   string
	dbPath   string
}

const hostileTitle = `<script>window.__pwned=1</script>燃气泄漏`
const hostileText = `小区楼道燃气泄漏，气味很大<img src=x onerror="window.__pwned=1">已疏散居民。`

// sitePosts are the posts of the loopback RSS site.
var sitePosts = []struct{ path, title, text string }{
	{"/p/1", "仓山区一仓库发生火灾", "今天下午仓山区一仓库起火，浓烟滚滚，消防车已赶到现场灭火，暂无人员伤亡。"},
	{"/p/2", "周末菜市场见闻", "今天去菜市场买了新鲜的蔬菜和水果，价格还算实惠。"},
}

func newWorld(t testing.TB, opts Options) *world {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "riskmine.db")
	w := &world{dbPath: db, received: make(chan *http.Request, 16), secret: "whsec_dGVzdC1zZWNyZXQta2V5LTEyMzQ1Ng=="}
	w.receiver = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		select {
		case w.received <- r:
		default:
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.receiver.Close)
	endpoints := []alerts.Endpoint{{Name: "cases", URL: w.receiver.URL + "/hook", Secret: w.secret, Format: "standard", AllowPrivate: true}}
	var err error
	// One clock for the lead store (SLA, overdue) and the web server.
	clock := &testClock{t: time.Now()}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	w.leads, err = alerts.OpenSQLite(db, alerts.Options{Endpoints: endpoints, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.leads.Close() })
	w.disp, err = alerts.NewDispatcher(w.leads, endpoints, alerts.DispatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.idx, err = index.Open(index.Options{Path: filepath.Join(dir, "index"), FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.idx.Close() })
	an := testAnalyzer(t)

	w.site = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/feed.xml" {
			rw.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
			var items strings.Builder
			for _, p := range sitePosts {
				fmt.Fprintf(&items, "<item><title>%s</title><link>%s%s</link><pubDate>%s</pubDate></item>", p.title, "http://"+r.Host, p.path, time.Now().UTC().Format(time.RFC1123Z))
			}
			fmt.Fprintf(rw, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>论坛</title>%s</channel></rss>`, items.String())
			return
		}
		for _, p := range sitePosts {
			if r.URL.Path == p.path {
				rw.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(rw, `<!doctype html><html><head><title>%s</title></head><body><article><h1>%s</h1><p>%s</p><p>%s</p></article></body></html>`,
					p.title, p.title, p.text, strings.Repeat("本帖内容仅代表网友个人观点。", 3))
				return
			}
		}
		http.NotFound(rw, r)
	}))
	t.Cleanup(w.site.Close)
	cstore, err := crawler.OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cstore.Close() })
	cr, err := crawler.New(crawler.Options{Store: cstore})
	if err != nil {
		t.Fatal(err)
	}
	src := crawler.Source{Name: "forum", Kind: "rss", Seeds: []string{w.site.URL + "/feed.xml"}, AllowPrivate: true, IgnoreRobots: true}
	w.sched, err = crawler.NewScheduler(cr, []crawler.Source{src}, func(ctx context.Context, p crawler.Page) error {
		return w.ingest(ctx, an, p.URL, p.Source, p.Site, p.Title, p.Text, p.PublishedAt)
	}, crawler.SchedulerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.sched.Stop(context.Background()) })

	deps := Deps{Leads: w.leads, Outbox: w.leads, Dispatcher: w.disp, Endpoints: endpoints, Search: w.idx, Sources: w.sched, Analyzer: an}
	w.testEnv = newTestEnv(t, opts, deps)
	w.clock = clock
	return w
}

// ingest is the test's pipeline: analyse, index, file a lead when risky.
func (w *world) ingest(ctx context.Context, an *nlp.Analyzer, url, source, site, title, text string, published time.Time) error {
	a := an.Analyze(nlp.Input{ID: url, Title: title, Text: text})
	doc := index.Doc{ID: url, URL: url, Source: source, Site: site, Title: title, Body: text, PublishedAt: published,
		FetchedAt: time.Now(), Level: a.Level, Score: a.Score}
	for _, c := range a.Categories {
		doc.Categories = append(doc.Categories, c.Code)
	}
	if nlp.LevelRank(a.Level) >= nlp.LevelRank("medium") {
		c := alerts.Candidate{URL: url, Site: site, Source: source, Title: title, Snippet: text, PublishedAt: published,
			SeenAt: time.Now(), Level: a.Level, Score: a.Score, SimHash: a.SimHash, Terms: a.Keywords}
		for _, cs := range a.Categories {
			c.Categories = append(c.Categories, alerts.CategoryScore{Code: cs.Code, Score: cs.Score})
		}
		for _, ev := range a.Evidence {
			c.Evidence = append(c.Evidence, alerts.Evidence{Rule: ev.Rule, Category: ev.Category, Field: ev.Field, Text: ev.Text, Start: ev.Start, End: ev.End, Weight: ev.Weight})
		}
		res, err := w.leads.File(ctx, c)
		if err != nil {
			return err
		}
		doc.LeadID = res.LeadID
	}
	if err := w.idx.Add(ctx, doc); err != nil {
		return err
	}
	return w.idx.Flush(ctx)
}

// seed files the posts every lead test uses and returns the lead ids of
// the gas leak (hostile) post and the fire post.
func (w *world) seed(t *testing.T) (hostile, fire string) {
	t.Helper()
	ctx := context.Background()
	an := testAnalyzer(t)
	now := time.Now().Add(-time.Hour)
	if err := w.ingest(ctx, an, "http://forum.example/t/1", "forum", "本地论坛", hostileTitle, hostileText, now); err != nil {
		t.Fatal(err)
	}
	if err := w.ingest(ctx, an, "http://news.example/a/9", "news", "城市新闻", "马尾区一小区发生火灾 浓烟滚滚", "今天上午马尾区一小区居民楼起火，火势猛烈，消防员赶到现场扑救，两人受伤送医。", now); err != nil {
		t.Fatal(err)
	}
	if err := w.ingest(ctx, an, "http://news.example/a/10", "news", "城市新闻", "今日天气晴好", "今天全市天气晴朗，适合出行。", now); err != nil {
		t.Fatal(err)
	}
	leads, _, err := w.leads.ListLeads(ctx, alerts.LeadFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leads {
		switch {
		case strings.Contains(l.Title, "燃气") || strings.Contains(l.Title, "script"):
			hostile = l.ID
		case strings.Contains(l.Title, "火灾"):
			fire = l.ID
		}
	}
	if hostile == "" || fire == "" {
		t.Fatalf("seed leads not filed: %+v", leads)
	}
	return hostile, fire
}
