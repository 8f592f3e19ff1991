package index_test

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/nlp"
)

// Benchmarks (not run by go test without -bench):
//
//	go test -run '^$' -bench 'BenchmarkIndexing' -benchtime 20000x ./index
//	go test -run '^$' -bench 'BenchmarkQuery' -benchtime 2000x -index.docs 200000 -index.dir idx200k ./index
var (
	benchDocs    = flag.Int("index.docs", 20000, "documents in the BenchmarkQuery index")
	benchDir     = flag.String("index.dir", "", "folder keeping the BenchmarkQuery index between runs (default: a temporary folder)")
	benchSize    = flag.Int("index.postsize", 2048, "approximate bytes of a generated post body")
	persistPause = flag.Duration("index.persistpause", 0, "Options.PersistPause in BenchmarkIndexingServeBatches")
	serveMapping = flag.String("index.mapping", "", `mapping of BenchmarkIndexingServeBatches: "" (the real one), "word-vectors" (as before the word fields lost their term vectors), "words" (word fields only), "no-title-bigrams" or "bigrams-without-vectors" (see OpenVariant)`)
	serveBatch   = flag.Int("index.servebatch", 200, "documents per batch in BenchmarkIndexingServeBatches (serve writes about flush_interval × posts/s)")
)

func dirBytes(path string) int64 {
	var n int64
	filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// rssMiB is the resident set size of this process.
func rssMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuTime is the user and system CPU time of this process so far. On a
// shared machine it is steadier than wall-clock latency.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIndexing indexes b.N generated posts of ~2 KB into a fresh index
// with, side by side, Bleve's standard analyzer (one token per Han
// character, no bigram fields), the injected gse search-mode words alone,
// and the full Chinese mapping (words + bigram fields).
func BenchmarkIndexing(b *testing.B) {
	cutSearch("预热") // load the gse dictionary outside the timings
	for _, variant := range []string{"standard", "words", "chinese"} {
		b.Run(variant, func(b *testing.B) {
			g := newPostGen(1)
			docs := make([]index.Doc, b.N)
			var bytes int64
			for i := range docs {
				docs[i] = g.next(*benchSize)
				bytes += int64(len(docs[i].Title) + len(docs[i].Body))
			}
			path := filepath.Join(b.TempDir(), "idx")
			v := variant
			if v == "chinese" {
				v = ""
			}
			ix, err := index.OpenVariant(index.Options{Path: path, BatchSize: 1000, FlushInterval: time.Hour,
				Tokenize: cutSearch, Normalize: nlp.NormalizeText}, v)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			elapsed := timeIndexing(b, len(docs), func(i int) error { return ix.Add(ctx, docs[i]) },
				func() error { return ix.Flush(ctx) })
			if err := ix.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(bytes)/1e6/elapsed.Seconds(), "MB/s")
			b.ReportMetric(float64(dirBytes(path))/float64(b.N), "index-B/doc")
		})
	}
}

// BenchmarkIndexingOwnCost measures what riskmine's own code around Bleve
// costs: "bare" is a plain Bleve index of the same mapping (Bleve's default
// settings, batches of 1,000) fed title and body token streams made before
// the timer starts; "riskmine" is Index.Add with the words handed in as the
// pipeline does (Doc.TitleWords/BodyWords, cut before the timer starts), so
// its time holds normalisation, the bigram field, offsets, the journal,
// sharding and document mapping, but not segmentation. Both end when the
// last batch is on disk.
func BenchmarkIndexingOwnCost(b *testing.B) {
	cutSearch("预热")
	docs := func(n int) []index.Doc {
		g := newPostGen(1)
		out := make([]index.Doc, n)
		for i := range out {
			out[i] = g.next(*benchSize)
		}
		return out
	}
	b.Run("bare", func(b *testing.B) {
		// An index opened first installs the tokenizer PrepareBare uses.
		warm, err := index.Open(index.Options{Path: filepath.Join(b.TempDir(), "warm"), Tokenize: cutSearch, Normalize: nlp.NormalizeText})
		if err != nil {
			b.Fatal(err)
		}
		warm.Close()
		ds := docs(b.N)
		prepared := make([]*index.BareDoc, len(ds))
		for i, d := range ds {
			if prepared[i], err = index.PrepareBare(d); err != nil {
				b.Fatal(err)
			}
		}
		bx, err := index.NewBare(filepath.Join(b.TempDir(), "bare"))
		if err != nil {
			b.Fatal(err)
		}
		timeIndexing(b, len(prepared), func(i int) error { return bx.Add(prepared[i]) }, bx.Flush)
		if err := bx.Close(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("riskmine", func(b *testing.B) {
		ds := docs(b.N)
		for i := range ds {
			ds[i].TitleWords = givenWords(ds[i].Title)
			ds[i].BodyWords = givenWords(ds[i].Body)
		}
		ix, err := index.Open(index.Options{Path: filepath.Join(b.TempDir(), "idx"), BatchSize: 1000, FlushInterval: time.Hour,
			Tokenize: cutSearch, Normalize: nlp.NormalizeText})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		timeIndexing(b, len(ds), func(i int) error { return ix.Add(ctx, ds[i]) }, func() error { return ix.Flush(ctx) })
		if err := ix.Close(); err != nil {
			b.Fatal(err)
		}
	})
}

// timeIndexing runs add for each of n documents and then flush, with the
// benchmark timer on, reports CPU ms and documents per second, and returns
// the wall time taken.
func timeIndexing(b *testing.B, n int, add func(i int) error, flush func() error) time.Duration {
	b.Helper()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := range n {
		if err := add(i); err != nil {
			b.Fatal(err)
		}
	}
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/doc")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "docs/s")
	return elapsed
}

// givenWords cuts s the way the pipeline hands words to the index.
func givenWords(s string) *index.Words {
	n := nlp.NormalizeText(s)
	return &index.Words{Normalized: n, Tokens: cutSearch(n)}
}

// queryIndex is the BenchmarkQuery index, built once per process.
var queryIndex struct {
	ix        *index.Index
	docs      uint64
	build     time.Duration
	bytesDoc  float64
	fragments []string
	// coldFacets is the first search with facets after opening: it reads
	// the facet columns of every segment (match all, so it also counts
	// every document).
	coldFacets time.Duration
	tmp        string // removed by TestMain
}

// TestMain closes the BenchmarkQuery index and removes it unless -index.dir
// asked to keep it.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if queryIndex.ix != nil {
		queryIndex.ix.Close()
	}
	if queryIndex.tmp != "" {
		os.RemoveAll(queryIndex.tmp)
	}
	os.Exit(code)
}

func benchIndex(b *testing.B) *index.Index {
	if queryIndex.ix != nil {
		return queryIndex.ix
	}
	path := *benchDir
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("riskmine-bench-%d", os.Getpid()))
		queryIndex.tmp = path
	}
	open := func() *index.Index {
		ix, err := index.Open(index.Options{Path: path, BatchSize: 1000, FlushInterval: time.Hour, Tokenize: cutSearch, Normalize: nlp.NormalizeText})
		if err != nil {
			b.Fatal(err)
		}
		return ix
	}
	ix := open()
	n, _ := ix.Count()
	g := newPostGen(7)
	want := uint64(*benchDocs)
	ctx := context.Background()
	if n < want {
		start := time.Now()
		for i := uint64(0); i < n; i++ { // keep the generator in step when resuming
			g.next(*benchSize)
		}
		for i := n; i < want; i++ {
			if err := ix.Add(ctx, g.next(*benchSize)); err != nil {
				b.Fatal(err)
			}
			if i%50000 == 0 && i > n {
				b.Logf("built %d documents in %s", i, time.Since(start).Round(time.Second))
			}
		}
		if err := ix.Close(); err != nil {
			b.Fatal(err)
		}
		queryIndex.build = time.Since(start)
		ix = open()
	}
	queryIndex.docs, _ = ix.Count()
	queryIndex.bytesDoc = float64(dirBytes(path)) / float64(queryIndex.docs)
	// Fragments cut anywhere out of real posts: 4–8 characters, across word
	// boundaries — what analysts paste from a post they half remember.
	fg := newPostGen(7)
	for len(queryIndex.fragments) < 200 {
		body := []rune(fg.next(*benchSize).Body)
		start := fg.r.IntN(len(body) - 10)
		frag := string(body[start : start+4+fg.r.IntN(5)])
		if !strings.ContainsAny(frag, "，。！？：；、\n .,0123456789") {
			queryIndex.fragments = append(queryIndex.fragments, frag)
		}
	}
	t0 := time.Now()
	if _, err := ix.Search(ctx, index.Query{}); err != nil {
		b.Fatal(err)
	}
	queryIndex.coldFacets = time.Since(t0)
	queryIndex.ix = ix
	return ix
}

// BenchmarkQuery measures search latency (facets and highlighted fragments
// included, 10 hits) on an index of -index.docs generated posts, reporting
// p50/p99 in milliseconds and the median number of hits.
func BenchmarkQuery(b *testing.B) {
	ix := benchIndex(b)
	since := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -30)
	var frags []index.Query
	for _, f := range queryIndex.fragments {
		frags = append(frags, index.Query{Text: `"` + f + `"`})
	}
	kinds := []struct {
		name string
		qs   []index.Query
	}{
		{"term", qs("火灾", "燃气", "小区", "泄漏", "诈骗", "井盖", "暴雨", "食物中毒", "追尾", "坍塌", "安全", "工资")},
		{"phrase", qs(`"燃气泄漏"`, `"电动车充电"`, `"消防救援人员"`, `"疑似食物中毒"`, `"拖欠的工资"`, `"三车追尾事故"`, `"路面塌陷"`, `"井盖丢失"`)},
		{"fragment", frags},
		{"match", qs("燃气 泄漏", "火灾 小区", "诈骗 APP", "暴雨 内涝", "工人 工资", "化工厂 气体", "5G基站 信号")},
		{"filtered", []index.Query{
			{Text: "火灾", MinLevel: "high", Since: since, Locations: []string{"3501"}},
			{Text: "泄漏", Categories: []string{"hazmat_leak"}, Sources: []string{"news", "forum"}},
			{Categories: []string{"fraud"}, Sort: index.SortTime},
			{Text: "路灯", Sort: index.SortScore, Locations: []string{"350203"}},
		}},
	}
	// The same term and fragment queries without facets show what the facet
	// counts cost (the web UI asks for them on the first page only).
	for _, name := range []string{"term", "fragment"} {
		for _, k := range kinds {
			if k.name == name {
				nf := slices.Clone(k.qs)
				for i := range nf {
					nf[i].NoFacets = true
				}
				kinds = append(kinds, struct {
					name string
					qs   []index.Query
				}{name + "_nofacets", nf})
			}
		}
	}
	ctx := context.Background()
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			hits := make([]int, 0, b.N)
			perQuery := make([][]time.Duration, len(k.qs))
			perHits := make([]uint64, len(k.qs))
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				r, err := ix.Search(ctx, k.qs[i%len(k.qs)])
				d := time.Since(t0)
				lat = append(lat, d)
				if err != nil {
					b.Fatal(err)
				}
				hits = append(hits, int(r.Total))
				perQuery[i%len(k.qs)] = append(perQuery[i%len(k.qs)], d)
				perHits[i%len(k.qs)] = r.Total
			}
			b.StopTimer()
			// Per query (shown with -test.v): which queries make the tail.
			for qi, ds := range perQuery {
				if len(ds) > 0 && testing.Verbose() && b.N > 1 {
					slices.Sort(ds)
					b.Logf("%-40q %8d hits  median %7.1f ms  max %7.1f ms", describe(k.qs[qi]), perHits[qi],
						float64(ds[len(ds)/2].Microseconds())/1000, float64(ds[len(ds)-1].Microseconds())/1000)
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			slices.Sort(lat)
			slices.Sort(hits)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.5), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(hits[len(hits)/2]), "median-hits")
			b.ReportMetric(float64(queryIndex.docs), "docs")
			b.ReportMetric(queryIndex.bytesDoc, "index-B/doc")
			b.ReportMetric(rssMiB(), "RSS-MiB")
			b.ReportMetric(float64(queryIndex.coldFacets.Microseconds())/1000, "cold-facets-ms")
			if queryIndex.build > 0 {
				b.ReportMetric(queryIndex.build.Seconds(), "build-s")
			}
		})
	}
}

// describe names a benchmark query in the per-query log.
func describe(q index.Query) string {
	var parts []string
	if q.Text != "" {
		parts = append(parts, q.Text)
	}
	if len(q.Categories) > 0 {
		parts = append(parts, "category="+strings.Join(q.Categories, ","))
	}
	if q.MinLevel != "" {
		parts = append(parts, "level>="+q.MinLevel)
	}
	if len(q.Locations) > 0 {
		parts = append(parts, "location="+strings.Join(q.Locations, ","))
	}
	if q.Sort != "" {
		parts = append(parts, "sort="+q.Sort)
	}
	return strings.Join(parts, " ")
}

func qs(texts ...string) []index.Query {
	out := make([]index.Query, len(texts))
	for i, t := range texts {
		out[i] = index.Query{Text: t}
	}
	return out
}

// BenchmarkIndexingServeBatches indexes b.N generated posts with the words
// handed in, written in batches of -servebatch documents (split over the
// shards) as serve's flusher writes them every flush interval at a few
// hundred posts a second, then flushes: the small segments and Bleve's
// merging of them that a crawl causes. -index.persistpause sets
// Options.PersistPause, -index.mapping the mapping.
func BenchmarkIndexingServeBatches(b *testing.B) {
	cutSearch("预热")
	g := newPostGen(1)
	ds := make([]index.Doc, b.N)
	for i := range ds {
		ds[i] = g.next(*benchSize)
		ds[i].TitleWords = givenWords(ds[i].Title)
		ds[i].BodyWords = givenWords(ds[i].Body)
	}
	ix, err := index.OpenVariant(index.Options{Path: filepath.Join(b.TempDir(), "idx"), BatchSize: *serveBatch, FlushInterval: time.Hour, PersistPause: *persistPause,
		Tokenize: cutSearch, Normalize: nlp.NormalizeText}, *serveMapping)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	timeIndexing(b, len(ds), func(i int) error { return ix.Add(ctx, ds[i]) }, func() error { return ix.Flush(ctx) })
	if err := ix.Close(); err != nil {
		b.Fatal(err)
	}
}
