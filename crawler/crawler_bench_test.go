package crawler

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchSite serves a loopback news site: n detail pages of about 2 KB of
// Chinese text, listed 100 to a list page with a next link.
func benchSite(n int) *httptest.Server {
	sentences := []string{
		"今天上午，市区一处老旧小区发生燃气泄漏，消防和燃气公司人员迅速赶到现场处置。",
		"现场疏散居民二十余人，未造成人员伤亡，事故原因正在进一步调查中。",
		"相关部门提醒居民注意用气安全，定期检查燃气管道和阀门，发现异常及时报告。",
		"据了解，该小区建成于上世纪九十年代，部分管线老化，已列入今年的改造计划。",
		"街道办事处表示，将联合物业公司开展隐患排查，确保居民生活安全有序。",
	}
	mux := http.NewServeMux()
	per := 100
	mux.HandleFunc("/list", func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var b strings.Builder
		b.WriteString("<html><head><meta charset=utf-8><title>列表</title></head><body><ul>")
		for i := page * per; i < (page+1)*per && i < n; i++ {
			fmt.Fprintf(&b, `<li><a class="item" href="/news/%d.html">新闻%d</a></li>`, i, i)
		}
		b.WriteString("</ul>")
		if (page+1)*per < n {
			fmt.Fprintf(&b, `<a class="next" href="/list?page=%d">下一页</a>`, page+1)
		}
		b.WriteString("</body></html>")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(b.String()))
	})
	mux.HandleFunc("/news/", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/news/"), ".html"))
		var b strings.Builder
		fmt.Fprintf(&b, `<!doctype html><html><head><meta charset="utf-8"><title>第%d号通报：小区燃气泄漏</title></head><body>`, id)
		b.WriteString(`<div class="nav"><a href="/">首页</a> <a href="/list">新闻</a></div>`)
		fmt.Fprintf(&b, `<h1>第%d号通报：小区燃气泄漏</h1><div class="meta">2024-05-01 08:30 来源：示例日报</div><div class="content">`, id)
		for p := 0; p < 5; p++ {
			b.WriteString("<p>")
			for s := 0; s < 3; s++ {
				b.WriteString(sentences[(id+p+s)%len(sentences)])
			}
			b.WriteString("</p>")
		}
		b.WriteString(`</div><div class="footer">版权所有 示例日报</div></body></html>`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(b.String()))
	})
	return httptest.NewServer(mux)
}

// cpuSeconds is the CPU time (user + system) used by the process so far:
// crawler and site server together.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// peakRSS returns the process's peak resident set (VmHWM) in MiB, or 0.
func peakRSS() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkCrawl10k crawls a 10,000-page loopback site with politeness off
// (no delay, 16 requests in flight), every page fetched, extracted with the
// generic extractor, hashed, emitted and recorded in SQLite. The site's
// server runs in the same process and shares the CPUs. Reported: detail
// pages/s of the first (all new) run and of a second run over the same
// 10,000 known URLs (all unchanged), the CPU time per new page (crawler and
// server together, which does not depend on what else the machine runs),
// the peak heap sampled during the runs, and the process's peak RSS.
func BenchmarkCrawl10k(b *testing.B) {
	const n = 10_000
	srv := benchSite(n)
	defer srv.Close()
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
			}
		}
	}()
	defer close(stop)
	var firstSec, secondSec, firstCPU float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		st, err := OpenStore(filepath.Join(dir, "riskmine.db"))
		if err != nil {
			b.Fatal(err)
		}
		c, err := New(Options{Store: st, Timeout: 10 * time.Second, Retries: 1})
		if err != nil {
			b.Fatal(err)
		}
		src := Source{Name: "bench", Kind: KindHTML, Seeds: []string{srv.URL + "/list?page=0"}, AllowPrivate: true,
			MaxPages: n, Parallelism: 16, List: ListSelectors{Items: "a.item", Next: "a.next", MaxPages: n/100 + 1}}
		var emitted atomic.Int64
		emit := func(ctx context.Context, p Page) error { emitted.Add(1); return nil }
		b.StartTimer()
		start, cpu0 := time.Now(), cpuSeconds()
		run, err := c.Run(context.Background(), src, emit, nil)
		firstSec += time.Since(start).Seconds()
		firstCPU += cpuSeconds() - cpu0
		if err != nil || run.New != n || emitted.Load() != n {
			b.Fatalf("first run: %+v, emitted %d, err %v", run, emitted.Load(), err)
		}
		start = time.Now()
		run, err = c.Run(context.Background(), src, emit, nil)
		secondSec += time.Since(start).Seconds()
		if err != nil || run.Unchanged != n {
			b.Fatalf("second run: %+v, err %v", run, err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/firstSec, "new_pages/s")
	b.ReportMetric(float64(n*b.N)/secondSec, "unchanged_pages/s")
	b.ReportMetric(firstCPU*1000/float64(n*b.N), "cpu_ms/new_page")
	b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak_heap_MiB")
	b.ReportMetric(peakRSS(), "peak_rss_MiB")
}
