package crawler

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchParas is the number of paragraphs of a benchmark post (about 12 KB
// of text once rendered).
const benchParas = 40

// benchRoutes is a site whose posts are built by JavaScript from JSON.
func benchRoutes() map[string]http.HandlerFunc {
	routes := jsSiteRoutes()
	routes["/api/post"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var b strings.Builder
		for i := range benchParas {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q", fmt.Sprintf("%d. %s", i, zhPara))
		}
		fmt.Fprintf(w, `{"title":"动态文章 %s","body":[%s]}`, r.URL.Query().Get("id"), b.String())
	}
	return routes
}

// BenchmarkRenderPage renders detail pages with crawler.render.tabs tabs
// (RISKMINE_BENCH_TABS, default 2) working at once, and reports pages per
// second, the sizes of a page, the CPU time of Chromium and of this process
// per page, and the memory of the Chromium processes: their summed RSS and
// PSS read from /proc before the first page (base) and every 500 ms while
// the tabs work (peak); per tab is (peak - base PSS) / tabs. The plain case
// fetches the same pages without a browser, for comparison.
//
//	RISKMINE_BENCH_TABS=2 go test ./crawler -run '^$' -bench BenchmarkRenderPage -benchtime 30x
func BenchmarkRenderPage(b *testing.B) {
	tabs := 2
	if v, err := strconv.Atoi(os.Getenv("RISKMINE_BENCH_TABS")); err == nil && v > 0 {
		tabs = v
	}
	site := newRenderSite(b, benchRoutes())
	path := chromiumForTest(b)
	st, err := OpenStore(filepath.Join(b.TempDir(), "riskmine.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c, err := New(Options{Store: st, Timeout: 10 * time.Second, guardExempt: func(ap netip.AddrPort) bool { return ap == site.addr },
		Render: RenderConfig{Chromium: path, Tabs: tabs, PageTimeout: 30 * time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	src, err := renderSource("bench", site).withDefaults()
	if err != nil {
		b.Fatal(err)
	}
	r, err := c.newRun(context.Background(), src, func(context.Context, Page) error { return nil }, &Progress{})
	if err != nil {
		b.Fatal(err)
	}
	urls := make(chan string)
	go func() {
		for i := 0; ; i++ {
			select {
			case urls <- fmt.Sprintf("%s/post/%d", site.URL, i%1000+1):
			case <-r.ctx.Done():
				return
			}
		}
	}()
	defer r.stop(nil)

	b.Run("plain", func(b *testing.B) {
		var raw atomic.Int64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			f, err := r.get(<-urls, nil)
			if err != nil {
				b.Fatal(err)
			}
			raw.Add(int64(len(f.body)))
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
		b.ReportMetric(float64(raw.Load())/float64(b.N), "html_B/page")
	})

	b.Run(fmt.Sprintf("rendered/tabs=%d", tabs), func(b *testing.B) {
		// The browser's memory before any page, then its peak while the
		// tabs work.
		br, err := c.render.browser()
		if err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Second)
		base := chromiumMemory(br.pid)
		var peak memSample
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			tk := time.NewTicker(500 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
					if m := chromiumMemory(br.pid); m.pss > peak.pss {
						peak = m
					}
				}
			}
		}()
		var self0 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &self0)
		var dom, shot, raw atomic.Int64
		var next atomic.Int64
		b.ResetTimer()
		var wg sync.WaitGroup
		for range tabs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(b.N) {
					f, err := c.render.render(r, <-urls, false)
					if err != nil {
						b.Error(err)
						return
					}
					dom.Add(int64(len(f.capture.RenderedDOM)))
					shot.Add(int64(len(f.capture.Screenshot)))
					raw.Add(int64(len(f.capture.Body)))
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		close(stop)
		sampler.Wait()
		end := chromiumMemory(br.pid)
		var self1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &self1)
		goCPU := time.Duration(self1.Utime.Nano() + self1.Stime.Nano() - self0.Utime.Nano() - self0.Stime.Nano())
		n := float64(b.N)
		b.ReportMetric(n/b.Elapsed().Seconds(), "pages/s")
		b.ReportMetric(float64(raw.Load())/n, "html_B/page")
		b.ReportMetric(float64(dom.Load())/n, "dom_B/page")
		b.ReportMetric(float64(shot.Load())/n, "png_B/page")
		b.ReportMetric(float64(base.rss)/(1<<20), "base_rss_MiB")
		b.ReportMetric(float64(peak.rss)/(1<<20), "peak_rss_MiB")
		b.ReportMetric(float64(base.pss)/(1<<20), "base_pss_MiB")
		b.ReportMetric(float64(peak.pss)/(1<<20), "peak_pss_MiB")
		b.ReportMetric(float64(peak.pss-base.pss)/float64(tabs)/(1<<20), "pss_MiB/tab")
		b.ReportMetric(float64(peak.procs), "peak_procs")
		b.ReportMetric(float64((end.cpu-base.cpu).Milliseconds())/n, "chromium_cpu_ms/page")
		b.ReportMetric(float64(goCPU.Milliseconds())/n, "go_cpu_ms/page")
	})
}

// memSample is the memory and CPU time of a process tree.
type memSample struct {
	rss, pss int64 // bytes
	procs    int
	// cpu is user and system time of the live processes and of their
	// children that exited and were waited for.
	cpu time.Duration
}

// chromiumMemory sums VmRSS (from /proc/PID/status) and Pss (from
// /proc/PID/smaps_rollup) over pid and its descendants. RSS counts pages
// shared between Chromium's processes once per process; PSS divides them.
func chromiumMemory(pid int) memSample {
	children := map[int][]int{}
	cpuOf := map[int]time.Duration{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// After the command in parentheses: state, ppid, … utime (the
		// 12th), stime, cutime, cstime, in clock ticks of 1/100 s.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 14 {
			pp, _ := strconv.Atoi(f[1])
			children[pp] = append(children[pp], p)
			var ticks int64
			for _, i := range []int{11, 12, 13, 14} {
				n, _ := strconv.ParseInt(f[i], 10, 64)
				ticks += n
			}
			cpuOf[p] = time.Duration(ticks) * 10 * time.Millisecond
		}
	}
	var m memSample
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = append(queue[1:], children[p]...)
		m.procs++
		m.cpu += cpuOf[p]
		m.rss += procKB("/proc/"+strconv.Itoa(p)+"/status", "VmRSS:") << 10
		m.pss += procKB("/proc/"+strconv.Itoa(p)+"/smaps_rollup", "Pss:") << 10
	}
	return m
}

// procKB reads the "key: N kB" line of a /proc file.
func procKB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				n, _ := strconv.ParseInt(fs[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
