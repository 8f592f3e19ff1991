package alerts

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestInboundCaseNumberAndReplay pins the store side of the inbound API: a
// transition carrying a case number records it with the platform as the
// actor, and an answered webhook id keeps its first answer.
func TestInboundCaseNumberAndReplay(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t, Options{Now: newClock().Now})
	l := &Lead{ID: mustFile(t, s, post("https://a.test/1", "fire", "350105001", 7, "仓库")).LeadID}
	got, err := s.Transition(ctx, l.ID, TransitionRequest{To: StateConfirmed, Actor: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.Transition(ctx, l.ID, TransitionRequest{To: StateDispatched, Actor: "platform:cases", Unit: "fire brigade", CaseNumber: "C-2026-17", Version: got.Version})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.GetLead(ctx, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CaseNumber != "C-2026-17" || again.CaseNumber != "C-2026-17" {
		t.Fatalf("case number %q / stored %q", got.CaseNumber, again.CaseNumber)
	}
	if _, _, ok, err := s.InboundAnswer(ctx, "cases", "msg_1"); ok || err != nil {
		t.Fatalf("unknown id answered: %v %v", ok, err)
	}
	if err := s.RecordInbound(ctx, "cases", "msg_1", 200, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordInbound(ctx, "cases", "msg_1", 409, []byte(`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	st, body, ok, err := s.InboundAnswer(ctx, "cases", "msg_1")
	if err != nil || !ok || st != 200 || string(body) != `{"a":1}` {
		t.Fatalf("replay answer %d %s %v %v", st, body, ok, err)
	}
	if _, _, ok, _ := s.InboundAnswer(ctx, "other", "msg_1"); ok {
		t.Fatal("ids are per platform")
	}
}

// TestInboundClaims: one delivery of a webhook id claims it and the others
// are told to wait, then get its answer; a claim left by a dead process is
// taken over after InboundClaimTTL; a released claim can be taken again;
// of many deliveries racing, exactly one claims.
func TestInboundClaims(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s, _ := openTestStore(t, Options{Now: clock.Now})
	claim := func(id string) (bool, int, string, bool) {
		t.Helper()
		c, st, ans, seen, err := s.ClaimInbound(ctx, "cases", id)
		if err != nil {
			t.Fatal(err)
		}
		return c, st, string(ans), seen
	}
	if c, _, _, seen := claim("m1"); !c || seen {
		t.Fatal("the first delivery does not claim")
	}
	if c, _, _, seen := claim("m1"); c || seen {
		t.Fatal("a second delivery claims, or sees an answer, while the first acts")
	}
	if _, _, ok, _ := s.InboundAnswer(ctx, "cases", "m1"); ok {
		t.Fatal("a claim without an answer reads as answered")
	}
	if err := s.RecordInbound(ctx, "cases", "m1", 200, []byte(`{"ok":1}`)); err != nil {
		t.Fatal(err)
	}
	if c, st, ans, seen := claim("m1"); c || !seen || st != 200 || ans != `{"ok":1}` {
		t.Fatalf("after the answer: claimed %v seen %v %d %s", c, seen, st, ans)
	}

	if c, _, _, _ := claim("m2"); !c {
		t.Fatal("m2 not claimed")
	}
	clock.Advance(InboundClaimTTL - time.Second)
	if c, _, _, _ := claim("m2"); c {
		t.Fatal("a young claim taken over")
	}
	clock.Advance(2 * time.Second)
	if c, _, _, _ := claim("m2"); !c {
		t.Fatal("a stale claim not taken over")
	}
	if err := s.ReleaseInbound(ctx, "cases", "m2"); err != nil {
		t.Fatal(err)
	}
	if c, _, _, _ := claim("m2"); !c {
		t.Fatal("a released claim not taken again")
	}

	var wg sync.WaitGroup
	var claimed atomic.Int32
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, _, _, err := s.ClaimInbound(ctx, "cases", "m3")
			if err != nil {
				t.Error(err)
			}
			if c {
				claimed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := claimed.Load(); n != 1 {
		t.Fatalf("%d of 8 racing deliveries claimed, want 1", n)
	}
}
