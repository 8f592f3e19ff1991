package pgindex

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"riskmine/evidence"
	"riskmine/internal/pgtest"
)

// BenchmarkNodes archives pages of about 30 KB on one node and reads each
// back on another through the index, with the index in SQLite (two
// handles on one file) and in PostgreSQL (two pools on one schema): what
// the index costs a capture on each backend, the WARC work being the same.
//
//	RISKMINE_TEST_POSTGRES=… go test -run '^$' -bench BenchmarkNodes -benchtime 300x ./evidence/pgindex
func BenchmarkNodes(b *testing.B) {
	ctx := context.Background()
	body := []byte("<!doctype html><p>" + strings.Repeat("小区门口的井盖松动了，晚上经过的居民差点踩空。", 450) + "</p>")
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var open func() evidence.Index
			switch backend {
			case "sqlite":
				path := filepath.Join(b.TempDir(), "riskmine.db")
				open = func() evidence.Index {
					x, err := evidence.OpenSQLiteIndex(ctx, path)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { x.Close() })
					return x
				}
			case "postgres":
				dsn := pgtest.DSN(b)
				open = func() evidence.Index {
					x, err := Open(ctx, dsn)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { x.Close() })
					return x
				}
			}
			dir := b.TempDir()
			archive := func(node string) *evidence.Archive {
				a, _, err := evidence.Open(ctx, evidence.Options{Dir: dir, Node: node, Index: open(), Version: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { a.Close() })
				return a
			}
			w, api := archive("worker-1"), archive("api-1")
			var putTime, readTime time.Duration
			b.ResetTimer()
			for i := range b.N {
				url := fmt.Sprintf("http://forum.test/t/%d", i)
				t0 := time.Now()
				_, _, err := w.Put(ctx, evidence.Page{LeadID: fmt.Sprint("L", i), URL: url, Source: "forum", Capture: evidence.Capture{
					Method: http.MethodGet, RequestURL: url, Status: 200,
					ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
					Body:           append([]byte(fmt.Sprint(i)), body...), FetchedAt: time.Now()}})
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				got, err := api.ForLead(ctx, fmt.Sprint("L", i))
				if err != nil || len(got) != 1 {
					b.Fatalf("ForLead: %d, %v", len(got), err)
				}
				if _, err := api.Records(got[0]); err != nil {
					b.Fatal(err)
				}
				putTime += t1.Sub(t0)
				readTime += time.Since(t1)
			}
			b.ReportMetric(float64(putTime.Microseconds())/float64(b.N)/1000, "put-ms/op")
			b.ReportMetric(float64(readTime.Microseconds())/float64(b.N)/1000, "read-ms/op")
		})
	}
}
