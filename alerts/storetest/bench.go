package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/alerts"
)

// BenchRecordBurstPost counts b.N distinct posts (one category of six, one
// county of twenty each, as most scored posts are) through the stores
// given, with callers goroutines on each: what burst counting adds to the
// ingest of every scored post. It reports posts/s.
func BenchRecordBurstPost(b *testing.B, stores []alerts.ServiceStore, callers int) {
	cats := []string{"fire", "flood", "traffic", "explosion", "collapse", "gas"}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*callers)
	b.ResetTimer()
	for _, s := range stores {
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1) - 1
					if i >= int64(b.N) {
						return
					}
					at := start.Add(time.Duration(i) * time.Second)
					county := fmt.Sprintf("3501%02d", i%20)
					err := s.RecordBurstPost(context.Background(), alerts.BurstPost{
						URL: fmt.Sprintf("https://bench.test/%d", i), Site: "bench.test", Source: "bench", Title: "bench post",
						Snippet: "正文", At: at, SeenAt: at, Level: "low", Score: 2,
						Categories: []string{cats[i%int64(len(cats))]}, Counties: []string{county}, CountyNames: []string{"县 " + county},
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "posts/s")
}

// BenchLeadEvent files b.N new leads on from, one at a time, and waits for
// each one's event on to's subscription: ns/op is filing plus the event's
// way to the other node; "µs-after-file" is the part of it after File
// returned.
func BenchLeadEvent(b *testing.B, from, to alerts.ServiceStore) {
	ch, cancel := to.SubscribeLeads()
	defer cancel()
	var after time.Duration
	b.ResetTimer()
	for i := range b.N {
		c := post(fmt.Sprintf("https://event.bench/%d", i), "fire", fmt.Sprintf("3501%02d", i%20), 0)
		r, err := from.File(context.Background(), c)
		if err != nil {
			b.Fatal(err)
		}
		filed := time.Now()
		for {
			select {
			case ev := <-ch:
				if ev.ID != r.LeadID {
					continue
				}
			case <-time.After(10 * time.Second):
				b.Fatalf("no event for lead %s within 10 s", r.LeadID)
			}
			break
		}
		after += time.Since(filed)
	}
	b.StopTimer()
	b.ReportMetric(float64(after.Microseconds())/float64(b.N), "µs-after-file")
}
