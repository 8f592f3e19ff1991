package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/config"
	"riskmine/internal/pgtest"
)

// clusterBenchPagesEnv sets the pages of BenchmarkClusterIngest (default
// 4000, spread over four sources).
const clusterBenchPagesEnv = "RISKMINE_CLUSTER_BENCH_PAGES"

// BenchmarkClusterIngest measures the ingest rate of a PostgreSQL cluster
// with one and with two worker nodes: an api node asks for a run of four
// sitemap sources of generated pages on loopback (about 0.6 KB of HTML
// each, one in five reporting a fire and so filed as a lead), and the
// clock runs from the first request until every run has ended. Each round
// starts on an empty schema. The page servers, PostgreSQL and every node
// share the machine's cores, so on a small machine a second worker adds
// work for the same cores: the figure says what a second worker gives on
// this machine, not on a second one.
//
//	RISKMINE_TEST_POSTGRES=postgres://… go test ./cmd/riskmine -run '^$' -bench ClusterIngest -benchtime 1x
func BenchmarkClusterIngest(b *testing.B) {
	pages := 4000
	if v := os.Getenv(clusterBenchPagesEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 4 {
			b.Fatalf("%s=%q: want a number of pages of at least 4", clusterBenchPagesEnv, v)
		}
		pages = n
	}
	bin := buildRiskmine(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var total, cpu time.Duration
			for range b.N {
				took, used := clusterIngestRound(b, bin, workers, pages)
				total += took
				cpu += used
			}
			b.ReportMetric(float64(pages*b.N)/total.Seconds(), "posts/s")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(pages*b.N), "worker-cpu-ms/post")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// clusterIngestRound runs one round on a fresh schema and returns the
// time from the first run request to the end of the last run, and the CPU
// time the worker processes used from their start (loading included).
func clusterIngestRound(b *testing.B, bin string, workers, pages int) (time.Duration, time.Duration) {
	b.StopTimer()
	defer b.StartTimer()
	dsn := pgtest.DSN(b)
	ctx := context.Background()
	const sources = 4
	cfg := config.Default()
	cfg.Log.Level = "warn"
	cfg.Web.Addr = "127.0.0.1:0"
	cfg.Crawler.Jitter = 0
	cfg.Crawler.UserAgent = "${RISKMINE_TEST_USER_AGENT}"
	dir := b.TempDir()
	cfg.Evidence.Dir = filepath.Join(dir, "evidence") // storage every node reaches
	cfg.Evidence.Node = "${RISKMINE_TEST_USER_AGENT}"
	noDelay := config.Duration(0)
	for i := range sources {
		site := newKillSite(pages / sources)
		b.Cleanup(site.srv.Close)
		cfg.Crawler.Sources = append(cfg.Crawler.Sources, config.Source{
			Name: fmt.Sprintf("site-%d", i), Kind: "sitemap", Seeds: []string{site.srv.URL + "/sitemap.xml"},
			Schedule: "@every 24h", AllowPrivate: true, Delay: &noDelay, Parallelism: 8, MaxPages: pages,
		})
	}
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	if err := os.WriteFile(cfgPath, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	api := startClusterNode(b, bin, cfgPath, "api", "api", dsn, "bench-api")
	var nodes []*clusterNode
	for i := range workers {
		nodes = append(nodes, startClusterNode(b, bin, cfgPath, fmt.Sprintf("w%d", i+1), "worker", dsn, fmt.Sprintf("bench-w%d", i+1)))
	}
	db, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()

	started := time.Now()
	for _, s := range cfg.Crawler.Sources {
		if code := clusterAPI(b, "POST", api.addr, "/api/v1/sources/"+url.PathEscape(s.Name)+"/run", nil); code != http.StatusAccepted {
			b.Fatalf("run %s: %d", s.Name, code)
		}
	}
	deadline := started.Add(30 * time.Minute)
	for {
		var ended int
		var last time.Time
		err := db.QueryRow(ctx, `SELECT count(*), coalesce(max(ended_at), now()) FROM crawl_runs
			WHERE started_at >= $1 AND ended_at IS NOT NULL`, started.Add(-time.Second)).Scan(&ended, &last)
		if err == nil && ended >= sources {
			var posts int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM search_posts`).Scan(&posts); err != nil || posts != pages {
				b.Fatalf("%d posts stored of %d pages (%v)", posts, pages, err)
			}
			var cpu time.Duration
			for _, n := range nodes {
				cpu += processCPU(n.cmd.Process.Pid)
			}
			return last.Sub(started), cpu
		}
		if time.Now().After(deadline) {
			b.Fatalf("the runs did not end within 30 minutes (%d of %d ended)", ended, sources)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processCPU is the user and system CPU time process pid has used, read
// from /proc (0 where there is none).
func processCPU(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command's closing parenthesis: utime and stime
	// are the 12th and 13th, in clock ticks (100 a second on Linux).
	rest := string(raw[strings.LastIndexByte(string(raw), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
