package alerts

import (
	"testing"
	"time"
)

// TestStatsCountDaysInTheStoreZone files a post at 23:30 and one at 00:30
// Shanghai time (15:30 and 16:30 UTC of one UTC day): in the Shanghai zone
// they fall on two days, and the lead's times carry the +08:00 offset.
func TestStatsCountDaysInTheStoreZone(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc  *time.Location
		days map[string]int
	}{
		{shanghai, map[string]int{"2026-03-02": 1, "2026-03-03": 1}},
		{time.UTC, map[string]int{"2026-03-02": 2}},
	} {
		t.Run(tc.loc.String(), func(t *testing.T) {
			clock := newClock()
			clock.t = time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)
			s, _ := openTestStore(t, Options{Now: clock.Now, Location: tc.loc})
			r := mustFile(t, s, post("https://example.test/a", "fire", "350105", 1, "起火"))
			clock.Advance(time.Hour)
			mustFile(t, s, post("https://example.test/b", "fire", "350105", 1<<40, "冒烟"))
			st, err := s.Stats(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, d := range st.MentionsPerDay {
				got[d.Day] += d.Count
			}
			if len(got) != len(tc.days) {
				t.Fatalf("days %v, want %v", got, tc.days)
			}
			for d, n := range tc.days {
				if got[d] != n {
					t.Fatalf("days %v, want %v", got, tc.days)
				}
			}
			l, err := s.GetLead(t.Context(), r.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			if l.FirstSeen.Location().String() != tc.loc.String() {
				t.Fatalf("first seen %v is in %v, want %v", l.FirstSeen, l.FirstSeen.Location(), tc.loc)
			}
			if !l.FirstSeen.Equal(time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)) {
				t.Fatalf("first seen %v", l.FirstSeen)
			}
		})
	}
}
