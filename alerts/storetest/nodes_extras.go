package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"riskmine/alerts"
)

// NewServicePair returns two alerts.ServiceStores opened with opts on one
// empty database, as two nodes would open it, and closes both in
// t.Cleanup.
type NewServicePair func(t *testing.T, opts alerts.Options) (alerts.ServiceStore, alerts.ServiceStore)

func runServicePairs(t *testing.T, newPair NewServicePair, tests []servicePairCase) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &Clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			a, b := newPair(t, alerts.Options{Now: clock.Now, Location: extrasZone, Endpoints: extrasEndpoints()})
			tc.fn(t, [2]alerts.ServiceStore{a, b}, clock)
		})
	}
}

type servicePairCase struct {
	name string
	fn   func(*testing.T, [2]alerts.ServiceStore, *Clock)
}

// RunNodesExtras runs what two nodes sharing one database must keep of
// the service's extras: posts counted from both count once, a burst filed
// from both at once is one lead with each post once, and a source health
// row queued on one node is delivered from the other.
func RunNodesExtras(t *testing.T, newPair NewServicePair) {
	runServicePairs(t, newPair, []servicePairCase{
		{"BurstOnBoth", testNodesBurst},
		{"HealthRowOnOtherNode", testNodesHealth},
	})
}

// RunNodesEvents runs what a backend whose nodes hear each other keeps:
// the leads filed on one node (posts and bursts) reach the subscribers on
// the other, and outbox rows queued on one wake the other's dispatcher.
// PostgreSQL does it with LISTEN/NOTIFY; SQLite's events stay in the
// process that filed the lead, so it does not run this.
func RunNodesEvents(t *testing.T, newPair NewServicePair) {
	runServicePairs(t, newPair, []servicePairCase{
		{"LeadEventsOnOtherNode", testNodesLeadEvents},
		{"OutboxSignalOnOtherNode", testNodesSignal},
	})
}

// Both nodes count the same posts and then file the same burst at once:
// each post counts once, one node opens the burst lead and the other finds
// nothing left to file.
func testNodesBurst(t *testing.T, s [2]alerts.ServiceStore, clock *Clock) {
	ctx := t.Context()
	const posts = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*posts)
	for n := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range posts {
				p := burstPost(fmt.Sprintf("https://burst.test/%d", i), clock.Now().Add(-time.Duration(i+1)*time.Minute), "fire", "350105")
				if err := s[n].RecordBurstPost(context.Background(), p); err != nil {
					errs <- fmt.Errorf("node %d: %w", n, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for n := range 2 {
		series, err := s[n].BurstSeriesSince(ctx, clock.Now().Add(-time.Hour), clock.Now(), 1)
		if err != nil || len(series) != 1 || series[0].Posts != posts {
			t.Fatalf("node %d: series %+v %v, want one of %d posts", n, series, err, posts)
		}
	}
	info := alerts.BurstInfo{Category: "fire", County: "350105", From: clock.Now().Add(-time.Hour), To: clock.Now(),
		Seen: posts, Expected: 0.5, Threshold: 3, Tail: 1e-5}
	var results [2]alerts.FileResult
	errs = make(chan error, 2)
	for n := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s[n].FileBurst(context.Background(), alerts.BurstFiling{Info: info, Level: "high"})
			if err != nil {
				errs <- fmt.Errorf("node %d: %w", n, err)
			}
			results[n] = r
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	outcomes := []string{results[0].Outcome, results[1].Outcome}
	slices.Sort(outcomes)
	if !slices.Equal(outcomes, []string{alerts.OutcomeCreated, alerts.OutcomeDuplicate}) || results[0].LeadID != results[1].LeadID {
		t.Fatalf("one burst filed on both nodes: %+v", results)
	}
	for n := range 2 {
		l := lead(t, s[n], results[0].LeadID)
		urls := map[string]bool{}
		for _, src := range l.Sources {
			urls[src.URL] = true
		}
		if l.SourceCount != posts || len(l.Sources) != posts || len(urls) != posts {
			t.Fatalf("node %d: burst lead with %d sources (%d listed, %d distinct), want %d", n, l.SourceCount, len(l.Sources), len(urls), posts)
		}
		if id, _, err := s[n].LastBurst(ctx, "fire", "350105"); err != nil || id != l.ID {
			t.Fatalf("node %d: last burst %q %v, want %s", n, id, err, l.ID)
		}
	}
	if _, total, err := s[1].ListLeads(ctx, alerts.LeadFilter{}); err != nil || total != 1 {
		t.Fatalf("%d leads (%v), want 1", total, err)
	}
}

// A health change queued on node A is listed and claimed on node B.
func testNodesHealth(t *testing.T, s [2]alerts.ServiceStore, clock *Clock) {
	ctx := t.Context()
	ev := alerts.SourceHealthEvent{Source: "forum", Problem: alerts.HealthNoItems, Failing: true, Since: clock.Now(), At: clock.Now(), Runs: 5}
	if n, err := s[0].NotifySourceHealth(ctx, ev); err != nil || n != 1 {
		t.Fatalf("queued %d (%v), want 1", n, err)
	}
	ds, err := s[1].ClaimDeliveries(ctx, alerts.ClaimRequest{Now: clock.Now(), Limit: 10, Lease: time.Minute})
	if err != nil || len(ds) != 1 || ds[0].Event != alerts.EventSourceHealth || ds[0].Endpoint != "health" {
		t.Fatalf("claimed on the other node: %v %v", events(ds), err)
	}
	if again, err := s[0].ClaimDeliveries(ctx, alerts.ClaimRequest{Now: clock.Now(), Limit: 10, Lease: time.Minute}); err != nil || len(again) != 0 {
		t.Fatalf("claimed again on the first node: %v %v", events(again), err)
	}
}

// Subscribers on both nodes hear of the leads created on either, each
// once and in the order they were filed.
func testNodesLeadEvents(t *testing.T, s [2]alerts.ServiceStore, clock *Clock) {
	ctx := t.Context()
	var subs [2]<-chan alerts.LeadEvent
	for n := range 2 {
		ch, cancel := s[n].SubscribeLeads()
		t.Cleanup(cancel)
		subs[n] = ch
	}
	onA := file(t, s[0], post("https://n.test/a", "fire", "350105", simA, "仓库", "起火"))
	file(t, s[1], post("https://n.test/a-repost", "fire", "350105", simA)) // joins: no event
	onB := file(t, s[1], post("https://n.test/b", "flood", "350181", simB))
	record(t, s[0], burstPost("https://n.test/burst", clock.Now().Add(-time.Minute), "fire", "350102"))
	burst, err := s[0].FileBurst(ctx, alerts.BurstFiling{Level: "high", New: true, Info: alerts.BurstInfo{Category: "fire", County: "350102",
		From: clock.Now().Add(-time.Hour), To: clock.Now(), Seen: 1, Expected: 0.01, Threshold: 1, Tail: 0.01}})
	if err != nil || burst.Outcome != alerts.OutcomeCreated {
		t.Fatalf("burst on node A: %+v %v", burst, err)
	}
	la := lead(t, s[1], onA.LeadID)
	for n, ch := range subs {
		if ev := next(t, ch); ev != (alerts.LeadEvent{ID: la.ID, Level: la.Level, Category: "fire", Title: la.Title}) {
			t.Fatalf("node %d: first event %+v, want the lead filed on A (%s)", n, ev, la.ID)
		}
		if ev := next(t, ch); ev.ID != onB.LeadID || ev.Category != "flood" {
			t.Fatalf("node %d: second event %+v, want the lead filed on B (%s)", n, ev, onB.LeadID)
		}
		if ev := next(t, ch); ev.ID != burst.LeadID || ev.Category != "fire" {
			t.Fatalf("node %d: third event %+v, want the burst filed on A (%s)", n, ev, burst.LeadID)
		}
	}
	for n, ch := range subs {
		select {
		case ev := <-ch:
			t.Fatalf("node %d: a fourth event %+v", n, ev)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Outbox rows queued on node A (a lead, a health change) wake node B's
// dispatcher.
func testNodesSignal(t *testing.T, s [2]alerts.ServiceStore, clock *Clock) {
	drain := func() {
		for {
			select {
			case <-s[1].OutboxSignal():
			case <-time.After(200 * time.Millisecond):
				return
			}
		}
	}
	wait := func(what string) {
		t.Helper()
		select {
		case <-s[1].OutboxSignal():
		case <-time.After(10 * time.Second):
			t.Fatalf("node B not woken by %s queued on node A", what)
		}
	}
	drain()
	file(t, s[0], post("https://sig.test/1", "fire", "350105", simA))
	wait("a lead's rows")
	drain()
	if _, err := s[0].NotifySourceHealth(t.Context(), alerts.SourceHealthEvent{Source: "forum", Problem: alerts.HealthRobots,
		Failing: true, Since: clock.Now(), At: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	wait("a health row")
}
