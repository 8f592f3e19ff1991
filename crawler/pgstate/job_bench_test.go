package pgstate

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"riskmine/crawler"
	"riskmine/internal/pgtest"
)

// BenchmarkJobEnqueueClaimFinish measures the queue's round trip per job:
// enqueue, claim and finish, with four claimers on each of two nodes (a
// pool each) taking jobs of distinct sources at once.
func BenchmarkJobEnqueueClaimFinish(b *testing.B) {
	dsn := pgtest.DSN(b)
	ctx := context.Background()
	nodes := []*Store{open(b, dsn), open(b, dsn)}
	now := time.Now()
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := nodes[i%2].EnqueueJob(ctx, fmt.Sprintf("src%d", i), fmt.Sprintf("src%d@1", i), crawler.JobScheduled, now); err != nil {
			b.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range 8 {
		st := nodes[w%2]
		wg.Go(func() {
			holder := fmt.Sprintf("%s/%d", st.Instance().ID, w)
			for {
				j, ok, err := st.ClaimJob(ctx, holder, now, time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if !ok {
					return
				}
				j.State = crawler.JobDone
				if _, err := st.FinishJob(ctx, j, now); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
}
