package alerts

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestFileClustering(t *testing.T) {
	clock := newClock()
	s, _ := openTestStore(t, Options{Now: clock.Now})
	ctx := t.Context()

	first := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 0xF0F0F0F0F0F0F0F0, "仓库", "起火", "马尾"))
	if first.Outcome != OutcomeCreated {
		t.Fatalf("first post: %+v", first)
	}

	t.Run("same canonical url twice is a duplicate", func(t *testing.T) {
		c := post("https://a.test/1?utm=x", "fire", "350105001", 0xF0F0F0F0F0F0F0F0, "仓库")
		c.CanonicalURL = "https://a.test/1"
		r := mustFile(t, s, c)
		if r.Outcome != OutcomeDuplicate || r.LeadID != first.LeadID {
			t.Fatalf("got %+v, want duplicate of %s", r, first.LeadID)
		}
		if n := countRows(t, s, "alerts_source", "canonical_url = ?", "https://a.test/1"); n != 1 {
			t.Fatalf("%d source rows for the url, want 1", n)
		}
	})

	t.Run("near-duplicate simhash from another site joins", func(t *testing.T) {
		c := post("https://b.test/repost", "fire", "", 0xF0F0F0F0F0F0F0F0^0b101, "完全", "不同") // 2 bits off, no place
		c.Level = "critical"
		r := mustFile(t, s, c)
		if r.Outcome != OutcomeJoined || r.LeadID != first.LeadID {
			t.Fatalf("got %+v, want joined %s", r, first.LeadID)
		}
		l, err := s.GetLead(ctx, first.LeadID)
		if err != nil {
			t.Fatal(err)
		}
		if l.SourceCount != 2 || len(l.Sources) != 2 || l.Level != "critical" {
			t.Fatalf("lead after repost: sources %d/%d level %s", l.SourceCount, len(l.Sources), l.Level)
		}
	})

	t.Run("a lower-level repost never lowers the level", func(t *testing.T) {
		c := post("https://c.test/x", "fire", "350105002", 0xF0F0F0F0F0F0F0F0^0b1, "仓库", "起火")
		c.Level = "medium"
		r := mustFile(t, s, c)
		if r.Outcome != OutcomeJoined {
			t.Fatalf("got %+v", r)
		}
		l, _ := s.GetLead(ctx, first.LeadID)
		if l.Level != "critical" || l.SourceCount != 3 {
			t.Fatalf("level %s sources %d, want critical 3", l.Level, l.SourceCount)
		}
	})

	t.Run("far simhash, same district and category, different terms: separate lead", func(t *testing.T) {
		r := mustFile(t, s, post("https://d.test/other", "fire", "350105003", 0x0123456789ABCDEF, "厨房", "油锅", "餐馆"))
		if r.Outcome != OutcomeCreated || r.LeadID == first.LeadID {
			t.Fatalf("different incident got %+v", r)
		}
	})

	t.Run("same district and category, shared terms within the window: joins", func(t *testing.T) {
		clock.Advance(20 * time.Hour)
		r := mustFile(t, s, post("https://e.test/follow", "fire", "350105009", 0x1111222233334444, "仓库", "起火", "消防"))
		if r.Outcome != OutcomeJoined || r.LeadID != first.LeadID {
			t.Fatalf("got %+v, want joined %s", r, first.LeadID)
		}
	})

	t.Run("shared terms but another county: separate", func(t *testing.T) {
		r := mustFile(t, s, post("https://f.test/elsewhere", "fire", "350102001", 0x5555666677778888, "仓库", "起火"))
		if r.Outcome != OutcomeCreated {
			t.Fatalf("got %+v", r)
		}
	})

	t.Run("shared terms outside the window: separate", func(t *testing.T) {
		c := post("https://g.test/late", "fire", "350105001", 0x9999AAAABBBBCCCC, "仓库", "起火")
		c.PublishedAt = clock.Now().Add(5 * 24 * time.Hour)
		r := mustFile(t, s, c)
		if r.Outcome != OutcomeCreated {
			t.Fatalf("got %+v", r)
		}
	})

	t.Run("below the lead level is not filed", func(t *testing.T) {
		c := post("https://h.test/low", "fire", "350105001", 1, "仓库")
		c.Level = "low"
		r := mustFile(t, s, c)
		if r.Outcome != OutcomeBelowThreshold || r.LeadID != "" {
			t.Fatalf("got %+v", r)
		}
		if n := countRows(t, s, "alerts_source", "url = ?", c.URL); n != 0 {
			t.Fatalf("low post stored")
		}
	})

	t.Run("bad candidates are refused", func(t *testing.T) {
		if _, err := s.File(ctx, Candidate{Level: "high"}); err == nil {
			t.Fatal("no url accepted")
		}
		if _, err := s.File(ctx, Candidate{URL: "https://x.test", Level: "severe"}); err == nil {
			t.Fatal("unknown level accepted")
		}
	})
}

func TestFileSameURLConcurrently(t *testing.T) {
	s, path := openTestStore(t, Options{})
	// A second store on the same file stands for another process.
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var wg sync.WaitGroup
	results := make([]FileResult, 16)
	for i := range results {
		st := Store(s)
		if i%2 == 1 {
			st = s2
		}
		wg.Go(func() {
			r, err := st.File(t.Context(), post("https://same.test/p", "fire", "350105001", 42, "仓库"))
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	created := 0
	for _, r := range results {
		switch {
		case r.LeadID != results[0].LeadID || r.LeadID == "":
			t.Fatalf("results name different leads: %+v vs %+v", r, results[0])
		case r.Outcome == OutcomeCreated:
			created++
		case r.Outcome != OutcomeDuplicate:
			t.Fatalf("unexpected result %+v", r)
		}
	}
	if created != 1 {
		t.Fatalf("%d leads created for one url, want 1", created)
	}
	if n := countRows(t, s, "alerts_lead", "1"); n != 1 {
		t.Fatalf("%d leads, want 1", n)
	}
	if n := countRows(t, s, "alerts_source", "1"); n != 1 {
		t.Fatalf("%d sources, want 1", n)
	}
}

func TestSimhashBandsFindEveryNearDuplicate(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	base := uint64(0xDEADBEEFCAFEF00D)
	mustFile(t, s, post("https://base.test", "fire", "", base))
	// Three flipped bits spread over bands, and three in one band: both
	// must be found (pigeonhole over 4 bands).
	for i, flips := range [][]uint{{0, 20, 40}, {1, 2, 3}, {63, 47, 31}} {
		h := base
		for _, b := range flips {
			h ^= 1 << b
		}
		r := mustFile(t, s, post(fmt.Sprintf("https://dup%d.test", i), "fire", "", h))
		if r.Outcome != OutcomeJoined {
			t.Fatalf("flips %v: %+v", flips, r)
		}
	}
	h := base ^ (0b1111 << 10) // distance 4 from the base, 7 from each duplicate
	if r := mustFile(t, s, post("https://far.test", "fire", "", h)); r.Outcome != OutcomeCreated {
		t.Fatalf("distance 4 joined: %+v", r)
	}
}

func TestBandsRebuiltWhenDistanceChanges(t *testing.T) {
	s, path := openTestStore(t, Options{})
	base := uint64(0x0F0F0F0F0F0F0F0F)
	mustFile(t, s, post("https://base.test", "fire", "", base))
	s.Close()
	s2, err := OpenSQLite(path, Options{SimhashDistance: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	r := mustFile(t, s2, post("https://five.test", "fire", "", base^0b11111))
	if r.Outcome != OutcomeJoined {
		t.Fatalf("distance 5 with SimhashDistance 5: %+v", r)
	}
}
