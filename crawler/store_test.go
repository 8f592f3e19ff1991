package crawler

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestLeaseExpiry(t *testing.T) {
	st := tempStore(t)
	ctx := context.Background()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		holder string
		at     time.Duration
		want   bool
	}{
		{"a", 0, true},
		{"b", time.Minute, false},                   // a holds it
		{"a", 90 * time.Second, true},               // a renews until 3m30s
		{"b", 3 * time.Minute, false},               // still a's
		{"b", 3*time.Minute + 31*time.Second, true}, // a crashed: expired
	}
	for i, s := range steps {
		got, err := st.TryLease(ctx, "src", s.holder, t0.Add(s.at), 2*time.Minute)
		if err != nil || got != s.want {
			t.Fatalf("step %d (%s at %v): %v %v, want %v", i, s.holder, s.at, got, err, s.want)
		}
	}
	if err := st.ReleaseLease(ctx, "src", "a"); err != nil { // not a's any more: no effect
		t.Fatal(err)
	}
	if ok, _ := st.TryLease(ctx, "src", "c", t0.Add(4*time.Minute), time.Minute); ok {
		t.Fatal("a stale holder released another holder's lease")
	}
	if err := st.ReleaseLease(ctx, "src", "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.TryLease(ctx, "src", "c", t0.Add(4*time.Minute), time.Minute); !ok {
		t.Fatal("lease not free after release")
	}
}

func TestStoreReopenKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskmine.db")
	st, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.SaveFetched(ctx, "http://example.com/a", "s", PageState{ETag: `"x"`, ContentHash: "h", LastStatus: 200}, now); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = OpenStore(path) // migrations run again without harm
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Page(ctx, "http://example.com/a")
	if err != nil || !got.Found || got.ETag != `"x"` || got.ContentHash != "h" || !got.LastFetched.Equal(now) || !got.FirstSeen.Equal(now) {
		t.Fatalf("state after reopen: %+v, %v", got, err)
	}
	later := now.Add(time.Hour)
	st.SaveFetched(ctx, "http://example.com/a", "s", PageState{ContentHash: "h2", LastStatus: 200}, later)
	got, _ = st.Page(ctx, "http://example.com/a")
	if !got.FirstSeen.Equal(now) || !got.LastSeen.Equal(later) || got.ContentHash != "h2" {
		t.Fatalf("first_seen must stay, last_seen move: %+v", got)
	}
}

// TestSaveFetchedConcurrent: page states saved by many goroutines at once
// (written in shared transactions) are each recorded as given.
func TestSaveFetchedConcurrent(t *testing.T) {
	st := tempStore(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := range 20 {
				url := fmt.Sprintf("http://news.example/%d/%d.html", g, i)
				if err := st.SaveFetched(ctx, url, "bench", PageState{ContentHash: url, LastStatus: 200 + i}, now); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for g := range 32 {
		for i := range 20 {
			url := fmt.Sprintf("http://news.example/%d/%d.html", g, i)
			ps, err := st.Page(ctx, url)
			if err != nil || !ps.Found || ps.ContentHash != url || ps.LastStatus != 200+i || !ps.LastFetched.Equal(now) {
				t.Fatalf("%s: %+v %v", url, ps, err)
			}
		}
	}
}

// tempStore opens a state database of its own in a temporary folder,
// closed when the test ends.
func tempStore(tb testing.TB) *Store {
	tb.Helper()
	st, err := OpenStore(filepath.Join(tb.TempDir(), "riskmine.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}
