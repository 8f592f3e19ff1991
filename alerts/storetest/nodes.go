package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"riskmine/alerts"
)

// NewPair returns two stores opened with opts on one empty database, as two
// nodes of one installation would open it. It closes both in t.Cleanup.
type NewPair func(t *testing.T, opts alerts.Options) (Store, Store)

// RunNodes runs what several nodes sharing one database must keep: a post
// filed from both is one lead, an outbox row claimed from both is
// delivered once, and a review on one node makes the other's loaded
// version stale.
func RunNodes(t *testing.T, newPair NewPair) {
	tests := []struct {
		name string
		fn   func(*testing.T, [2]Store, *Clock)
	}{
		{"FileSamePostOnBoth", testNodesFile},
		{"OutboxClaimedByBoth", testNodesOutbox},
		{"StaleVersionOnOtherNode", testNodesStale},
		{"RacingReviewOnBoth", testNodesRacingReview},
		{"RepostsOnBoth", testNodesReposts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &Clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			a, b := newPair(t, alerts.Options{Now: clock.Now, Endpoints: []alerts.Endpoint{
				{Name: "ops", URL: "http://127.0.0.1:9/hook", Secret: Secret},
			}})
			tc.fn(t, [2]Store{a, b}, clock)
		})
	}
}

// Both nodes file the same posts at once: one lead per post, one node told
// created and the other duplicate, and both list the same leads.
func testNodesFile(t *testing.T, s [2]Store, clock *Clock) {
	const posts = 12
	results := make([][2]alerts.FileResult, posts)
	var wg sync.WaitGroup
	errs := make(chan error, 2*posts)
	for n := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range posts {
				r, err := s[n].File(context.Background(), post(fmt.Sprintf("https://nodes.test/%d", i), "fire", "350105", 0))
				if err != nil {
					errs <- fmt.Errorf("node %d: %w", n, err)
					continue
				}
				results[i][n] = r
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, r := range results {
		outcomes := []string{r[0].Outcome, r[1].Outcome}
		slices.Sort(outcomes)
		if !slices.Equal(outcomes, []string{alerts.OutcomeCreated, alerts.OutcomeDuplicate}) || r[0].LeadID != r[1].LeadID || r[0].LeadID == "" {
			t.Fatalf("post %d filed on both nodes: %+v", i, r)
		}
	}
	for n := range 2 {
		if _, total, err := s[n].ListLeads(t.Context(), alerts.LeadFilter{}); err != nil || total != posts {
			t.Fatalf("node %d lists %d leads (%v), want %d", n, total, err, posts)
		}
	}
}

// Claimers on both nodes share the outbox: every row is claimed once, and
// once delivered it is claimed by neither again.
func testNodesOutbox(t *testing.T, s [2]Store, clock *Clock) {
	const posts = 20
	for i := range posts {
		file(t, s[i%2], post(fmt.Sprintf("https://nodes.test/%d", i), "fire", "350105", 0))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	byNode := [2]int{}
	// First one claim on each node in turn, so both surely take part; then
	// both race for the rest.
	for n := range 2 {
		ds, err := s[n].ClaimDeliveries(t.Context(), alerts.ClaimRequest{Now: clock.Now(), Limit: 2, Lease: time.Hour})
		if err != nil || len(ds) != 2 {
			t.Fatalf("node %d's first claim: %d rows, %v", n, len(ds), err)
		}
		var recs []alerts.AttemptRecord
		for _, d := range ds {
			seen[d.ID]++
			recs = append(recs, alerts.AttemptRecord{Attempt: alerts.Attempt{DeliveryID: d.ID, N: 1, At: clock.Now(), Status: 200, Outcome: "delivered"}})
		}
		byNode[n] += len(ds)
		if err := s[n].RecordAttempts(t.Context(), recs); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := s[g%2]
			for {
				ds, err := node.ClaimDeliveries(context.Background(), alerts.ClaimRequest{Now: clock.Now(), Limit: 2, Lease: time.Hour})
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				var recs []alerts.AttemptRecord
				for _, d := range ds {
					recs = append(recs, alerts.AttemptRecord{Attempt: alerts.Attempt{DeliveryID: d.ID, N: d.Attempts + 1, At: clock.Now(), Status: 200, Outcome: "delivered"}})
				}
				if err := node.RecordAttempts(context.Background(), recs); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				byNode[g%2] += len(ds)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != posts {
		t.Fatalf("%d deliveries claimed, want %d", len(seen), posts)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("delivery %s claimed %d times", id, n)
		}
	}
	for n := range 2 {
		if _, total, err := s[n].Deliveries(t.Context(), alerts.DeliveryFilter{State: alerts.DeliveryDelivered}); err != nil || total != posts {
			t.Fatalf("node %d sees %d delivered (%v), want %d", n, total, err, posts)
		}
		// Past every lease: nothing is left to claim on either node.
		if ds := claim(t, s[n], clock.Now().Add(2*time.Hour)); len(ds) != 0 {
			t.Fatalf("node %d claims delivered rows again: %+v", n, ds)
		}
	}
	t.Logf("deliveries claimed per node: %v", byNode)
}

// A lead moved on node A cannot be moved on node B with the version B
// loaded before; B then sees A's change and its version.
func testNodesStale(t *testing.T, s [2]Store, clock *Clock) {
	ctx := t.Context()
	id := file(t, s[0], post("https://nodes.test/1", "fire", "350105", simA)).LeadID
	onB := lead(t, s[1], id)
	clock.Add(time.Minute)
	a := transit(t, s[0], id, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana", Version: onB.Version})
	if _, err := s[1].Transition(ctx, id, alerts.TransitionRequest{To: alerts.StateDismissed, Actor: "bo", Reason: "advert", Version: onB.Version}); !errors.Is(err, alerts.ErrConflict) {
		t.Fatalf("stale transition on node B: %v, want ErrConflict", err)
	}
	if _, err := s[1].Assign(ctx, id, alerts.AssignRequest{Actor: "bo", Assignee: "bo", Version: onB.Version}); !errors.Is(err, alerts.ErrConflict) {
		t.Fatalf("stale assignment on node B: %v, want ErrConflict", err)
	}
	now := lead(t, s[1], id)
	if now.State != alerts.StateConfirmed || now.Version != a.Version || now.Assignee != "" {
		t.Fatalf("node B after the conflict: state %s version %d assignee %q, want confirmed %d", now.State, now.Version, now.Assignee, a.Version)
	}
	// With the version it now sees, node B's move goes through.
	b := transit(t, s[1], id, alerts.TransitionRequest{To: alerts.StateDispatched, Actor: "bo", Unit: "brigade 3", Version: now.Version})
	if b.Version != a.Version+1 {
		t.Fatalf("node B's move: version %d, want %d", b.Version, a.Version+1)
	}
	var moves []string
	for _, e := range audit(t, s[0], id) {
		if e.Action == "transition" {
			moves = append(moves, e.From+"→"+e.To)
		}
	}
	if !slices.Equal(moves, []string{"new→confirmed", "confirmed→dispatched"}) {
		t.Fatalf("audit on node A: %v", moves)
	}
}

// Both nodes move one lead from the version they both loaded at the same
// moment: one move wins, the other gets ErrConflict, and the audit trail
// has the winner's move only.
func testNodesRacingReview(t *testing.T, s [2]Store, clock *Clock) {
	for round := range 5 {
		id := file(t, s[0], post(fmt.Sprintf("https://nodes.test/race/%d", round), "fire", "350105", 0)).LeadID
		v := lead(t, s[1], id).Version
		var wg sync.WaitGroup
		var errs [2]error
		for n := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: fmt.Sprintf("node%d", n), Version: v}
				if n == 1 {
					req = alerts.TransitionRequest{To: alerts.StateDismissed, Actor: "node1", Reason: "advert", Version: v}
				}
				_, errs[n] = s[n].Transition(context.Background(), id, req)
			}()
		}
		wg.Wait()
		won := -1
		for n, err := range errs {
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("round %d: both nodes moved the lead from version %d", round, v)
				}
				won = n
			case !errors.Is(err, alerts.ErrConflict):
				t.Fatalf("round %d: node %d: %v, want ErrConflict", round, n, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: neither node moved the lead: %v", round, errs)
		}
		var moves []string
		for _, e := range audit(t, s[1-won], id) {
			if e.Action == "transition" {
				moves = append(moves, e.Actor)
			}
		}
		if len(moves) != 1 || moves[0] != fmt.Sprintf("node%d", won) {
			t.Fatalf("round %d: transitions audited %v, want node%d's only", round, moves, won)
		}
	}
}

// Reposts of one text (one simhash, different URLs) filed on both nodes at
// once join one lead: each node's clustering sees what the other filed.
func testNodesReposts(t *testing.T, s [2]Store, clock *Clock) {
	const perNode = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*perNode)
	ids := make(chan string, 2*perNode)
	for n := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perNode {
				r, err := s[n].File(context.Background(), post(fmt.Sprintf("https://node%d.test/repost/%d", n, i), "fire", "350105", simA))
				if err != nil {
					errs <- err
					continue
				}
				ids <- r.LeadID
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Fatal(err)
	}
	leads := map[string]bool{}
	for id := range ids {
		leads[id] = true
	}
	if len(leads) != 1 {
		t.Fatalf("reposts filed on both nodes made %d leads, want 1", len(leads))
	}
	for id := range leads {
		if l := lead(t, s[1], id); l.SourceCount != 2*perNode || len(l.Sources) != 2*perNode {
			t.Fatalf("lead %s: %d sources (%d listed), want %d", id, l.SourceCount, len(l.Sources), 2*perNode)
		}
	}
}
