package alerts

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injected clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openTestStore(t testing.TB, opts Options) (*SQLStore, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "riskmine.db")
	s, err := OpenSQLite(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// post builds a candidate of category cat in county code with terms.
func post(url, cat, code string, sim uint64, terms ...string) Candidate {
	return Candidate{
		URL:           url,
		Site:          "example.test",
		Title:         "标题 " + url,
		Snippet:       "正文 " + url,
		Level:         "high",
		Score:         7,
		Categories:    []CategoryScore{{Code: cat, Score: 7}},
		LocationCodes: []string{code},
		LocationNames: []string{"福建省/福州市/马尾区"},
		SimHash:       sim,
		Terms:         terms,
		Evidence:      []Evidence{{Rule: cat + "/rule_a", Category: cat, Field: "text", Text: "火", Start: 0, End: 1, Weight: 3}},
	}
}

func mustFile(t testing.TB, s Store, c Candidate) FileResult {
	t.Helper()
	r, err := s.File(t.Context(), c)
	if err != nil {
		t.Fatalf("file %s: %v", c.URL, err)
	}
	return r
}

func countRows(t testing.TB, s *SQLStore, table, where string, args ...any) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(fmt.Sprintf("SELECT count(*) FROM %s WHERE %s", table, where), args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func splitFields(s string) []string { return strings.Fields(s) }
