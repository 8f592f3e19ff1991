package alerts

import (
	"context"
	"testing"
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
