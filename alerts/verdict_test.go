package alerts

import (
	"testing"
)

func TestDismissalIsNegative(t *testing.T) {
	for reason, want := range map[string]bool{
		"误报，消防演练":        true,
		"不属实":            true,
		"问题已解决":          true,
		"重复线索":           false,
		"與既有線索重複":        false,
		"非本辖区，已转仓山区":     false,
		"Out of area":    false,
		"duplicate of X": false,
		"":               false,
		"   ":            false,
	} {
		if got := DismissalIsNegative(reason); got != want {
			t.Errorf("%q: %v, want %v", reason, got, want)
		}
	}
}

func TestVerdictsListReviewedLeads(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	ctx := t.Context()
	ids := map[string]string{}
	for i, name := range []string{"confirmed", "closed", "dismissed", "duplicate", "new", "merged"} {
		r := mustFile(t, s, post("https://a.test/"+name, []string{"fire", "flood", "fraud", "fire", "fire", "fire"}[i], "350105", uint64(i+1)*0x9E3779B97F4A7C15, name+"x", name+"y"))
		ids[name] = r.LeadID
	}
	step := func(name string, reqs ...TransitionRequest) {
		for _, req := range reqs {
			l, err := s.GetLead(ctx, ids[name])
			if err != nil {
				t.Fatal(err)
			}
			req.Actor, req.Version = "ana", l.Version
			if _, err := s.Transition(ctx, ids[name], req); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	step("confirmed", TransitionRequest{To: StateConfirmed})
	step("closed", TransitionRequest{To: StateConfirmed}, TransitionRequest{To: StateDispatched, Unit: "消防"},
		TransitionRequest{To: StateHandled}, TransitionRequest{To: StateVerified}, TransitionRequest{To: StateClosed})
	step("dismissed", TransitionRequest{To: StateDismissed, Reason: "正规理财广告，不是诈骗"})
	step("duplicate", TransitionRequest{To: StateDismissed, Reason: "重复"})
	step("merged", TransitionRequest{To: StateMerged, MergeInto: ids["confirmed"]})

	vs, err := s.Verdicts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Verdict{}
	for _, v := range vs {
		got[v.LeadID] = v
	}
	if len(got) != 3 {
		t.Fatalf("%d verdicts, want confirmed, closed and dismissed: %+v", len(got), vs)
	}
	if v := got[ids["confirmed"]]; !v.Positive || v.Category != "fire" || v.Text != "正文 https://a.test/confirmed" || v.Title == "" {
		t.Errorf("confirmed: %+v", v)
	}
	if v := got[ids["closed"]]; !v.Positive || v.Category != "flood" || v.State != StateClosed {
		t.Errorf("closed: %+v", v)
	}
	if v := got[ids["dismissed"]]; v.Positive || v.Reason != "正规理财广告，不是诈骗" || v.Category != "fraud" {
		t.Errorf("dismissed: %+v", v)
	}
}
