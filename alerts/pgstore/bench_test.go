package pgstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"riskmine/alerts"
	"riskmine/alerts/storetest"
	"riskmine/internal/pgtest"
)

// BenchmarkFile files b.N distinct posts (random simhashes, six categories
// over twenty counties, so some join by place) from one or two stores on
// one schema, with several callers each: what the filing lock costs when
// nodes file at once.
func BenchmarkFile(b *testing.B) {
	cats := []string{"fire", "flood", "traffic", "explosion", "collapse", "gas"}
	for _, tc := range []struct{ nodes, callers int }{{1, 1}, {1, 4}, {2, 2}} {
		b.Run(fmt.Sprintf("nodes=%d/callers=%d", tc.nodes, tc.callers), func(b *testing.B) {
			dsn := pgtest.DSN(b)
			stores := make([]*Store, tc.nodes)
			for i := range stores {
				s, err := Open(context.Background(), dsn, alerts.Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				stores[i] = s
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, tc.nodes*tc.callers)
			b.ResetTimer()
			for n := range tc.nodes {
				for c := range tc.callers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(n), uint64(c)))
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							county := fmt.Sprintf("3501%02d", i%20)
							cand := alerts.Candidate{
								URL: fmt.Sprintf("https://bench.test/%d", i), Site: "bench.test", Source: "bench",
								Title: "bench post", Level: "high", Score: 7, SimHash: rng.Uint64(),
								Categories:    []alerts.CategoryScore{{Code: cats[i%int64(len(cats))], Score: 7}},
								LocationCodes: []string{county + "001"}, Terms: []string{fmt.Sprintf("t%d", i), fmt.Sprintf("t%d", i+1)},
							}
							if _, err := stores[n].File(context.Background(), cand); err != nil {
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
		})
	}
}

// BenchmarkRecordBurstPost counts distinct posts for burst detection from
// one or two stores on one schema (storetest.BenchRecordBurstPost).
func BenchmarkRecordBurstPost(b *testing.B) {
	for _, tc := range []struct{ nodes, callers int }{{1, 1}, {1, 4}, {2, 2}} {
		b.Run(fmt.Sprintf("nodes=%d/callers=%d", tc.nodes, tc.callers), func(b *testing.B) {
			s1, s2 := servicePair(b, alerts.Options{})
			stores := []alerts.ServiceStore{s1, s2}[:tc.nodes]
			storetest.BenchRecordBurstPost(b, stores, tc.callers)
		})
	}
}

// BenchmarkLeadEventOtherNode files leads on one store and waits for each
// one's event on another store of the same schema (LISTEN/NOTIFY).
func BenchmarkLeadEventOtherNode(b *testing.B) {
	a, o := servicePair(b, alerts.Options{})
	storetest.BenchLeadEvent(b, a, o)
}
