package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"riskmine/service"
)

// killPagesEnv sets the size of the SIGKILL test's site; .ci/run sets it,
// the full size (10000) is a command in docs/PERFORMANCE.md.
const killPagesEnv = "RISKMINE_KILL_PAGES"

// buildRiskmine builds the riskmine binary, without -race, into a
// temporary folder and returns its path.
func buildRiskmine(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "riskmine")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// killSite is a loopback site of n pages listed in one sitemap; every
// fifth page reports a fire, the others a library event. It counts the
// pages it serves.
type killSite struct {
	n      int
	served atomic.Int64
	hidden atomic.Bool // the sitemap lists no page
	srv    *httptest.Server
	// delay, when set, is how long each page takes to answer; agents
	// counts the pages served per User-Agent (which crawler node fetched).
	delay  time.Duration
	agents sync.Map // User-Agent → *atomic.Int64
}

func newKillSite(n int) *killSite { return newSlowKillSite(n, 0) }

// newSlowKillSite is newKillSite with pages that take delay to answer.
func newSlowKillSite(n int, delay time.Duration) *killSite {
	s := &killSite{n: n, delay: delay}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
		for i := range n {
			if s.hidden.Load() {
				break
			}
			fmt.Fprintf(&b, "<url><loc>%s/p/%d.html</loc></url>", s.srv.URL, i)
		}
		b.WriteString(`</urlset>`)
		io.WriteString(w, b.String())
	})
	mux.HandleFunc("GET /p/{name}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimSuffix(r.PathValue("name"), ".html"))
		if err != nil || i < 0 || i >= n {
			http.NotFound(w, r)
			return
		}
		if s.delay > 0 {
			select {
			case <-time.After(s.delay):
			case <-r.Context().Done():
				return
			}
		}
		s.served.Add(1)
		n, _ := s.agents.LoadOrStore(r.UserAgent(), new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		title, body := killPage(i)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<html><head><title>%s</title></head><body><h1>%s</h1><div class="article"><p>%s</p><p>%s</p></div></body></html>`,
			title, title, body, body)
	})
	mux.HandleFunc("GET /robots.txt", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "User-agent: *\nAllow: /\n")
	})
	s.srv = httptest.NewServer(mux)
	return s
}

// risky reports whether page i reports a fire (and so files a lead).
func (s *killSite) risky(i int) bool { return i%5 == 0 }

func killPage(i int) (title, body string) {
	if i%5 == 0 {
		return fmt.Sprintf("第%d号仓库发生火灾", i),
			fmt.Sprintf("今天凌晨，城东工业区第%d号仓库突然起火，火势猛烈，浓烟滚滚，消防部门出动多辆消防车赶赴现场扑救，大火造成两人受伤送医。起火原因正在调查。", i)
	}
	return fmt.Sprintf("第%d期读书分享会举行", i),
		fmt.Sprintf("本周六下午，市图书馆举办第%d期读书分享会，数十位市民围绕一本散文集交流阅读心得，现场气氛热烈，活动持续了两个小时。", i)
}

// TestCrawlSurvivesSIGKILL kills `riskmine crawl` (a real binary) with
// SIGKILL at random moments of a sitemap crawl, then lets it finish and
// runs it again: every page must be in the index exactly once and every
// risky page filed exactly once.
func TestCrawlSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and crawls a loopback site")
	}
	pages := 300
	if v := os.Getenv(killPagesEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("%s=%q: want a number of pages of at least 10", killPagesEnv, v)
		}
		pages = n
	}
	kills := 6
	seed := uint64(time.Now().UnixNano())
	t.Logf("%d pages, %d kills, seed %d", pages, kills, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	bin := buildRiskmine(t)
	site := newKillSite(pages)
	defer site.srv.Close()
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
log: {level: warn}
index: {flush_interval: 5s}
crawler:
  timeout: 10s
  sources:
    - name: site
      kind: sitemap
      seeds: ["%s/sitemap.xml"]
      allow_private: true
      delay: 0s
      parallelism: 4
      max_pages: %d
`, dataDir, site.srv.URL, pages+10)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(bin, "crawl", "site", "--config", cfgPath)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stderr
	}
	for k := range kills {
		before := site.served.Load()
		// Kill after a random number of pages of this run, at most an even
		// share of the site, so the kills fall all over the crawl.
		target := before + 1 + rng.Int64N(int64(max(pages/kills, 2)))
		cmd, stderr := start()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.After(2 * time.Minute)
	wait:
		for site.served.Load() < target {
			select {
			case err := <-exited:
				t.Logf("kill %d: the run ended before the kill (%v): %s", k, err, stderr)
				break wait
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("kill %d: no progress: %s", k, stderr)
			case <-time.After(2 * time.Millisecond):
			}
		}
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		}
		t.Logf("kill %d after %d pages served in all", k, site.served.Load())
		// A killed run's lease outlives it; the next run must not wait for
		// it to expire.
		clearLeases(t, filepath.Join(dataDir, "riskmine.db"))
	}
	for i := range 2 {
		cmd, stderr := start()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run %d to the end: %v\n%s", i+1, err, stderr)
		}
		if strings.Contains(stderr.String(), "failures by kind") {
			t.Fatalf("run %d to the end had failures:\n%s", i+1, stderr)
		}
	}
	checkCrawledOnce(t, cfgPath, dataDir, site)
}

// clearLeases drops the crawl leases of the database at path.
func clearLeases(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM crawl_leases`); err != nil && !strings.Contains(err.Error(), "no such table") {
		t.Fatal(err)
	}
}

// checkCrawledOnce checks that every page of site is in the index once and
// every risky page is the source of exactly one lead.
func checkCrawledOnce(t *testing.T, cfgPath, dataDir string, site *killSite) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "riskmine.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT canonical_url, COUNT(*) FROM alerts_source GROUP BY canonical_url`)
	if err != nil {
		t.Fatal(err)
	}
	filed := map[int]int{}
	for rows.Next() {
		var u string
		var n int
		if err := rows.Scan(&u, &n); err != nil {
			t.Fatal(err)
		}
		i, err := strconv.Atoi(strings.TrimSuffix(u[strings.LastIndex(u, "/")+1:], ".html"))
		if err != nil {
			t.Fatalf("lead source %s is not a page of the site", u)
		}
		filed[i] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	var missing, twice, wrong []int
	for i := range site.n {
		switch n := filed[i]; {
		case site.risky(i) && n == 0:
			missing = append(missing, i)
		case n > 1:
			twice = append(twice, i)
		case !site.risky(i) && n > 0:
			wrong = append(wrong, i)
		}
	}
	if len(missing)+len(twice)+len(wrong) > 0 {
		t.Errorf("risky pages never filed: %d %v; filed more than once: %d %v; filed but not risky: %d %v",
			len(missing), head(missing), len(twice), head(twice), len(wrong), head(wrong))
	}

	c, err := loadConfig(&commonFlags{config: cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := service.OpenIndex(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	n, err := ix.Count()
	if err != nil {
		t.Fatal(err)
	}
	var lost []int
	for i := range site.n {
		if ok, err := ix.Has(context.Background(), fmt.Sprintf("%s/p/%d.html", site.srv.URL, i)); err != nil {
			t.Fatal(err)
		} else if !ok {
			lost = append(lost, i)
		}
	}
	if int(n) != site.n || len(lost) > 0 {
		t.Errorf("index holds %d documents for %d pages; %d pages lost: %v", n, site.n, len(lost), head(lost))
	}
}

// head returns the first few numbers of s, sorted.
func head(s []int) []int {
	sort.Ints(s)
	return s[:min(len(s), 10)]
}
