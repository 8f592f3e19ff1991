package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCaseLoopAndAudit(t *testing.T) {
	clock := newClock()
	s, _ := openTestStore(t, Options{Now: clock.Now})
	ctx := t.Context()
	id := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 7, "仓库")).LeadID

	steps := []TransitionRequest{
		{To: StateConfirmed, Actor: "li", Note: "属实", Assignee: "wang"},
		{To: StateDispatched, Actor: "li", Unit: "马尾区消防救援大队"},
		{To: StateHandled, Actor: "unit", Reason: "明火已扑灭"},
		{To: StateVerified, Actor: "li"},
		{To: StateClosed, Actor: "li", Note: "结案"},
	}
	for i, req := range steps {
		req.Version = i + 1
		l, err := s.Transition(ctx, id, req)
		if err != nil {
			t.Fatalf("step %d → %s: %v", i, req.To, err)
		}
		if l.State != req.To || l.Version != i+2 {
			t.Fatalf("step %d: state %s version %d", i, l.State, l.Version)
		}
	}
	l, err := s.GetLead(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l.Assignee != "wang" || l.Unit != "马尾区消防救援大队" || l.Resolution != "明火已扑灭" || l.ClosedAt == nil {
		t.Fatalf("closed lead: %+v", l)
	}
	audit, err := s.Audit(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, a := range audit {
		trail = append(trail, a.Action+":"+a.From+">"+a.To+"@"+a.Actor)
	}
	want := "created:>new@riskmine transition:new>confirmed@li assign:>wang@li transition:confirmed>dispatched@li transition:dispatched>handled@unit transition:handled>verified@li transition:verified>closed@li"
	if got := strings.Join(trail, " "); got != want {
		t.Fatalf("audit trail\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(audit[1].Note, "属实") || audit[1].At != clock.Now() {
		t.Fatalf("audit entry lost its note or time: %+v", audit[1])
	}
}

func TestIllegalTransitions(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	ctx := t.Context()
	id := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 7)).LeadID
	other := mustFile(t, s, post("https://b.test/2", "fire", "350105001", 0xFFFF0000FFFF0000)).LeadID

	cases := []struct {
		name string
		req  TransitionRequest
		want error
	}{
		{"new to handled skips steps", TransitionRequest{To: StateHandled}, ErrIllegalTransition},
		{"new to closed", TransitionRequest{To: StateClosed}, ErrIllegalTransition},
		{"unknown state", TransitionRequest{To: "done"}, ErrInvalid},
		{"dismiss without reason", TransitionRequest{To: StateDismissed}, ErrInvalid},
		{"dismiss without reason names the reason", TransitionRequest{To: StateDismissed, Reason: " "}, ErrReasonRequired},
		{"merge without target", TransitionRequest{To: StateMerged}, ErrInvalid},
		{"merge into itself", TransitionRequest{To: StateMerged, MergeInto: id}, ErrInvalid},
		{"merge into a missing lead", TransitionRequest{To: StateMerged, MergeInto: "nope"}, ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Transition(ctx, id, tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	var te *TransitionError
	_, err := s.Transition(ctx, id, TransitionRequest{To: StateVerified})
	if !errors.As(err, &te) || te.From != StateNew || te.To != StateVerified || !strings.Contains(err.Error(), "allowed from new: confirmed, dismissed, merged") {
		t.Fatalf("transition error lacks from/to: %v", err)
	}
	// Dispatch needs a unit.
	if _, err := s.Transition(ctx, id, TransitionRequest{To: StateConfirmed}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, id, TransitionRequest{To: StateDispatched}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("dispatch without unit: %v", err)
	}
	// A dismissed lead only goes back to new (reopen), never on in the loop.
	if _, err := s.Transition(ctx, other, TransitionRequest{To: StateDismissed, Reason: "演练"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, other, TransitionRequest{To: StateConfirmed}); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("reopening a dismissed lead: %v", err)
	}
	if _, err := s.Transition(ctx, "missing", TransitionRequest{To: StateConfirmed}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing lead: %v", err)
	}
	// Nothing illegal left a trace.
	l, _ := s.GetLead(ctx, id)
	if l.State != StateConfirmed || l.Version != 2 {
		t.Fatalf("lead after refused moves: %s v%d", l.State, l.Version)
	}
}

func TestConcurrentTransitionsOneWins(t *testing.T) {
	s, path := openTestStore(t, Options{})
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	ctx := t.Context()
	for round := range 5 {
		id := mustFile(t, s, post("https://a.test/"+string(rune('a'+round)), "fire", "", uint64(round+1)*0x1111111111111111)).LeadID
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, st := range []Store{s, s2} {
			wg.Go(func() {
				to := StateConfirmed
				req := TransitionRequest{To: to, Actor: "analyst", Version: 1}
				if i == 1 {
					req = TransitionRequest{To: StateDismissed, Reason: "误报", Actor: "other", Version: 1}
				}
				_, errs[i] = st.Transition(ctx, id, req)
			})
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ErrConflict):
				conflict++
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("round %d: %d won, %d conflicted (%v)", round, ok, conflict, errs)
		}
		if n := countRows(t, s, "alerts_audit", "lead_id = ? AND action = 'transition'", id); n != 1 {
			t.Fatalf("%d transitions audited, want 1", n)
		}
	}
}

func TestMergeMovesSources(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	ctx := t.Context()
	a := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 0xAAAA000000000000)).LeadID
	b := mustFile(t, s, post("https://b.test/1", "explosion", "350102001", 0x0000000000005555)).LeadID
	mustFile(t, s, post("https://b.test/2", "explosion", "350102001", 0x0000000000005554))
	if _, err := s.Transition(ctx, b, TransitionRequest{To: StateMerged, MergeInto: a, Actor: "li"}); err != nil {
		t.Fatal(err)
	}
	la, _ := s.GetLead(ctx, a)
	lb, _ := s.GetLead(ctx, b)
	if la.SourceCount != 3 || len(la.Sources) != 3 || lb.State != StateMerged || lb.MergedInto != a || len(lb.Sources) != 0 {
		t.Fatalf("after merge: target %d/%d sources, merged %s into %q with %d sources", la.SourceCount, len(la.Sources), lb.State, lb.MergedInto, len(lb.Sources))
	}
	if len(la.Categories) != 2 {
		t.Fatalf("target categories %v", la.Categories)
	}
	// A repost of a merged lead's post is a duplicate of the target now.
	if r := mustFile(t, s, post("https://b.test/2", "explosion", "350102001", 1)); r.Outcome != OutcomeDuplicate || r.LeadID != a {
		t.Fatalf("repost after merge: %+v", r)
	}
	// Its near-duplicates join the target too.
	if r := mustFile(t, s, post("https://c.test/3", "explosion", "", 0x0000000000005556)); r.Outcome != OutcomeJoined || r.LeadID != a {
		t.Fatalf("near-duplicate after merge: %+v", r)
	}
	// A merged lead cannot be a target.
	c := mustFile(t, s, post("https://d.test/1", "fraud", "110101001", 0x1234)).LeadID
	if _, err := s.Transition(ctx, c, TransitionRequest{To: StateMerged, MergeInto: b}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("merge into a merged lead: %v", err)
	}
}

func TestSLAAndOnTimeRate(t *testing.T) {
	clock := newClock()
	s, _ := openTestStore(t, Options{Now: clock.Now, SLA: map[string]time.Duration{"critical": 2 * time.Hour, "high": 24 * time.Hour}})
	ctx := t.Context()
	crit := post("https://a.test/crit", "fire", "", 0x1)
	crit.Level = "critical"
	idCrit := mustFile(t, s, crit).LeadID
	idHigh := mustFile(t, s, post("https://a.test/high", "fire", "", 0xFFFFFFFF00000000)).LeadID
	med := post("https://a.test/med", "fraud", "", 0x00000000FFFF0000)
	med.Level = "medium"
	idMed := mustFile(t, s, med).LeadID

	l, _ := s.GetLead(ctx, idCrit)
	if l.DueAt == nil || !l.DueAt.Equal(clock.Now().Add(2*time.Hour)) || l.Overdue {
		t.Fatalf("critical due %v overdue %v", l.DueAt, l.Overdue)
	}
	if l, _ := s.GetLead(ctx, idMed); l.DueAt != nil {
		t.Fatalf("medium has no SLA here, got due %v", l.DueAt)
	}
	clock.Advance(3 * time.Hour)
	l, _ = s.GetLead(ctx, idCrit)
	if !l.Overdue {
		t.Fatal("critical lead 3h old is not overdue")
	}
	over, total, err := s.ListLeads(ctx, LeadFilter{Overdue: true})
	if err != nil || total != 1 || over[0].ID != idCrit {
		t.Fatalf("overdue list: %d %v %v", total, over, err)
	}
	closeLead := func(id string) {
		for _, req := range []TransitionRequest{{To: StateConfirmed}, {To: StateDispatched, Unit: "u"}, {To: StateHandled}, {To: StateVerified}, {To: StateClosed}} {
			if _, err := s.Transition(ctx, id, req); err != nil {
				t.Fatal(err)
			}
		}
	}
	closeLead(idCrit) // 3h > 2h: late
	closeLead(idHigh) // 3h < 24h: on time
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Closed != 2 || st.ClosedOnTime != 1 || st.OnTimeRate != 0.5 || st.Overdue != 0 || st.Open != 1 {
		t.Fatalf("stats: %+v", st)
	}
	if l, _ := s.GetLead(ctx, idCrit); l.Overdue {
		t.Fatal("a closed lead is not overdue")
	}
}

func TestListFiltersStatsAndRuleFeedback(t *testing.T) {
	clock := newClock()
	s, _ := openTestStore(t, Options{Now: clock.Now})
	ctx := t.Context()
	mk := func(url, cat, code string, sim uint64, rule string) string {
		c := post(url, cat, code, sim)
		c.Evidence = []Evidence{{Rule: rule, Category: cat, Field: "title", Text: "x", Weight: 1}, {Rule: rule, Category: cat}}
		return mustFile(t, s, c).LeadID
	}
	a := mk("https://a.test/1", "fire", "350105001", 0x1, "fire/smoke")
	b := mk("https://a.test/2", "fire", "350102001", 0xFF00, "fire/smoke")
	c := mk("https://a.test/3", "fraud", "110101001", 0xFF000000, "fraud/transfer")
	mk("https://a.test/4", "fraud", "110101002", 0xFF00000000, "fraud/transfer")
	if _, err := s.Transition(ctx, a, TransitionRequest{To: StateConfirmed}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, b, TransitionRequest{To: StateDismissed, Reason: "演习"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, c, TransitionRequest{To: StateConfirmed}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assign(ctx, c, AssignRequest{Actor: "li", Assignee: "zhao", Version: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Assign(ctx, c, AssignRequest{Actor: "li", Assignee: "qian", Version: 2}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale assign: %v", err)
	}
	if _, err := s.AddNote(ctx, c, "li", "已电话核实"); err != nil {
		t.Fatal(err)
	}

	check := func(name string, f LeadFilter, want int) {
		t.Helper()
		ls, total, err := s.ListLeads(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if total != want || len(ls) != min(want, max(f.Limit, 50)) && f.Limit == 0 {
			t.Fatalf("%s: total %d (%d listed), want %d", name, total, len(ls), want)
		}
	}
	check("all", LeadFilter{}, 4)
	check("state", LeadFilter{States: []string{StateConfirmed}}, 2)
	check("category", LeadFilter{Categories: []string{"fraud"}}, 2)
	check("county prefix", LeadFilter{LocationPrefix: "350105"}, 1)
	check("city prefix", LeadFilter{LocationPrefix: "3501"}, 2)
	check("assignee", LeadFilter{Assignee: "zhao"}, 1)
	check("query", LeadFilter{Query: "a.test/3"}, 1)
	check("level", LeadFilter{Levels: []string{"critical"}}, 0)
	if _, _, err := s.ListLeads(ctx, LeadFilter{Sort: "bogus"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad sort: %v", err)
	}
	page, total, _ := s.ListLeads(ctx, LeadFilter{Sort: "first_seen", Limit: 2, Offset: 2})
	if total != 4 || len(page) != 2 {
		t.Fatalf("paging: %d of %d", len(page), total)
	}

	l, _ := s.GetLead(ctx, c)
	if len(l.Notes) != 1 || l.Notes[0].Text != "已电话核实" || l.Assignee != "zhao" || l.Version != 3 {
		t.Fatalf("notes/assignee/version: %+v", l)
	}

	rs, err := s.RuleStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]RuleStat{}
	for _, r := range rs {
		got[r.Rule] = r
	}
	if r := got["fire/smoke"]; r.Leads != 2 || r.Confirmed != 1 || r.Dismissed != 1 || r.Precision != 0.5 {
		t.Fatalf("fire/smoke: %+v", r)
	}
	if r := got["fraud/transfer"]; r.Leads != 2 || r.Confirmed != 1 || r.Dismissed != 0 || r.Precision != 1 {
		t.Fatalf("fraud/transfer: %+v", r)
	}

	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.ByState[StateConfirmed] != 2 || st.ByState[StateDismissed] != 1 || st.ByState[StateNew] != 1 || st.ByLevel["high"] != 3 {
		t.Fatalf("stats by state/level: %+v", st)
	}
	if len(st.TopLocations) != 3 || len(st.MentionsPerDay) != 2 || st.MentionsPerDay[0].Day != "2026-03-02" || st.MentionsPerDay[0].Count != 2 {
		t.Fatalf("stats locations/mentions: %+v", st)
	}
}

func TestSimilarLeads(t *testing.T) {
	clock := newClock()
	s, _ := openTestStore(t, Options{Now: clock.Now})
	ctx := t.Context()
	a := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 0xF0F0F0F0F0F0F0F0, "仓库")).LeadID
	// Distance 5: too far to join, close enough to be shown as similar.
	b := mustFile(t, s, post("https://b.test/1", "fire", "", 0xF0F0F0F0F0F0F0F0^0b11111, "别的")).LeadID
	c := mustFile(t, s, post("https://c.test/1", "fire", "350105002", 0x0123456789ABCDEF, "厨房")).LeadID
	mustFile(t, s, post("https://d.test/1", "fraud", "110101001", 0x0F0F0F0F0F0F0F0F, "转账"))
	sim, err := s.SimilarLeads(ctx, a, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sim) != 2 || sim[0].ID != b || sim[1].ID != c {
		ids := []string{}
		for _, l := range sim {
			ids = append(ids, l.ID)
		}
		t.Fatalf("similar to %s: %v, want [%s %s]", a, ids, b, c)
	}
}

func TestOutboxRowIffChangeCommitted(t *testing.T) {
	clock := newClock()
	eps := []Endpoint{
		{Name: "all", URL: "http://127.0.0.1:1/", Secret: "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM="},
		{Name: "fraud-only", URL: "http://127.0.0.1:1/", Secret: "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=", Categories: []string{"fraud"}},
		{Name: "critical-fz", URL: "http://127.0.0.1:1/", Secret: "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=", MinLevel: "critical", LocationPrefixes: []string{"3501"}, Events: []string{EventLeadCreated}},
	}
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: eps})
	ctx := t.Context()
	deliveries := func(where string, args ...any) int { return countRows(t, s, "alerts_delivery", where, args...) }

	id := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 1)).LeadID
	if deliveries("lead_id = ?", id) != 1 || deliveries("endpoint = 'all' AND event = 'lead_created'") != 1 {
		t.Fatal("created lead: want exactly one delivery, to 'all'")
	}
	mustFile(t, s, post("https://a.test/1", "fire", "350105001", 1)) // duplicate: no change, no event
	if deliveries("1") != 1 {
		t.Fatal("a duplicate queued a delivery")
	}
	crit := post("https://b.test/1", "fire", "350105001", 0xFFFF00000000)
	crit.Level = "critical"
	cid := mustFile(t, s, crit).LeadID
	if deliveries("lead_id = ? AND endpoint = 'critical-fz'", cid) != 1 {
		t.Fatal("critical lead in 3501 not queued for critical-fz")
	}
	// Refused changes queue nothing.
	before := deliveries("1")
	if _, err := s.Transition(ctx, id, TransitionRequest{To: StateClosed}); err == nil {
		t.Fatal("illegal move accepted")
	}
	if _, err := s.Transition(ctx, id, TransitionRequest{To: StateConfirmed, Version: 9}); !errors.Is(err, ErrConflict) {
		t.Fatal("stale version accepted")
	}
	if deliveries("1") != before {
		t.Fatal("a refused transition queued a delivery")
	}
	// A change whose transaction never commits (context cancelled before
	// the commit) leaves neither the change nor the row.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Transition(cctx, id, TransitionRequest{To: StateConfirmed}); err == nil {
		t.Fatal("cancelled transition succeeded")
	}
	if _, err := s.File(cctx, post("https://c.test/1", "fraud", "", 0xABC)); err == nil {
		t.Fatal("cancelled filing succeeded")
	}
	if deliveries("1") != before || countRows(t, s, "alerts_source", "url = 'https://c.test/1'") != 0 {
		t.Fatal("a rolled back change left rows")
	}
	// A committed transition queues its event.
	if _, err := s.Transition(ctx, id, TransitionRequest{To: StateConfirmed}); err != nil {
		t.Fatal(err)
	}
	if deliveries("lead_id = ? AND event = 'lead_state_changed' AND endpoint = 'all'", id) != 1 {
		t.Fatal("state change not queued")
	}
	// The body is the Standard Webhooks payload with the lead.
	var body []byte
	if err := s.r.QueryRow(`SELECT body FROM alerts_delivery WHERE lead_id = ? AND event = 'lead_state_changed'`, id).Scan(&body); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Type string `json:"type"`
		Data Lead   `json:"data"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "risk_lead.state_changed" || msg.Data.ID != id || msg.Data.State != StateConfirmed || len(msg.Data.Sources) != 1 {
		t.Fatalf("body %s (%v)", body, err)
	}
}

func TestReopenDismissedAndClosed(t *testing.T) {
	clock := newClock()
	eps := []Endpoint{{Name: "all", URL: "http://127.0.0.1:1/", Secret: "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM="}}
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: eps})
	ctx := t.Context()
	dismissed := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 7)).LeadID
	closed := mustFile(t, s, post("https://b.test/2", "fire", "350105001", 0xFFFF0000FFFF0000)).LeadID
	merged := mustFile(t, s, post("https://c.test/3", "fraud", "350105001", 0x0F0F0F0F0F0F0F0F)).LeadID
	if _, err := s.Transition(ctx, dismissed, TransitionRequest{To: StateDismissed, Reason: "演练", Version: 1}); err != nil {
		t.Fatal(err)
	}
	for i, to := range []string{StateConfirmed, StateDispatched, StateHandled, StateVerified, StateClosed} {
		if _, err := s.Transition(ctx, closed, TransitionRequest{To: to, Unit: "消防", Reason: "已处置", Version: i + 1}); err != nil {
			t.Fatalf("→ %s: %v", to, err)
		}
	}
	if _, err := s.Transition(ctx, merged, TransitionRequest{To: StateMerged, MergeInto: dismissed, Version: 1}); err == nil {
		t.Fatal("merged into a dismissed lead")
	}
	if _, err := s.Transition(ctx, merged, TransitionRequest{To: StateMerged, MergeInto: closed, Version: 1}); err == nil {
		t.Fatal("merged into a closed lead")
	}

	cases := []struct {
		name, from, to string
		ok             bool
	}{
		{"dismissed goes back to new", StateDismissed, StateNew, true},
		{"closed goes back to confirmed", StateClosed, StateConfirmed, true},
		{"merged stays merged", StateMerged, "", false},
		{"an open lead has nothing to reopen", StateConfirmed, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			to, ok := ReopenState(tc.from)
			if to != tc.to || ok != tc.ok {
				t.Fatalf("ReopenState(%s) = %q, %v; want %q, %v", tc.from, to, ok, tc.to, tc.ok)
			}
		})
	}

	deliveries := func(id string) int {
		return countRows(t, s, "alerts_delivery", "lead_id = ? AND event = 'lead_state_changed'", id)
	}
	before := deliveries(dismissed)
	// Reopening needs a note; a blank one is refused and changes nothing.
	for _, note := range []string{"", "  "} {
		if _, err := s.Transition(ctx, dismissed, TransitionRequest{To: StateNew, Actor: "li", Note: note, Version: 2}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "note") {
			t.Fatalf("reopen with note %q: %v", note, err)
		}
	}
	// Only back to the reopen state, not further on.
	if _, err := s.Transition(ctx, dismissed, TransitionRequest{To: StateConfirmed, Note: "x", Version: 2}); !errors.Is(err, ErrIllegalTransition) {
		t.Fatalf("dismissed → confirmed: %v", err)
	}
	if _, err := s.Transition(ctx, dismissed, TransitionRequest{To: StateNew, Note: "x", Version: 1}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale reopen: %v", err)
	}
	l, err := s.Transition(ctx, dismissed, TransitionRequest{To: StateNew, Actor: "li", Note: "群众再次反映，非演练", Version: 2})
	if err != nil {
		t.Fatal(err)
	}
	if l.State != StateNew || l.Version != 3 || l.Resolution != "" || !IsOpen(l.State) {
		t.Fatalf("reopened dismissed lead: %+v", l)
	}
	if deliveries(dismissed) != before+1 {
		t.Error("reopen queued no state-changed webhook")
	}
	l, err = s.Transition(ctx, closed, TransitionRequest{To: StateConfirmed, Actor: "wang", Note: "复燃", Version: 6})
	if err != nil {
		t.Fatal(err)
	}
	if l.State != StateConfirmed || l.ClosedAt != nil || l.Resolution != "" {
		t.Fatalf("reopened closed lead: %+v", l)
	}
	// The audit trail names actor and note, and keeps the old resolution.
	audit, err := s.Audit(ctx, closed)
	if err != nil {
		t.Fatal(err)
	}
	last := audit[len(audit)-1]
	if last.Action != "transition" || last.From != StateClosed || last.To != StateConfirmed || last.Actor != "wang" || last.Note != "复燃" {
		t.Fatalf("reopen audit entry: %+v", last)
	}
	// A merged lead cannot be reopened, note or not.
	if _, err := s.Transition(ctx, dismissed, TransitionRequest{To: StateMerged, MergeInto: closed, Version: 3}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{StateNew, StateConfirmed} {
		if _, err := s.Transition(ctx, dismissed, TransitionRequest{To: to, Note: "x", Version: 4}); !errors.Is(err, ErrIllegalTransition) {
			t.Fatalf("merged → %s: %v", to, err)
		}
	}
	// A reopened lead takes new posts again and counts as open.
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Closed != 0 {
		t.Errorf("the reopened lead still counts as closed: %+v", st)
	}
}

// TestReopenGivesTheTimeAgain: a lead reopened long after its due time
// gets its level's SLA again from the moment it is reopened.
func TestReopenGivesTheTimeAgain(t *testing.T) {
	clock := newClock()
	s, _ := openTestStore(t, Options{Now: clock.Now, SLA: map[string]time.Duration{"high": 4 * time.Hour}})
	ctx := t.Context()
	id := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 7)).LeadID
	if _, err := s.Transition(ctx, id, TransitionRequest{To: StateDismissed, Reason: "误报", Version: 1}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(72 * time.Hour)
	to, _ := ReopenState(StateDismissed)
	l, err := s.Transition(ctx, id, TransitionRequest{To: to, Note: "群众再次反映", Version: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := clock.Now().Add(4 * time.Hour)
	if l.DueAt == nil || !l.DueAt.Equal(want) || l.Overdue {
		t.Fatalf("due %v (overdue %v), want %v", l.DueAt, l.Overdue, want)
	}
	got, err := s.GetLead(ctx, id)
	if err != nil || got.DueAt == nil || !got.DueAt.Equal(want) || got.Overdue {
		t.Fatalf("stored due %v (overdue %v), want %v (%v)", got.DueAt, got.Overdue, want, err)
	}
}
