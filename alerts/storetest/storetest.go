// Package storetest is the behaviour every alerts store must show: filing
// and clustering, review with versions, merge and reopen, the audit trail,
// the webhook outbox, inbound claims, captures, verdicts and the dashboard
// figures. A backend's tests call Run with a constructor of empty stores;
// the suite specifies the behaviour once, through the exported methods,
// not through any SQL.
//
// The suite drives the store's clock, so due times, leases and retries are
// tested without waiting.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/alerts"
)

// Store is what the suite exercises: alerts.Store with the inbound claims
// the web API uses and the verdicts the model command reads.
type Store interface {
	alerts.Store
	InboundAnswer(ctx context.Context, platform, webhookID string) (status int, answer []byte, ok bool, err error)
	ClaimInbound(ctx context.Context, platform, webhookID string) (claimed bool, status int, answer []byte, seen bool, err error)
	RecordInbound(ctx context.Context, platform, webhookID string, status int, answer []byte) error
	ReleaseInbound(ctx context.Context, platform, webhookID string) error
	Verdicts(ctx context.Context) ([]alerts.Verdict, error)
}

// Clock is the time a store under test reads; tests move it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// NewStore returns an empty store opened with opts (the suite sets the
// clock and the webhook endpoints; other fields keep their defaults). It
// closes the store in t.Cleanup.
type NewStore func(t *testing.T, opts alerts.Options) Store

// Secret is the webhook signing secret of the suite's endpoint.
const Secret = "whsec_c3RvcmV0ZXN0IHNpZ25pbmcga2V5IDI0Yg=="

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, Store, *Clock)
	}{
		{"FileClusters", testFileClusters},
		{"LevelCues", testLevelCues},
		{"FileIdempotent", testFileIdempotent},
		{"FileConcurrentSamePost", testFileConcurrent},
		{"Transitions", testTransitions},
		{"Reopen", testReopen},
		{"AssignAndNotes", testAssignAndNotes},
		{"Merge", testMerge},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"Inbound", testInbound},
		{"Captures", testCaptures},
		{"Verdicts", testVerdicts},
		{"Stats", testStats},
		{"SourceWindows", testSourceWindows},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &Clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			s := newStore(t, alerts.Options{Now: clock.Now, Endpoints: []alerts.Endpoint{
				{Name: "ops", URL: "http://127.0.0.1:9/hook", Secret: Secret},
			}})
			tc.fn(t, s, clock)
		})
	}
}

// post is a high-level post of category cat in the county (6 digits)
// named by county, with a simhash and salient terms.
func post(url, cat, county string, sim uint64, terms ...string) alerts.Candidate {
	return alerts.Candidate{
		URL: url, Site: "example.test", Source: "forum", Title: "标题 " + url, Snippet: "正文 " + url,
		Level: "high", Score: 7,
		Categories:    []alerts.CategoryScore{{Code: cat, Score: 7}},
		LocationCodes: []string{county + "001"}, LocationNames: []string{"街道 " + county},
		SimHash: sim, Terms: terms,
		Evidence: []alerts.Evidence{{Rule: cat + "/rule_a", Category: cat, Field: "text", Text: "火", Start: 0, End: 1, Weight: 3}},
	}
}

func file(t *testing.T, s Store, c alerts.Candidate) alerts.FileResult {
	t.Helper()
	r, err := s.File(t.Context(), c)
	if err != nil {
		t.Fatalf("file %s: %v", c.URL, err)
	}
	return r
}

func lead(t *testing.T, s Store, id string) *alerts.Lead {
	t.Helper()
	l, err := s.GetLead(t.Context(), id)
	if err != nil {
		t.Fatalf("get lead %s: %v", id, err)
	}
	return l
}

// checkWindows checks that every window of lead id's posts is the same
// part of the list GetLead gives, with the lead's total.
func checkWindows(t *testing.T, s Store, id string) {
	t.Helper()
	all := lead(t, s, id).Sources
	for offset := 0; offset <= len(all)+1; offset++ {
		for limit := 0; limit <= len(all)+1; limit++ {
			l, total, err := s.GetLeadWindow(t.Context(), id, alerts.SourceWindow{Offset: offset, Limit: limit})
			if err != nil {
				t.Fatalf("lead %s, window %d+%d: %v", id, offset, limit, err)
			}
			want := all[min(offset, len(all)):]
			if limit > 0 {
				want = want[:min(limit, len(want))]
			}
			if total != len(all) || len(l.Sources) != len(want) {
				t.Fatalf("lead %s, window %d+%d: %d posts of %d, want %d of %d", id, offset, limit, len(l.Sources), total, len(want), len(all))
			}
			for i := range want {
				if l.Sources[i].ID != want[i].ID || l.Sources[i].URL != want[i].URL {
					t.Fatalf("lead %s, window %d+%d: post %d is %s, want %s", id, offset, limit, i, l.Sources[i].URL, want[i].URL)
				}
			}
		}
	}
}

func transit(t *testing.T, s Store, id string, req alerts.TransitionRequest) *alerts.Lead {
	t.Helper()
	l, err := s.Transition(t.Context(), id, req)
	if err != nil {
		t.Fatalf("lead %s → %s: %v", id, req.To, err)
	}
	return l
}

func audit(t *testing.T, s Store, id string) []alerts.AuditEntry {
	t.Helper()
	a, err := s.Audit(t.Context(), id)
	if err != nil {
		t.Fatalf("audit of %s: %v", id, err)
	}
	return a
}

const (
	simA = 0xF0F0_1234_5678_00FF
	simB = 0x0F0F_ABCD_9876_FF00 // far from simA
)

// Reposts (the same simhash or one within the distance) and posts of the
// same category and county sharing terms join one lead; another county
// opens another.
func testFileClusters(t *testing.T, s Store, clock *Clock) {
	first := file(t, s, post("https://a.test/1", "fire", "350105", simA, "仓库", "起火", "浓烟"))
	if first.Outcome != alerts.OutcomeCreated || first.LeadID == "" {
		t.Fatalf("first post: %+v", first)
	}
	clock.Add(time.Minute)
	for _, c := range []alerts.Candidate{
		post("https://b.test/repost", "fire", "350102", simA),                 // the same text elsewhere
		post("https://c.test/near", "fire", "350105", simA^0b101),             // two bits apart
		post("https://d.test/same-place", "fire", "350105", simB, "仓库", "起火"), // shares two terms
	} {
		if r := file(t, s, c); r.Outcome != alerts.OutcomeJoined || r.LeadID != first.LeadID {
			t.Fatalf("%s: %+v, want joined %s", c.URL, r, first.LeadID)
		}
	}
	other := file(t, s, post("https://e.test/elsewhere", "fire", "350181", simB^0xFFFF_0000, "仓库", "起火"))
	if other.Outcome != alerts.OutcomeCreated || other.LeadID == first.LeadID {
		t.Fatalf("another county: %+v", other)
	}
	few := file(t, s, post("https://f.test/few-terms", "fire", "350105", 0, "仓库", "车祸"))
	if few.Outcome != alerts.OutcomeCreated {
		t.Fatalf("one shared term of two joined: %+v", few)
	}
	l := lead(t, s, first.LeadID)
	if l.SourceCount != 4 || len(l.Sources) != 4 || l.Version != 1 || l.State != alerts.StateNew {
		t.Fatalf("lead: %d sources (%d listed), version %d, state %s", l.SourceCount, len(l.Sources), l.Version, l.State)
	}
	if len(l.Locations) != 2 || l.TopCategory() != "fire" {
		t.Fatalf("locations %+v top %s", l.Locations, l.TopCategory())
	}
	a := audit(t, s, first.LeadID)
	if len(a) != 4 || a[0].Action != "created" || a[0].To != alerts.StateNew || a[0].Note != "https://a.test/1" ||
		a[1].Action != "joined" || a[3].Note != "https://d.test/same-place" || a[1].Actor != "riskmine" {
		t.Fatalf("audit %+v", a)
	}
	list, total, err := s.ListLeads(t.Context(), alerts.LeadFilter{Sort: "sources"})
	if err != nil || total != 3 || list[0].ID != first.LeadID {
		t.Fatalf("list: %d leads, first %v, %v", total, list, err)
	}
	// The lead of the same category and county is similar even though
	// the post did not join it; the other county's is not.
	sim, err := s.SimilarLeads(t.Context(), few.LeadID, 5)
	if err != nil || len(sim) != 1 || sim[0].ID != first.LeadID {
		t.Fatalf("similar leads of %s: %v %v", few.LeadID, sim, err)
	}
	// A closed lead takes no new posts: a repost opens a new lead.
	closeLead(t, s, first.LeadID)
	if r := file(t, s, post("https://g.test/late-repost", "fire", "350105", simA, "仓库", "起火")); r.Outcome != alerts.OutcomeCreated {
		t.Fatalf("repost of a closed lead: %+v", r)
	}
}

// A post's level cues are kept with its source (at most
// alerts.MaxLevelCues), read back by GetLead and sent in the created
// event's payload; a post without cues lists none, not null.
func testLevelCues(t *testing.T, s Store, clock *Clock) {
	c := post("https://a.test/cues", "fire", "350105", simA, "仓库", "起火")
	c.Snippet = "仓库起火，两人被困。"
	c.Level = "critical"
	want := []alerts.LevelCue{{Kind: "trapped", Level: "critical", Field: "text", Text: "两人被困", Start: 5, End: 9},
		{Kind: "many_people", Field: "text", Text: "两人", Start: 5, End: 7}}
	c.LevelCues = want
	id := file(t, s, c).LeadID
	l := lead(t, s, id)
	if len(l.Sources) != 1 || !slices.Equal(l.Sources[0].LevelCues, want) {
		t.Fatalf("sources %+v, want level cues %+v", l.Sources, want)
	}
	ds := claim(t, s, clock.Now())
	if len(ds) != 1 || !strings.Contains(string(ds[0].Body), `"level_cues":[{"kind":"trapped","level":"critical","field":"text","text":"两人被困","start":5,"end":9}`) {
		t.Fatalf("created event without the level cues: %+v", ds)
	}
	clock.Add(time.Minute)
	many := post("https://b.test/many", "fire", "350105", simA)
	for i := range alerts.MaxLevelCues + 5 {
		many.LevelCues = append(many.LevelCues, alerts.LevelCue{Kind: "injuries", Level: "high", Field: "text", Text: "伤", Start: i, End: i + 1})
	}
	none := post("https://c.test/none", "fire", "350105", simA)
	for _, p := range []alerts.Candidate{many, none} {
		if r := file(t, s, p); r.LeadID != id {
			t.Fatalf("%s: %+v, want joined %s", p.URL, r, id)
		}
	}
	for _, src := range lead(t, s, id).Sources {
		switch src.URL {
		case many.URL:
			if len(src.LevelCues) != alerts.MaxLevelCues {
				t.Errorf("%d cues kept, want %d", len(src.LevelCues), alerts.MaxLevelCues)
			}
		case none.URL:
			if src.LevelCues == nil || len(src.LevelCues) != 0 {
				t.Errorf("a post without cues: %#v, want an empty list", src.LevelCues)
			}
		}
	}
}

func closeLead(t *testing.T, s Store, id string) *alerts.Lead {
	t.Helper()
	var l *alerts.Lead
	for _, req := range []alerts.TransitionRequest{
		{To: alerts.StateConfirmed}, {To: alerts.StateDispatched, Unit: "brigade 3"}, {To: alerts.StateHandled},
		{To: alerts.StateVerified}, {To: alerts.StateClosed, Reason: "extinguished"},
	} {
		req.Actor = "ana"
		l = transit(t, s, id, req)
	}
	return l
}

// The same canonical URL files once; below the lead level nothing is
// filed; a candidate without a URL or with an unknown level is refused.
func testFileIdempotent(t *testing.T, s Store, clock *Clock) {
	c := post("https://a.test/1?utm=x", "fire", "350105", simA, "仓库")
	c.CanonicalURL = "https://a.test/1"
	first := file(t, s, c)
	again := file(t, s, c)
	c.URL = "https://a.test/1?utm=y"
	third := file(t, s, c)
	if again.Outcome != alerts.OutcomeDuplicate || third.Outcome != alerts.OutcomeDuplicate || again.LeadID != first.LeadID || third.LeadID != first.LeadID {
		t.Fatalf("refiled: %+v %+v, first %+v", again, third, first)
	}
	if l := lead(t, s, first.LeadID); l.SourceCount != 1 || len(audit(t, s, first.LeadID)) != 1 {
		t.Fatalf("a duplicate changed the lead: %d sources", l.SourceCount)
	}
	low := post("https://a.test/low", "fire", "350105", simB)
	low.Level = "low"
	if r := file(t, s, low); r.Outcome != alerts.OutcomeBelowThreshold || r.LeadID != "" {
		t.Fatalf("low post: %+v", r)
	}
	for _, bad := range []alerts.Candidate{{Level: "high"}, {URL: "https://a.test/x", Level: "severe"}} {
		if _, err := s.File(t.Context(), bad); !errors.Is(err, alerts.ErrInvalid) {
			t.Fatalf("filing %+v: %v, want ErrInvalid", bad, err)
		}
	}
	if _, total, _ := s.ListLeads(t.Context(), alerts.LeadFilter{}); total != 1 {
		t.Fatalf("%d leads, want 1", total)
	}
}

// Two goroutines filing the same posts at once: each post makes exactly one
// lead, one caller is told created and the other duplicate of that lead.
func testFileConcurrent(t *testing.T, s Store, clock *Clock) {
	const posts = 12
	results := make([][2]alerts.FileResult, posts)
	var wg sync.WaitGroup
	errs := make(chan error, 2*posts)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range posts {
				// No simhash and no terms: every post is a lead of its own.
				r, err := s.File(context.Background(), post(fmt.Sprintf("https://race.test/%d", i), "fire", "350105", 0))
				if err != nil {
					errs <- err
					continue
				}
				results[i][g] = r
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
			t.Fatalf("post %d: %+v", i, r)
		}
	}
	if _, total, err := s.ListLeads(t.Context(), alerts.LeadFilter{}); err != nil || total != posts {
		t.Fatalf("%d leads (%v), want %d", total, err, posts)
	}
}

// The case loop with versions: a stale version conflicts, an illegal move
// is refused with the moves allowed, required fields are checked, and
// each move is audited with its reason and unit.
func testTransitions(t *testing.T, s Store, clock *Clock) {
	ctx := t.Context()
	id := file(t, s, post("https://a.test/1", "fire", "350105", simA)).LeadID
	l := lead(t, s, id)
	clock.Add(time.Hour)
	c := transit(t, s, id, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana", Note: "real", Version: l.Version})
	if c.State != alerts.StateConfirmed || c.Version != l.Version+1 {
		t.Fatalf("confirmed: state %s version %d", c.State, c.Version)
	}
	if _, err := s.Transition(ctx, id, alerts.TransitionRequest{To: alerts.StateDispatched, Unit: "u", Version: l.Version}); !errors.Is(err, alerts.ErrConflict) {
		t.Fatalf("stale version: %v", err)
	}
	var te *alerts.TransitionError
	if _, err := s.Transition(ctx, id, alerts.TransitionRequest{To: alerts.StateClosed}); !errors.As(err, &te) || !errors.Is(err, alerts.ErrIllegalTransition) || te.From != alerts.StateConfirmed {
		t.Fatalf("confirmed → closed: %v", err)
	}
	if _, err := s.Transition(ctx, id, alerts.TransitionRequest{To: alerts.StateDispatched}); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("dispatch without a unit: %v", err)
	}
	if _, err := s.Transition(ctx, id, alerts.TransitionRequest{To: "archived"}); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("unknown state: %v", err)
	}
	if _, err := s.Transition(ctx, "no-such-lead", alerts.TransitionRequest{To: alerts.StateConfirmed}); !errors.Is(err, alerts.ErrNotFound) {
		t.Fatalf("unknown lead: %v", err)
	}
	d := transit(t, s, id, alerts.TransitionRequest{To: alerts.StateDispatched, Actor: "ana", Unit: "brigade 3", Assignee: "bo", Version: c.Version})
	if d.Unit != "brigade 3" || d.Assignee != "bo" {
		t.Fatalf("dispatched: unit %q assignee %q", d.Unit, d.Assignee)
	}
	transit(t, s, id, alerts.TransitionRequest{To: alerts.StateHandled, Actor: "bo"})
	transit(t, s, id, alerts.TransitionRequest{To: alerts.StateDispatched, Actor: "ana", Note: "not done"})
	transit(t, s, id, alerts.TransitionRequest{To: alerts.StateHandled, Actor: "bo"})
	transit(t, s, id, alerts.TransitionRequest{To: alerts.StateVerified, Actor: "ana"})
	clock.Add(time.Hour)
	closed := transit(t, s, id, alerts.TransitionRequest{To: alerts.StateClosed, Actor: "ana", Reason: "repaired", CaseNumber: "C-17"})
	if closed.ClosedAt == nil || !closed.ClosedAt.Equal(clock.Now()) || closed.Resolution != "repaired" || closed.CaseNumber != "C-17" || closed.Overdue {
		t.Fatalf("closed: %+v", closed)
	}
	stored := lead(t, s, id)
	if stored.State != alerts.StateClosed || stored.Version != closed.Version || stored.CaseNumber != "C-17" || stored.ClosedAt == nil {
		t.Fatalf("stored after closing: %+v", stored)
	}
	if _, err := s.Transition(ctx, id, alerts.TransitionRequest{To: alerts.StateDismissed, Reason: "x"}); !errors.Is(err, alerts.ErrIllegalTransition) {
		t.Fatalf("closed → dismissed: %v", err)
	}
	a := audit(t, s, id)
	var moves []string
	for _, e := range a {
		if e.Action == "transition" {
			moves = append(moves, e.From+"→"+e.To)
		}
	}
	want := []string{"new→confirmed", "confirmed→dispatched", "dispatched→handled", "handled→dispatched", "dispatched→handled", "handled→verified", "verified→closed"}
	if !slices.Equal(moves, want) {
		t.Fatalf("moves %v, want %v", moves, want)
	}
	if a[1].Note != "real" || a[1].Actor != "ana" || a[2].Unit != "brigade 3" || a[3].Action != "assign" || a[3].To != "bo" || a[len(a)-1].Reason != "repaired" {
		t.Fatalf("audit fields %+v", a)
	}
	// Dismissal needs a reason, kept as the resolution and audit reason.
	id2 := file(t, s, post("https://a.test/2", "fire", "350181", simB)).LeadID
	if _, err := s.Transition(ctx, id2, alerts.TransitionRequest{To: alerts.StateDismissed}); !errors.Is(err, alerts.ErrReasonRequired) || !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("dismissal without a reason: %v", err)
	}
	dis := transit(t, s, id2, alerts.TransitionRequest{To: alerts.StateDismissed, Actor: "ana", Reason: "advert"})
	if dis.Resolution != "advert" || audit(t, s, id2)[1].Reason != "advert" {
		t.Fatalf("dismissed: %+v", dis)
	}
}

// Reopening needs a note; it clears the resolution and closing time and
// restarts the due time; a merged lead cannot be reopened.
func testReopen(t *testing.T, s Store, clock *Clock) {
	ctx := t.Context()
	id := file(t, s, post("https://a.test/1", "fire", "350105", simA)).LeadID
	closeLead(t, s, id)
	clock.Add(72 * time.Hour) // long past the 24h of a high lead
	if _, err := s.Transition(ctx, id, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana"}); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("reopen without a note: %v", err)
	}
	r := transit(t, s, id, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana", Note: "burning again"})
	if r.ClosedAt != nil || r.Resolution != "" || r.DueAt == nil || !r.DueAt.Equal(clock.Now().Add(24*time.Hour)) || r.Overdue {
		t.Fatalf("reopened: closed %v resolution %q due %v overdue %v", r.ClosedAt, r.Resolution, r.DueAt, r.Overdue)
	}
	if st := lead(t, s, id); st.ClosedAt != nil || st.Resolution != "" || !st.DueAt.Equal(*r.DueAt) {
		t.Fatalf("stored after reopening: %+v", st)
	}
	a := audit(t, s, id)
	if last := a[len(a)-1]; last.From != alerts.StateClosed || last.To != alerts.StateConfirmed || last.Note != "burning again" {
		t.Fatalf("reopen audit %+v", last)
	}
	id2 := file(t, s, post("https://a.test/2", "fire", "350181", simB)).LeadID
	transit(t, s, id2, alerts.TransitionRequest{To: alerts.StateDismissed, Reason: "advert"})
	if n := transit(t, s, id2, alerts.TransitionRequest{To: alerts.StateNew, Note: "a second report"}); n.State != alerts.StateNew || n.Resolution != "" {
		t.Fatalf("reopened dismissal: %+v", n)
	}
	transit(t, s, id2, alerts.TransitionRequest{To: alerts.StateMerged, MergeInto: id})
	if _, err := s.Transition(ctx, id2, alerts.TransitionRequest{To: alerts.StateNew, Note: "why"}); !errors.Is(err, alerts.ErrIllegalTransition) {
		t.Fatalf("reopening a merged lead: %v", err)
	}
}

// Assignment is version-checked and audited; notes are audited and do not
// bump the version.
func testAssignAndNotes(t *testing.T, s Store, clock *Clock) {
	ctx := t.Context()
	id := file(t, s, post("https://a.test/1", "fire", "350105", simA)).LeadID
	a, err := s.Assign(ctx, id, alerts.AssignRequest{Actor: "ana", Assignee: "bo", Note: "yours", Version: 1})
	if err != nil || a.Assignee != "bo" || a.Version != 2 {
		t.Fatalf("assign: %+v %v", a, err)
	}
	if _, err := s.Assign(ctx, id, alerts.AssignRequest{Assignee: "cy", Version: 1}); !errors.Is(err, alerts.ErrConflict) {
		t.Fatalf("stale assign: %v", err)
	}
	n, err := s.AddNote(ctx, id, "bo", "  on my way  ")
	if err != nil || n.Version != 2 || len(n.Notes) != 1 || n.Notes[0].Text != "on my way" || n.Notes[0].Actor != "bo" {
		t.Fatalf("note: %+v %v", n, err)
	}
	if _, err := s.AddNote(ctx, id, "bo", " "); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("empty note: %v", err)
	}
	if _, err := s.AddNote(ctx, "no-such-lead", "bo", "x"); !errors.Is(err, alerts.ErrNotFound) {
		t.Fatalf("note on an unknown lead: %v", err)
	}
	tr := audit(t, s, id)
	if len(tr) != 3 || tr[1].Action != "assign" || tr[1].From != "" || tr[1].To != "bo" || tr[1].Note != "yours" || tr[2].Action != "note" || tr[2].Note != "on my way" {
		t.Fatalf("audit %+v", tr)
	}
	transit(t, s, id, alerts.TransitionRequest{To: alerts.StateDismissed, Reason: "advert"})
	if _, err := s.Assign(ctx, id, alerts.AssignRequest{Assignee: "cy"}); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("assigning a dismissed lead: %v", err)
	}
}

// Merging moves the sources to the target and folds the lead into it; a
// chain of merges leaves everything on the last target; a target that is
// not open is refused.
func testMerge(t *testing.T, s Store, clock *Clock) {
	ctx := t.Context()
	a := file(t, s, post("https://a.test/1", "fire", "350105", simA)).LeadID
	file(t, s, post("https://a.test/1b", "fire", "350105", simA))
	crit := post("https://b.test/1", "explosion", "350181", simB)
	crit.Level, crit.Score = "critical", 9
	b := file(t, s, crit).LeadID
	c := file(t, s, post("https://c.test/1", "fire", "350102", simA^0xFFFF_FFFF)).LeadID
	clock.Add(time.Hour)

	m := transit(t, s, a, alerts.TransitionRequest{To: alerts.StateMerged, MergeInto: b, Actor: "ana", Note: "same blast"})
	if m.State != alerts.StateMerged || m.MergedInto != b || m.SourceCount != 0 {
		t.Fatalf("merged lead: %+v", m)
	}
	tb := lead(t, s, b)
	if tb.SourceCount != 3 || len(tb.Sources) != 3 || tb.Level != "critical" || len(tb.Locations) != 2 || tb.Version != 1 {
		t.Fatalf("target: %d sources (%d listed) level %s locations %v version %d", tb.SourceCount, len(tb.Sources), tb.Level, tb.Locations, tb.Version)
	}
	if ab := audit(t, s, b); ab[len(ab)-1].Action != "merged_from" || ab[len(ab)-1].Note != a || ab[len(ab)-1].Actor != "ana" {
		t.Fatalf("target audit %+v", ab)
	}
	if aa := audit(t, s, a); aa[len(aa)-1].MergeInto != b || aa[len(aa)-1].Note != "same blast" || aa[len(aa)-1].To != alerts.StateMerged {
		t.Fatalf("merged lead audit %+v", aa)
	}
	// A repost of a merged lead's post joins the target.
	if r := file(t, s, post("https://a.test/1c", "fire", "350105", simA)); r.LeadID != b || r.Outcome != alerts.OutcomeJoined {
		t.Fatalf("repost after the merge: %+v, want joined %s", r, b)
	}
	transit(t, s, b, alerts.TransitionRequest{To: alerts.StateMerged, MergeInto: c, Actor: "ana"})
	tc := lead(t, s, c)
	if tc.SourceCount != 5 || len(tc.Sources) != 5 || tc.Level != "critical" {
		t.Fatalf("end of the chain: %d sources (%d listed) level %s", tc.SourceCount, len(tc.Sources), tc.Level)
	}
	d := file(t, s, post("https://d.test/1", "fire", "350111", simB^0xFFFF_0000_0000)).LeadID
	closeLead(t, s, c)
	if _, err := s.Transition(ctx, d, alerts.TransitionRequest{To: alerts.StateMerged, MergeInto: c}); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("merging into a closed lead: %v", err)
	}
	if _, err := s.Transition(ctx, d, alerts.TransitionRequest{To: alerts.StateMerged, MergeInto: "no-such-lead"}); !errors.Is(err, alerts.ErrNotFound) {
		t.Fatalf("merging into an unknown lead: %v", err)
	}
	if l := lead(t, s, d); l.State != alerts.StateNew || l.Version != 1 {
		t.Fatalf("a refused merge changed the lead: %+v", l)
	}
}

func claim(t *testing.T, s Store, now time.Time) []alerts.Delivery {
	t.Helper()
	ds, err := s.ClaimDeliveries(t.Context(), alerts.ClaimRequest{Now: now, Limit: 100, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// Filing and review queue outbox rows; a claim leases them; a retry comes
// back when due; delivered and dead rows are done until replayed.
func testOutbox(t *testing.T, s Store, clock *Clock) {
	ctx := t.Context()
	id := file(t, s, post("https://a.test/1", "fire", "350105", simA)).LeadID
	transit(t, s, id, alerts.TransitionRequest{To: alerts.StateConfirmed})
	ds := claim(t, s, clock.Now())
	if len(ds) != 2 || ds[0].LeadID != id || ds[0].Endpoint != "ops" || len(ds[0].Body) == 0 {
		t.Fatalf("claimed %+v", ds)
	}
	events := []string{ds[0].Event, ds[1].Event}
	slices.Sort(events)
	if !slices.Equal(events, []string{alerts.EventLeadCreated, alerts.EventLeadStateChanged}) {
		t.Fatalf("events %v", events)
	}
	if again := claim(t, s, clock.Now().Add(30*time.Second)); len(again) != 0 {
		t.Fatalf("leased rows claimed again: %+v", again)
	}
	now := clock.Now()
	if err := s.RecordAttempts(ctx, []alerts.AttemptRecord{
		{Attempt: alerts.Attempt{DeliveryID: ds[0].ID, N: 1, At: now, Status: 503, Error: "busy", Outcome: "retry"}, NextAttemptAt: now.Add(5 * time.Minute)},
		{Attempt: alerts.Attempt{DeliveryID: ds[1].ID, N: 1, At: now, Status: 400, Error: "bad", Outcome: "dead"}},
	}); err != nil {
		t.Fatal(err)
	}
	if early := claim(t, s, now.Add(4*time.Minute)); len(early) != 0 {
		t.Fatalf("a retry claimed before it is due: %+v", early)
	}
	late := claim(t, s, now.Add(5*time.Minute))
	if len(late) != 1 || late[0].ID != ds[0].ID || late[0].Attempts != 1 || late[0].LastStatus != 503 {
		t.Fatalf("due retry: %+v", late)
	}
	if err := s.RecordAttempts(ctx, []alerts.AttemptRecord{{Attempt: alerts.Attempt{DeliveryID: ds[0].ID, N: 2, At: now.Add(5 * time.Minute), Status: 200, Outcome: "delivered"}}}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Delivery(ctx, ds[0].ID)
	if err != nil || d.State != alerts.DeliveryDelivered || d.DeliveredAt == nil || d.Attempts != 2 {
		t.Fatalf("delivered: %+v %v", d, err)
	}
	at, err := s.Attempts(ctx, ds[0].ID)
	if err != nil || len(at) != 2 || at[0].Outcome != "retry" || at[1].Outcome != "delivered" {
		t.Fatalf("attempts %+v %v", at, err)
	}
	if dead, err := s.Delivery(ctx, ds[1].ID); err != nil || dead.State != alerts.DeliveryDead {
		t.Fatalf("dead: %+v %v", dead, err)
	}
	if _, n, err := s.Deliveries(ctx, alerts.DeliveryFilter{State: alerts.DeliveryDead}); err != nil || n != 1 {
		t.Fatalf("dead deliveries: %d %v", n, err)
	}
	if err := s.Replay(ctx, ds[1].ID); err != nil {
		t.Fatal(err)
	}
	if again := claim(t, s, clock.Now()); len(again) != 1 || again[0].ID != ds[1].ID || again[0].State != alerts.DeliveryPending {
		t.Fatalf("replayed: %+v", again)
	}
	if err := s.Replay(ctx, ds[1].ID); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("replaying a pending delivery: %v", err)
	}
	if _, err := s.Delivery(ctx, "msg_none"); !errors.Is(err, alerts.ErrNotFound) {
		t.Fatalf("unknown delivery: %v", err)
	}
	select {
	case <-s.OutboxSignal():
	default:
		t.Fatal("no outbox signal after rows were queued")
	}
}

// Claimers racing for the outbox never get one delivery twice.
func testOutboxConcurrentClaims(t *testing.T, s Store, clock *Clock) {
	const posts = 20
	for i := range posts {
		file(t, s, post(fmt.Sprintf("https://a.test/%d", i), "fire", "350105", 0))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.ClaimDeliveries(context.Background(), alerts.ClaimRequest{Now: clock.Now(), Limit: 3, Lease: time.Hour})
				if err != nil {
					errs <- err
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
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
}

// One delivery of an inbound webhook id claims it; the others wait, then
// get its answer; a released claim can be taken again.
func testInbound(t *testing.T, s Store, clock *Clock) {
	ctx := t.Context()
	claimed, _, _, seen, err := s.ClaimInbound(ctx, "cases", "msg_1")
	if err != nil || !claimed || seen {
		t.Fatalf("first claim: %v %v %v", claimed, seen, err)
	}
	if claimed, _, _, seen, err := s.ClaimInbound(ctx, "cases", "msg_1"); err != nil || claimed || seen {
		t.Fatalf("second claim while held: %v %v %v", claimed, seen, err)
	}
	if claimed, _, _, _, err := s.ClaimInbound(ctx, "other", "msg_1"); err != nil || !claimed {
		t.Fatalf("ids are per platform: %v %v", claimed, err)
	}
	if err := s.RecordInbound(ctx, "cases", "msg_1", 200, []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	claimed, st, ans, seen, err := s.ClaimInbound(ctx, "cases", "msg_1")
	if err != nil || claimed || !seen || st != 200 || string(ans) != `{"ok":true}` {
		t.Fatalf("claim after the answer: %v %d %s %v %v", claimed, st, ans, seen, err)
	}
	if st, ans, ok, err := s.InboundAnswer(ctx, "cases", "msg_1"); err != nil || !ok || st != 200 || string(ans) != `{"ok":true}` {
		t.Fatalf("answer %d %s %v %v", st, ans, ok, err)
	}
	if _, _, ok, err := s.InboundAnswer(ctx, "other", "msg_1"); err != nil || ok {
		t.Fatalf("a claim without an answer answered: %v %v", ok, err)
	}
	if err := s.ReleaseInbound(ctx, "other", "msg_1"); err != nil {
		t.Fatal(err)
	}
	if claimed, _, _, _, err := s.ClaimInbound(ctx, "other", "msg_1"); err != nil || !claimed {
		t.Fatalf("claim after release: %v %v", claimed, err)
	}
	clock.Add(alerts.InboundClaimTTL + time.Second)
	if claimed, _, _, _, err := s.ClaimInbound(ctx, "other", "msg_1"); err != nil || !claimed {
		t.Fatalf("a claim older than the TTL is not taken over: %v %v", claimed, err)
	}
}

// A capture is recorded once in the audit trail.
func testCaptures(t *testing.T, s Store, clock *Clock) {
	ctx := t.Context()
	id := file(t, s, post("https://a.test/1", "fire", "350105", simA)).LeadID
	c := alerts.CaptureNote{PayloadDigest: "sha256:abc", File: "2026/03/02.warc.gz", RecordID: "<urn:uuid:1>", CapturedAt: clock.Now(), URL: "https://a.test/1"}
	for i, want := range []bool{true, false} {
		got, err := s.RecordCapture(ctx, id, c)
		if err != nil || got != want {
			t.Fatalf("capture %d: %v %v, want %v", i, got, err, want)
		}
	}
	var n int
	for _, e := range audit(t, s, id) {
		if e.Action == alerts.ActionCaptured {
			n++
			if back, ok := alerts.ParseCaptureNote(e.Note); !ok || back.RecordID != c.RecordID || back.URL != c.URL {
				t.Fatalf("capture note %q", e.Note)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d capture entries", n)
	}
	// A record id is matched whole: one that starts with another's is
	// another capture, and a note quoting an id in its URL names none.
	longer := c
	longer.RecordID = "<urn:uuid:1>0"
	quoting := c
	quoting.RecordID, quoting.URL = "<urn:uuid:2>", "https://a.test/1? record=<urn:uuid:3> x"
	third := c
	third.RecordID = "<urn:uuid:3>"
	for _, k := range []alerts.CaptureNote{longer, quoting, third} {
		if got, err := s.RecordCapture(ctx, id, k); err != nil || !got {
			t.Fatalf("capture %s: %v %v, want a new entry", k.RecordID, got, err)
		}
	}
	if _, err := s.RecordCapture(ctx, id, alerts.CaptureNote{URL: "x"}); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("incomplete capture: %v", err)
	}
	if _, err := s.RecordCapture(ctx, "no-such-lead", c); !errors.Is(err, alerts.ErrNotFound) {
		t.Fatalf("capture on an unknown lead: %v", err)
	}
}

// Confirmed leads are positive verdicts, dismissals saying the post is no
// hazard negative; duplicates, new and merged leads are none.
func testVerdicts(t *testing.T, s Store, clock *Clock) {
	pos := file(t, s, post("https://a.test/1", "fire", "350105", simA)).LeadID
	neg := file(t, s, post("https://a.test/2", "flood", "350181", simB)).LeadID
	dup := file(t, s, post("https://a.test/3", "fire", "350102", simA^0xFFFF_FFFF)).LeadID
	file(t, s, post("https://a.test/4", "fire", "350111", simB^0xFFFF_FFFF))
	transit(t, s, pos, alerts.TransitionRequest{To: alerts.StateConfirmed})
	clock.Add(time.Minute)
	transit(t, s, neg, alerts.TransitionRequest{To: alerts.StateDismissed, Reason: "advert"})
	transit(t, s, dup, alerts.TransitionRequest{To: alerts.StateDismissed, Reason: "duplicate"})
	vs, err := s.Verdicts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].LeadID != pos || !vs[0].Positive || vs[0].Category != "fire" || vs[0].Title != "标题 https://a.test/1" ||
		vs[1].LeadID != neg || vs[1].Positive || vs[1].Reason != "advert" {
		t.Fatalf("verdicts %+v", vs)
	}
}

// The dashboard counts leads by state and level, overdue and on-time
// closing, places and posts per day; rule stats count confirmations.
func testStats(t *testing.T, s Store, clock *Clock) {
	ctx := t.Context()
	a := file(t, s, post("https://a.test/1", "fire", "350105", simA)).LeadID
	b := file(t, s, post("https://a.test/2", "flood", "350105", simB)).LeadID
	c := file(t, s, post("https://a.test/3", "fire", "350181", simA^0xFFFF_FFFF)).LeadID
	closeLead(t, s, a)
	transit(t, s, b, alerts.TransitionRequest{To: alerts.StateDismissed, Reason: "advert"})
	clock.Add(25 * time.Hour) // c (high, 24h) is now overdue
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Open != 1 || st.Overdue != 1 || st.Closed != 1 || st.ClosedOnTime != 1 || st.OnTimeRate != 1 ||
		st.ByState[alerts.StateClosed] != 1 || st.ByState[alerts.StateDismissed] != 1 || st.ByLevel["high"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(st.TopLocations) != 1 || st.TopLocations[0].Code != "350181001" || st.TopLocations[0].Leads != 1 {
		t.Fatalf("top locations %+v", st.TopLocations)
	}
	var posts int
	for _, d := range st.MentionsPerDay {
		posts += d.Count
	}
	if posts != 3 {
		t.Fatalf("mentions per day %+v", st.MentionsPerDay)
	}
	if l := lead(t, s, c); !l.Overdue {
		t.Fatal("lead past its due time not overdue")
	}
	if over, n, err := s.ListLeads(ctx, alerts.LeadFilter{Overdue: true}); err != nil || n != 1 || over[0].ID != c {
		t.Fatalf("overdue leads %v %d %v", over, n, err)
	}
	rs, err := s.RuleStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string]alerts.RuleStat{}
	for _, r := range rs {
		byRule[r.Rule] = r
	}
	if f := byRule["fire/rule_a"]; f.Leads != 2 || f.Confirmed != 1 || f.Dismissed != 0 || f.Precision != 1 {
		t.Fatalf("fire rule %+v", f)
	}
	if f := byRule["flood/rule_a"]; f.Leads != 1 || f.Dismissed != 1 || f.Precision != 0 {
		t.Fatalf("flood rule %+v", f)
	}
}

// A lead's posts are read a window at a time, newest first, with the
// lead's total; a window past the end is empty and an unknown lead is
// not found.
func testSourceWindows(t *testing.T, s Store, clock *Clock) {
	first := file(t, s, post("https://w.test/0", "fire", "350105", simA, "仓库", "起火"))
	for i := 1; i < 7; i++ {
		clock.Add(time.Minute)
		if r := file(t, s, post(fmt.Sprintf("https://w.test/%d", i), "fire", "350105", simA)); r.LeadID != first.LeadID {
			t.Fatalf("post %d: %+v, want joined %s", i, r, first.LeadID)
		}
	}
	l, total, err := s.GetLeadWindow(t.Context(), first.LeadID, alerts.SourceWindow{Offset: 2, Limit: 3})
	if err != nil || total != 7 || len(l.Sources) != 3 || l.Sources[0].URL != "https://w.test/4" || l.Sources[2].URL != "https://w.test/2" {
		t.Fatalf("window 2+3: %v of %d, %v", l, total, err)
	}
	if l.SourceCount != 7 || l.Title == "" {
		t.Fatalf("the lead itself is whole in a window: %d sources, title %q", l.SourceCount, l.Title)
	}
	checkWindows(t, s, first.LeadID)
	if _, _, err := s.GetLeadWindow(t.Context(), "no-such-lead", alerts.SourceWindow{Limit: 5}); !errors.Is(err, alerts.ErrNotFound) {
		t.Fatalf("unknown lead: %v, want ErrNotFound", err)
	}
}
