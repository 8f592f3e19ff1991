package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/config"
	"riskmine/service"
)

// benchFiller are ordinary sentences of local news and forum chatter.
var benchFiller = []string{
	"今天上午市民服务中心办理业务的人比较多，工作人员增开了两个窗口。",
	"周末的天气预报显示多云转晴，气温在十五到二十三度之间，适合出门散步。",
	"社区组织志愿者在公园开展环境整治活动，清理了草坪上的落叶和杂物。",
	"新开的图书馆分馆藏书两万多册，周一到周日都对市民免费开放。",
	"这家面馆开了二十多年，老板说每天早上五点就开始熬汤，回头客很多。",
	"学校下周举办运动会，家长可以在看台观看比赛，请注意错峰停车。",
	"地铁站附近新增了共享单车停放点，早晚高峰时段有专人引导摆放。",
	"菜市场改造完成后摊位更整齐了，价格也都明码标价，买菜方便多了。",
	"小区物业通知下周二上午检修电梯，届时请住户尽量走楼梯。",
	"记者从有关部门了解到，今年城区新增停车位三千多个，缓解了停车难。",
}

// benchHazards are reports that should become leads; each page gets one,
// with a district and a road that vary so the incidents stay distinct.
var benchHazards = []string{
	"%s%s一栋居民楼发生火灾，浓烟滚滚，有居民被困，消防正在救援。",
	"%s%s小区楼道里燃气泄漏，气味很大，居民已经紧急疏散。",
	"%s%s人行道上井盖丢失，下面是很深的窨井，晚上非常危险。",
	"%s%s一家工厂车间发生爆炸，两名工人受伤被送往医院。",
	"%s%s在建工地几十名工人聚集讨薪，说被拖欠了半年工资。",
}

var benchDistricts = []string{"福州市鼓楼区", "福州市台江区", "福州市仓山区", "福州市晋安区", "福州市马尾区", "厦门市思明区", "厦门市湖里区", "泉州市丰泽区"}

// benchPage returns a ~2 KB Chinese page; one in hazardEvery carries a hazard.
func benchPage(i, hazardEvery int) (title, body string) {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	var b strings.Builder
	title = fmt.Sprintf("本地生活资讯第%d期", i)
	if hazardEvery > 0 && i%hazardEvery == 0 {
		road := fmt.Sprintf("第%d大道", i)
		h := fmt.Sprintf(benchHazards[r.IntN(len(benchHazards))], benchDistricts[r.IntN(len(benchDistricts))], road)
		title = strings.TrimSuffix(h, "。")
		b.WriteString("<p>" + h + "</p>")
	}
	for b.Len() < 2048 {
		b.WriteString("<p>" + benchFiller[r.IntN(len(benchFiller))] + "</p>")
	}
	return title, b.String()
}

// servedAt records when each page title was served, which is when the
// crawler fetched it.
type servedAt struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (s *servedAt) mark(title string) {
	s.mu.Lock()
	s.at[title] = time.Now()
	s.mu.Unlock()
}

func (s *servedAt) get(title string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[title]
	return t, ok
}

// benchSite serves n detail pages behind list pages of 50 links each.
func benchSite(n, hazardEvery int, served *servedAt) *httptest.Server {
	const perList = 50
	mux := http.NewServeMux()
	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "User-agent: *\nAllow: /\n") })
	mux.HandleFunc("GET /list/{page}", func(w http.ResponseWriter, r *http.Request) {
		var p int
		fmt.Sscan(r.PathValue("page"), &p)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body><ul>")
		for i := p * perList; i < min((p+1)*perList, n); i++ {
			fmt.Fprintf(w, `<li><a class="item" href="/post/%d">帖子%d</a></li>`, i, i)
		}
		fmt.Fprint(w, "</ul>")
		if (p+1)*perList < n {
			fmt.Fprintf(w, `<a class="next" href="/list/%d">下一页</a>`, p+1)
		}
		fmt.Fprint(w, "</body></html>")
	})
	mux.HandleFunc("GET /post/{id}", func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscan(r.PathValue("id"), &i)
		title, body := benchPage(i, hazardEvery)
		served.mark(title)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<html><head><title>%s</title><meta property="article:published_time" content="2026-11-20T08:00:00+08:00"></head><body><h1>%s</h1><div class="content">%s</div></body></html>`, title, title, body)
	})
	return httptest.NewServer(mux)
}

// latencySink receives webhooks and records how long after the post was
// fetched each lead's creation arrived.
type latencySink struct {
	served    *servedAt
	mu        sync.Mutex
	latencies []time.Duration
}

func (s *latencySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	var msg struct {
		Type string `json:"type"`
		Data struct {
			Title string `json:"title"`
		} `json:"data"`
	}
	body, _ := io.ReadAll(r.Body)
	if json.Unmarshal(body, &msg) == nil && msg.Type == "risk_lead.created" {
		if at, ok := s.served.get(msg.Data.Title); ok {
			s.mu.Lock()
			s.latencies = append(s.latencies, now.Sub(at))
			s.mu.Unlock()
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (s *latencySink) quantile(q float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.latencies) == 0 {
		return 0
	}
	l := append([]time.Duration(nil), s.latencies...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// BenchmarkPipeline crawls a loopback site of 2 KB Chinese pages through
// the whole pipeline of serve (crawler → nlp → index + leads → webhooks) with
// politeness off, and reports pages/s and the time from a page being fetched
// to its lead's webhook arriving. Each iteration is one run over a fresh
// data folder; -benchtime=1x with RISKMINE_BENCH_PAGES pages is the usual way.
func BenchmarkPipeline(b *testing.B) {
	pages := 2000
	if v := benchEnvInt("RISKMINE_BENCH_PAGES"); v > 0 {
		pages = v
	}
	const hazardEvery = 10
	served := &servedAt{at: map[string]time.Time{}}
	site := benchSite(pages, hazardEvery, served)
	defer site.Close()
	sink := &latencySink{served: served}
	receiver := httptest.NewServer(sink)
	defer receiver.Close()

	var total time.Duration
	var crawled int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cfg := config.Default()
		cfg.DataDir = b.TempDir()
		noDelay := config.Duration(0)
		cfg.Crawler.Sources = []config.Source{{
			Name: "bench", Kind: "html", Seeds: []string{site.URL + "/list/0"}, AllowPrivate: true,
			Delay: &noDelay, Parallelism: 8, MaxPages: pages, MaxDepth: 2,
			List: config.ListSelectors{Items: "a.item", Next: "a.next", MaxPages: pages/50 + 1},
		}}
		cfg.Alerts.Webhooks = []config.Webhook{{Name: "sink", URL: receiver.URL, Secret: "whsec_YmVuY2htYXJrLXNlY3JldC1rZXk=", AllowPrivate: true}}
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
		svc, err := service.Start(context.Background(), cfg, service.Options{Logger: slog.New(slog.DiscardHandler), Listener: mustListen(b)})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		if err := svc.Scheduler().Trigger("bench"); err != nil {
			b.Fatal(err)
		}
		for {
			if runs, err := svc.Scheduler().Runs(context.Background(), "bench", 1); err == nil && len(runs) == 1 && !runs[0].Ended.IsZero() {
				crawled += runs[0].New + runs[0].Changed
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		total += time.Since(start)
		b.StopTimer()
		time.Sleep(2 * time.Second) // let the last webhooks arrive
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.Sys)/(1<<20), "MiB-sys")
		if err := svc.Shutdown(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(crawled)/total.Seconds(), "pages/s")
	b.ReportMetric(float64(sink.quantile(0.5).Milliseconds()), "webhook-p50-ms")
	b.ReportMetric(float64(sink.quantile(0.99).Milliseconds()), "webhook-p99-ms")
	b.ReportMetric(float64(len(sink.latencies)), "leads-timed")
}

func benchEnvInt(name string) int {
	var n int
	fmt.Sscan(os.Getenv(name), &n)
	return n
}

func mustListen(b *testing.B) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}
