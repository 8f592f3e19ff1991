package crawler

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPageState reads and records the state of one page per op, as a
// crawl does for each page it fetches (Page before, SaveFetched after),
// on a state database of its own in a temporary folder.
func BenchmarkPageState(b *testing.B) {
	st := tempStore(b)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		url := fmt.Sprintf("http://news.example/p/%d.html", i)
		if _, err := st.Page(ctx, url); err != nil {
			b.Fatal(err)
		}
		if err := st.SaveFetched(ctx, url, "bench", PageState{ContentHash: "h", LastStatus: 200}, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSaveFetchedConcurrent records page states from 64 goroutines at
// once, as a run's emit goroutines do when the pipeline acknowledges a
// group of pages, and reports the CPU a save costs.
func BenchmarkSaveFetchedConcurrent(b *testing.B) {
	st := tempStore(b)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU()
	b.ResetTimer()
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := st.SaveFetched(ctx, fmt.Sprintf("http://news.example/p/%d.html", i), "bench", PageState{ContentHash: "h", LastStatus: 200}, now); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/save")
}
