package alerts

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestPostLeadsKeepTheirJSON: a lead filed from posts has no kind and no
// burst in its webhook body, so receivers written before bursts see the
// same payload; a burst lead never joins it.
func TestPostLeadsKeepTheirJSON(t *testing.T) {
	clock := newClock()
	secret := "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{{Name: "all", URL: "http://127.0.0.1:9/h", Secret: secret, Bursts: true}}})
	ctx := t.Context()
	res := mustFile(t, s, post("https://a.test/1", "fraud", "350105", 0, "冒充", "客服"))
	ds, _, err := s.Deliveries(ctx, DeliveryFilter{LeadID: res.LeadID})
	if err != nil || len(ds) != 1 {
		t.Fatalf("%d deliveries (%v)", len(ds), err)
	}
	d, err := s.Delivery(ctx, ds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(d.Body, []byte(`"kind"`)) || bytes.Contains(d.Body, []byte(`"burst"`)) {
		t.Errorf("a post lead's body carries kind or burst: %s", d.Body)
	}
	// A burst in the same category and county, then a post sharing the
	// first lead's terms: it joins the post lead, not the burst.
	for i := range 3 {
		at := clock.Now().Add(-time.Duration(i) * time.Minute)
		if err := s.RecordBurstPost(ctx, BurstPost{URL: fmt.Sprintf("https://b.test/%d", i), At: at, SeenAt: at,
			Categories: []string{"fraud"}, Counties: []string{"350105"}}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.FileBurst(ctx, BurstFiling{Info: BurstInfo{Category: "fraud", County: "350105", From: clock.Now().Add(-6 * time.Hour), To: clock.Now(), Seen: 3}, New: true})
	if err != nil || b.Outcome != OutcomeCreated {
		t.Fatalf("burst %+v %v", b, err)
	}
	clock.Advance(time.Minute)
	if r := mustFile(t, s, post("https://a.test/2", "fraud", "350105", 0, "冒充", "客服")); r.LeadID != res.LeadID {
		t.Errorf("post joined %s, want the post lead %s (burst %s)", r.LeadID, res.LeadID, b.LeadID)
	}
	l, err := s.GetLead(ctx, b.LeadID)
	if err != nil || l.SourceCount != 3 || len(l.Sources) != 3 {
		t.Fatalf("burst lead: %+v %v", l, err)
	}
	raw, _ := json.Marshal(l)
	if !bytes.Contains(raw, []byte(`"kind":"burst"`)) || !bytes.Contains(raw, []byte(`"burst":{"category":"fraud"`)) {
		t.Errorf("burst lead JSON %s", raw)
	}
}

func TestEndpointWantsBurstsOnlyWhenOptedIn(t *testing.T) {
	burst := &Lead{Kind: KindBurst, Level: "medium", Categories: []CategoryScore{{Code: "fire"}}}
	plain := &Lead{Level: "medium", Categories: []CategoryScore{{Code: "fire"}}}
	cases := []struct {
		e           Endpoint
		burst, post bool
	}{
		{Endpoint{}, false, true},
		{Endpoint{Bursts: true}, true, true},
		{Endpoint{Bursts: true, Categories: []string{"fraud"}}, false, false},
		{Endpoint{Bursts: true, MinLevel: "high"}, false, false},
	}
	for i, tc := range cases {
		if got := tc.e.wants(EventLeadCreated, burst); got != tc.burst {
			t.Errorf("case %d: wants burst %v", i, got)
		}
		if got := tc.e.wants(EventLeadCreated, plain); got != tc.post {
			t.Errorf("case %d: wants post lead %v", i, got)
		}
	}
}

// TestBurstPostsCountOnceAndPruneKeepsBurstPosts: a post counts once per
// series however often it is recorded; pruning forgets old counted posts
// except those on a burst lead.
func TestBurstPostsCountOnceAndPruneKeepsBurstPosts(t *testing.T) {
	clock := newClock()
	s, _ := openTestStore(t, Options{Now: clock.Now})
	ctx := t.Context()
	now := clock.Now()
	rec := func(url string, at time.Time) {
		t.Helper()
		if err := s.RecordBurstPost(ctx, BurstPost{URL: url, At: at, SeenAt: at, Categories: []string{"fire", "explosion"}, Counties: []string{"350104", "350105"}}); err != nil {
			t.Fatal(err)
		}
	}
	rec("https://a.test/old", now.AddDate(0, 0, -40))
	rec("https://a.test/1", now.Add(-time.Hour))
	rec("https://a.test/1", now.Add(-time.Hour))
	rec("https://a.test/2", now.Add(-30*time.Minute))
	if n := countRows(t, s, "alerts_burst_post", "1"); n != 12 {
		t.Fatalf("%d rows, want 3 posts × 2 categories × 2 counties", n)
	}
	series, err := s.BurstSeriesSince(ctx, now.Add(-6*time.Hour), now, 2)
	if err != nil || len(series) != 4 || series[0].Posts != 2 {
		t.Fatalf("series %+v (%v), want 4 with 2 posts each", series, err)
	}
	// The old post is on a burst lead in fire/350104 only.
	if _, err := s.FileBurst(ctx, BurstFiling{Info: BurstInfo{Category: "fire", County: "350104", From: now.AddDate(0, 0, -41), To: now.AddDate(0, 0, -39)}, New: true}); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneBurstPosts(ctx, now.AddDate(0, 0, -30))
	if err != nil || n != 3 {
		t.Fatalf("pruned %d (%v), want the old post's 3 rows that are on no burst lead", n, err)
	}
	if since, err := s.BurstSince(ctx); err != nil || !since.Equal(now) {
		t.Errorf("burst history starts %v (%v), want %v", since, err, now)
	}
}
