package crawler

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkPageState reads and records the state of one page per op, as a
// crawl does for each page it fetches (Page before, SaveFetched after),
// on a state database of its own in a temporary folder.
func BenchmarkPageState(b *testing.B) {
	st, err := OpenStore(filepath.Join(b.TempDir(), "riskmine.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
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
