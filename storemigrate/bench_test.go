package storemigrate_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"riskmine/internal/pgtest"
	"riskmine/storemigrate"
	"riskmine/storemigrate/migratetest"
)

// BenchmarkMigrate moves a data folder of RISKMINE_BENCH_POSTS posts
// (default 5000) and RISKMINE_BENCH_PAGES crawled URLs (default 20000),
// plus the fixture's leads and accounts, into a fresh schema per
// iteration, and reports the posts and the table rows copied per second
// (each over the time of its own part of the copy).
func BenchmarkMigrate(b *testing.B) {
	pgtest.DSN(b) // skips without PostgreSQL
	size := migratetest.Size{Posts: envInt("RISKMINE_BENCH_POSTS", 5000), Pages: envInt("RISKMINE_BENCH_PAGES", 20000)}
	fx := migratetest.Fill(b, b.TempDir(), size)
	ctx := context.Background()
	var posts, rows float64
	var postTime, rowTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		dsn := pgtest.DSN(b)
		b.StartTimer()
		res, err := storemigrate.Run(ctx, storemigrate.Options{DataDir: fx.DataDir, DSN: dsn, Alerts: fx.Alerts})
		if err != nil {
			b.Fatal(err)
		}
		for _, tr := range res.Tables {
			switch {
			case tr.Name == "search_posts":
				posts += float64(tr.Rows)
				postTime += tr.Elapsed
			case tr.Copied:
				rows += float64(tr.Rows)
				rowTime += tr.Elapsed
			}
		}
	}
	b.ReportMetric(posts/postTime.Seconds(), "posts/s")
	b.ReportMetric(rows/rowTime.Seconds(), "rows/s")
	b.ReportMetric(rows/float64(b.N), "rows/op")
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
