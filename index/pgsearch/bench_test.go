package pgsearch_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/index/pgsearch"
	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
	"riskmine/level"
	"riskmine/nlp"
)

// benchNow is the clock of the benchmark's posts: spread over the year
// before it.
var benchNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

var benchSentences = []string{
	"今天上午市区一栋居民楼冒出浓烟，消防部门迅速到场处置。",
	"多名网友反映该路段井盖松动，车辆经过时发出很大响声，存在安全隐患。",
	"暴雨导致低洼路段积水，部分车辆熄火，交警在现场疏导交通。",
	"小区业主投诉物业长期不处理垃圾堆放问题，气味难闻。",
	"工地夜间施工噪音扰民，附近居民多次拨打热线电话投诉。",
	"一辆电动车在充电时冒烟，所幸发现及时，没有造成人员伤亡。",
	"燃气管道发生泄漏，相关部门已经关闭阀门并疏散周边群众。",
	"学校门口交通拥堵严重，家长呼吁增加交警指挥和护学岗。",
	"网友拍到河道里漂浮大量死鱼，怀疑上游有企业偷排污水。",
	"商场电梯突然停运，多名顾客被困，维保人员赶到后解救。",
	"菜市场附近摊贩占道经营，行人只能走在机动车道上。",
	"老旧小区外墙瓷砖脱落，砸坏了楼下停放的车辆。",
}

// benchFire is the sentence of the 起火 query, in one post of ten.
const benchFire = "一辆电动车在楼道充电时起火，所幸发现及时，没有造成人员伤亡。"

var benchCategories = []string{"fire", "infrastructure", "flood", "environment", "noise", "gas", "traffic", "safety"}
var benchSources = []string{"forum-a", "forum-b", "weibo", "news-1", "news-2", "tieba", "douyin", "wechat"}
var benchPlaces = []string{"350102", "350103", "350104", "350105", "350111", "350203", "350206", "310101", "310104", "440103"}

// benchDoc is generated post i: about 500 bytes of text from the sentence
// pool (one post in ten mentions 起火), a time in the year before
// benchNow, and its facet values; the same i always gives the same post.
func benchDoc(i int) index.Doc {
	r := rand.New(rand.NewPCG(uint64(i), 42))
	var body strings.Builder
	if r.IntN(10) == 0 {
		body.WriteString(benchFire)
	}
	for body.Len() < 480 {
		body.WriteString(benchSentences[r.IntN(len(benchSentences))])
	}
	title := []rune(benchSentences[r.IntN(len(benchSentences))])
	return index.Doc{
		ID:            "bench-" + strconv.Itoa(i),
		URL:           "https://example.test/p/" + strconv.Itoa(i),
		Source:        benchSources[r.IntN(len(benchSources))],
		Site:          "example.test",
		Title:         string(title[:16]),
		Body:          body.String(),
		PublishedAt:   benchNow.Add(-time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))),
		Categories:    []string{benchCategories[r.IntN(len(benchCategories))]},
		Level:         level.All()[r.IntN(len(level.All()))],
		Score:         float64(r.IntN(100)) / 10,
		LocationCodes: []string{benchPlaces[r.IntN(len(benchPlaces))]},
	}
}

// BenchmarkSearchLatency loads RISKMINE_SEARCH_BENCH_POSTS posts (default
// 20000) into the schema RISKMINE_SEARCH_BENCH_SCHEMA (default
// searchbench) of RISKMINE_TEST_POSTGRES (kept
// between runs, only the missing posts are added, with Store.Add from two
// loaders), then runs RISKMINE_SEARCH_BENCH_QUERIES searches (default 500)
// of each 30-day kind and RISKMINE_SEARCH_BENCH_LONG_QUERIES (default 100)
// of each 90-day and 12-month kind, one client, after a warm-up, and
// reports p50 and p99 in ms. RISKMINE_SEARCH_BENCH_DIRECT=1 counts the
// facets over the posts, never from the day counts. Run it with
// -benchtime=1x (a sub-benchmark alone: -bench 'SearchLatency/empty-30d'):
//
//	go test ./index/pgsearch/ -run '^$' -bench SearchLatency -benchtime=1x
func BenchmarkSearchLatency(b *testing.B) {
	base := os.Getenv(pgtest.Env)
	if base == "" {
		b.Skip("set " + pgtest.Env)
	}
	n := envInt(b, "RISKMINE_SEARCH_BENCH_POSTS", 20000)
	queries := envInt(b, "RISKMINE_SEARCH_BENCH_QUERIES", 500)
	long := envInt(b, "RISKMINE_SEARCH_BENCH_LONG_QUERIES", 100)
	ctx := context.Background()
	admin, err := pgdb.Open(ctx, base, pgdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	schema := cmp.Or(os.Getenv("RISKMINE_SEARCH_BENCH_SCHEMA"), "searchbench")
	if !regexp.MustCompile(`^[a-z_][a-z0-9_]*$`).MatchString(schema) {
		b.Fatalf("RISKMINE_SEARCH_BENCH_SCHEMA=%q: expected lowercase letters, digits and _", schema)
	}
	if _, err := admin.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		b.Fatal(err)
	}
	admin.Close()
	pool, err := pgdb.Open(ctx, pgtest.WithSearchPath(base, schema), pgdb.Options{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	// The days facet in China's zone, as a city platform there has it: the
	// window's first day (from 08:00) is then a part of a day.
	zone, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		b.Fatal(err)
	}
	s, err := pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: cutSearch, Normalize: nlp.NormalizeText, SearchTimeout: time.Minute, Location: zone})
	if err != nil {
		b.Fatal(err)
	}
	if os.Getenv("RISKMINE_SEARCH_BENCH_DIRECT") != "" {
		pgsearch.DirectCounts(s) // the facets counted over the posts, as before the day counts
	}
	have, err := s.Count(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if int(have) < n {
		// Two loaders: one analyses its batch on both cores while the
		// other's rows go into PostgreSQL.
		start := time.Now()
		const batch = 2000
		next := make(chan int)
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				for i := range next {
					docs := make([]index.Doc, 0, batch)
					for j := i; j < min(i+batch, n); j++ {
						docs = append(docs, benchDoc(j))
					}
					if err := s.Add(ctx, docs...); err != nil {
						errs <- err
						for range next {
						}
						return
					}
				}
				errs <- nil
			}()
		}
		for i := int(have); i < n; i += batch {
			next <- i
		}
		close(next)
		for range 2 {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		loaded := time.Since(start)
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE search_posts`); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE search_day_counts`); err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded posts %d to %d in %s (%.0f posts/s), then VACUUM ANALYZE in %s", have, n, loaded.Round(time.Second),
			float64(n-int(have))/loaded.Seconds(), (time.Since(start) - loaded).Round(time.Second))
	}
	month, quarter, year := benchNow.AddDate(0, 0, -30), benchNow.AddDate(0, 0, -90), benchNow.AddDate(-1, 0, 0)
	for _, c := range []struct {
		name  string
		q     index.Query
		count int
	}{
		{"empty-30d", index.Query{Since: month, Size: 20}, queries},
		{"起火-30d", index.Query{Text: "起火", Since: month, Size: 20}, queries},
		{"empty-90d", index.Query{Since: quarter, Size: 20}, long},
		{"起火-90d", index.Query{Text: "起火", Since: quarter, Size: 20}, long},
		{"empty-12mo", index.Query{Since: year, Size: 20}, long},
		{"起火-12mo", index.Query{Text: "起火", Since: year, Size: 20}, long},
	} {
		b.Run(c.name, func(b *testing.B) {
			var total uint64
			for range 20 { // warm the cache
				if _, err := s.Search(ctx, c.q); err != nil {
					b.Fatal(err)
				}
			}
			took := make([]time.Duration, 0, c.count)
			for b.Loop() {
				took = took[:0]
				for range c.count {
					t0 := time.Now()
					res, err := s.Search(ctx, c.q)
					if err != nil {
						b.Fatal(err)
					}
					took = append(took, time.Since(t0))
					total = res.Total
				}
			}
			slices.Sort(took)
			ms := func(p float64) float64 {
				return float64(took[min(len(took)-1, int(p*float64(len(took))))].Microseconds()) / 1000
			}
			b.ReportMetric(ms(0.50), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
			b.ReportMetric(float64(total), "matches")
			b.ReportMetric(float64(n), "posts")
		})
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		b.Fatal(fmt.Sprintf("%s=%q: expected a positive whole number", name, v))
	}
	return n
}
