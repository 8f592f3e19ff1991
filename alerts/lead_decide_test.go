package alerts

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// These tests run the decisions on plain values: no database.

var testSLA = map[string]time.Duration{"critical": 2 * time.Hour, "high": 24 * time.Hour, "medium": 72 * time.Hour, "low": 7 * 24 * time.Hour}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func leadIn(state string) Lead {
	due := t0.Add(24 * time.Hour)
	l := Lead{ID: "L1", State: state, Level: "high", Score: 5, Version: 3, CreatedAt: t0, UpdatedAt: t0,
		FirstSeen: t0, LastSeen: t0, SourceCount: 2, DueAt: &due,
		Categories: []CategoryScore{{Code: "fire", Score: 5}}, Locations: []Location{{Code: "350105", Name: "马尾区"}},
		Terms: []string{"起火", "仓库"}}
	switch state {
	case StateClosed:
		c := t0.Add(time.Hour)
		l.ClosedAt = &c
		l.Resolution = "extinguished"
	case StateDismissed:
		l.Resolution = "not a fire"
	case StateDispatched, StateHandled, StateVerified:
		l.Unit = "fire brigade 3"
	}
	return l
}

// fullRequest is a move to "to" with every field a legal move may need.
func fullRequest(to string) TransitionRequest {
	return TransitionRequest{To: to, Actor: "ana", Note: "checked on site", Reason: "a reason", Unit: "unit 7", MergeInto: "L2"}
}

func TestTransitEveryPair(t *testing.T) {
	now := t0.Add(5 * time.Hour)
	for _, from := range States {
		for _, to := range States {
			legal := slices.Contains(transitions[from], to)
			t.Run(from+"→"+to, func(t *testing.T) {
				l := leadIn(from)
				next, audit, err := Transit(l, fullRequest(to), now, testSLA)
				if !legal {
					var te *TransitionError
					if !errors.As(err, &te) || !errors.Is(err, ErrIllegalTransition) || te.From != from || te.To != to {
						t.Fatalf("got %v, want an illegal transition %s → %s", err, from, to)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if next.State != to || next.Version != l.Version+1 || !next.UpdatedAt.Equal(now) {
					t.Fatalf("state %s version %d updated %v", next.State, next.Version, next.UpdatedAt)
				}
				if len(audit) != 1 || audit[0].Action != "transition" || audit[0].From != from || audit[0].To != to ||
					audit[0].Actor != "ana" || audit[0].Note != "checked on site" || audit[0].Reason != "a reason" {
					t.Fatalf("audit %+v", audit)
				}
				if (to == StateMerged) != (audit[0].MergeInto == "L2") || (to == StateDispatched) != (audit[0].Unit == "unit 7") {
					t.Fatalf("audit merge_into %q unit %q for %s", audit[0].MergeInto, audit[0].Unit, to)
				}
				if (to == StateClosed) != (next.ClosedAt != nil) {
					t.Fatalf("closed at %v in state %s", next.ClosedAt, to)
				}
				if to == StateClosed && !next.ClosedAt.Equal(now) {
					t.Fatalf("closed at %v, want %v", next.ClosedAt, now)
				}
				if l.State != from || l.Version != 3 {
					t.Fatalf("the caller's lead changed: %+v", l)
				}
			})
		}
	}
}

func TestTransitFields(t *testing.T) {
	now := t0.Add(30 * time.Hour)
	cases := []struct {
		name  string
		from  string
		req   TransitionRequest
		check func(t *testing.T, l Lead, audit []AuditEntry)
		want  error
	}{
		{"dismiss needs a reason", StateNew, TransitionRequest{To: StateDismissed}, nil, ErrReasonRequired},
		{"dismiss records the reason", StateNew, TransitionRequest{To: StateDismissed, Reason: "spam"}, func(t *testing.T, l Lead, _ []AuditEntry) {
			if l.Resolution != "spam" {
				t.Fatalf("resolution %q", l.Resolution)
			}
		}, nil},
		{"dispatch needs a unit", StateConfirmed, TransitionRequest{To: StateDispatched}, nil, ErrInvalid},
		{"redispatch keeps the unit", StateHandled, TransitionRequest{To: StateDispatched}, func(t *testing.T, l Lead, a []AuditEntry) {
			if l.Unit != "fire brigade 3" || a[0].Unit != "" {
				t.Fatalf("unit %q, audit unit %q", l.Unit, a[0].Unit)
			}
		}, nil},
		{"merge needs a target", StateNew, TransitionRequest{To: StateMerged}, nil, ErrInvalid},
		{"merge into itself", StateNew, TransitionRequest{To: StateMerged, MergeInto: "L1"}, nil, ErrInvalid},
		{"merge empties the lead", StateConfirmed, TransitionRequest{To: StateMerged, MergeInto: "L9"}, func(t *testing.T, l Lead, _ []AuditEntry) {
			if l.MergedInto != "L9" || l.SourceCount != 0 {
				t.Fatalf("merged into %q with %d sources", l.MergedInto, l.SourceCount)
			}
		}, nil},
		{"unknown state", StateNew, TransitionRequest{To: "archived"}, nil, ErrInvalid},
		{"reopen a closed lead needs a note", StateClosed, TransitionRequest{To: StateConfirmed}, nil, ErrInvalid},
		{"reopen a dismissed lead needs a note", StateDismissed, TransitionRequest{To: StateNew, Note: "  "}, nil, ErrInvalid},
		{"reopen a closed lead", StateClosed, TransitionRequest{To: StateConfirmed, Note: "it burns again"}, func(t *testing.T, l Lead, a []AuditEntry) {
			if l.ClosedAt != nil || l.Resolution != "" {
				t.Fatalf("closed at %v resolution %q after reopening", l.ClosedAt, l.Resolution)
			}
			if want := now.Add(24 * time.Hour); l.DueAt == nil || !l.DueAt.Equal(want) || l.Overdue {
				t.Fatalf("due %v (overdue %v), want %v", l.DueAt, l.Overdue, want)
			}
			if a[0].Note != "it burns again" {
				t.Fatalf("audit note %q", a[0].Note)
			}
		}, nil},
		{"reopen a dismissed lead", StateDismissed, TransitionRequest{To: StateNew, Note: "a second report"}, func(t *testing.T, l Lead, _ []AuditEntry) {
			if l.Resolution != "" || l.DueAt == nil || !l.DueAt.Equal(now.Add(24*time.Hour)) {
				t.Fatalf("resolution %q due %v", l.Resolution, l.DueAt)
			}
		}, nil},
		{"a merged lead stays merged", StateMerged, TransitionRequest{To: StateNew, Note: "why"}, nil, ErrIllegalTransition},
		{"closing keeps the reason as resolution", StateVerified, TransitionRequest{To: StateClosed, Reason: "repaired"}, func(t *testing.T, l Lead, _ []AuditEntry) {
			if l.Resolution != "repaired" || l.Overdue {
				t.Fatalf("resolution %q overdue %v", l.Resolution, l.Overdue)
			}
		}, nil},
		{"an open lead past its due time is overdue", StateNew, TransitionRequest{To: StateConfirmed}, func(t *testing.T, l Lead, _ []AuditEntry) {
			if !l.Overdue {
				t.Fatal("not overdue 30h after filing with a 24h SLA")
			}
		}, nil},
		{"assignee and case number in the same change", StateNew, TransitionRequest{To: StateConfirmed, Assignee: "bo", CaseNumber: "C-17"}, func(t *testing.T, l Lead, a []AuditEntry) {
			if l.Assignee != "bo" || l.CaseNumber != "C-17" {
				t.Fatalf("assignee %q case %q", l.Assignee, l.CaseNumber)
			}
			if len(a) != 2 || a[1].Action != "assign" || a[1].From != "" || a[1].To != "bo" || a[0].Actor != "unknown" {
				t.Fatalf("audit %+v", a)
			}
		}, nil},
		{"stale version", StateNew, TransitionRequest{To: StateConfirmed, Version: 2}, nil, ErrConflict},
		{"newer version than stored", StateNew, TransitionRequest{To: StateConfirmed, Version: 4}, nil, ErrConflict},
		{"current version", StateNew, TransitionRequest{To: StateConfirmed, Version: 3}, func(t *testing.T, l Lead, _ []AuditEntry) {
			if l.Version != 4 {
				t.Fatalf("version %d", l.Version)
			}
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, audit, err := Transit(leadIn(tc.from), tc.req, now, testSLA)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				if !strings.Contains(err.Error(), "L1") {
					t.Fatalf("error %q does not name the lead", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, l, audit)
		})
	}
}

func TestMergeFolds(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	from := leadIn(StateNew)
	from.ID, from.Level, from.Score, from.SourceCount = "A", "critical", 9, 3
	from.FirstSeen = t0.Add(-time.Hour)
	from.Categories = []CategoryScore{{Code: "fire", Score: 9}, {Code: "smoke", Score: 2}}
	from.Locations = []Location{{Code: "350105001", Name: "罗星街道"}}
	from.Place = "江滨路与沿山路交叉口东侧25米"
	from.Terms = []string{"起火", "浓烟"}
	into := leadIn(StateConfirmed)
	into.ID = "B"
	into.Place = "江滨路与沿山路交叉口东侧"
	before := into.Categories[0]

	got, entry, err := Merge(from, into, "", now, testSLA)
	if err != nil {
		t.Fatal(err)
	}
	if got.SourceCount != 5 || got.Level != "critical" || got.Score != 9 || !got.FirstSeen.Equal(from.FirstSeen) {
		t.Fatalf("sources %d level %s score %v first %v", got.SourceCount, got.Level, got.Score, got.FirstSeen)
	}
	if got.Categories[0] != (CategoryScore{Code: "fire", Score: 9}) || len(got.Categories) != 2 {
		t.Fatalf("categories %+v", got.Categories)
	}
	if len(got.Locations) != 2 || got.Place != from.Place || !slices.Equal(got.Terms, []string{"起火", "仓库", "浓烟"}) {
		t.Fatalf("locations %+v place %q terms %v", got.Locations, got.Place, got.Terms)
	}
	// critical is due 2h after the target was created.
	if want := into.CreatedAt.Add(2 * time.Hour); !got.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v", got.DueAt, want)
	}
	if got.Version != into.Version || got.State != StateConfirmed {
		t.Fatalf("version %d state %s: a merge is no review of the target", got.Version, got.State)
	}
	if entry != (AuditEntry{LeadID: "B", At: now, Actor: "unknown", Action: "merged_from", Note: "A"}) {
		t.Fatalf("audit %+v", entry)
	}
	if into.Categories[0] != before || into.SourceCount != 2 {
		t.Fatalf("the caller's target changed: %+v", into)
	}

	for _, st := range []string{StateClosed, StateDismissed, StateMerged} {
		t.Run("into "+st, func(t *testing.T) {
			if _, _, err := Merge(from, leadIn(st), "ana", now, testSLA); !errors.Is(err, ErrInvalid) {
				t.Fatalf("merging into a %s lead: %v", st, err)
			}
		})
	}
	if _, _, err := Merge(from, from, "ana", now, testSLA); !errors.Is(err, ErrInvalid) {
		t.Fatalf("merging into itself: %v", err)
	}
}

// A chain A → B → C leaves everything on C, whatever each step carried.
func TestMergeChain(t *testing.T) {
	now := t0.Add(time.Hour)
	mk := func(id string, n int, seen time.Time, term string) Lead {
		l := leadIn(StateNew)
		l.ID, l.SourceCount, l.FirstSeen, l.LastSeen, l.Terms = id, n, seen, seen, []string{term}
		return l
	}
	a, b, c := mk("A", 1, t0.Add(-3*time.Hour), "a"), mk("B", 2, t0, "b"), mk("C", 4, t0.Add(3*time.Hour), "c")
	a2, _, err := Transit(a, TransitionRequest{To: StateMerged, MergeInto: "B"}, now, testSLA)
	if err != nil {
		t.Fatal(err)
	}
	b2, _, err := Merge(a, b, "ana", now, testSLA)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Merge(b2, a2, "ana", now, testSLA); !errors.Is(err, ErrInvalid) {
		t.Fatalf("merging back into the merged lead: %v", err)
	}
	c2, _, err := Merge(b2, c, "ana", now, testSLA)
	if err != nil {
		t.Fatal(err)
	}
	if c2.SourceCount != 7 || !c2.FirstSeen.Equal(a.FirstSeen) || !c2.LastSeen.Equal(c.LastSeen) || !slices.Equal(c2.Terms, []string{"c", "b", "a"}) {
		t.Fatalf("sources %d span %v–%v terms %v", c2.SourceCount, c2.FirstSeen, c2.LastSeen, c2.Terms)
	}
	if a2.State != StateMerged || a2.MergedInto != "B" || a2.SourceCount != 0 {
		t.Fatalf("merged lead %+v", a2)
	}
}

func TestReassign(t *testing.T) {
	now := t0.Add(time.Hour)
	l, e, err := Reassign(leadIn(StateConfirmed), AssignRequest{Actor: "ana", Assignee: "bo", Note: "yours", Version: 3}, now)
	if err != nil {
		t.Fatal(err)
	}
	if l.Assignee != "bo" || l.Version != 4 || e != (AuditEntry{LeadID: "L1", At: now, Actor: "ana", Action: "assign", To: "bo", Note: "yours"}) {
		t.Fatalf("lead %+v audit %+v", l, e)
	}
	if _, _, err := Reassign(leadIn(StateConfirmed), AssignRequest{Assignee: "bo", Version: 1}, now); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale version: %v", err)
	}
	for _, st := range []string{StateClosed, StateDismissed, StateMerged} {
		if _, _, err := Reassign(leadIn(st), AssignRequest{Assignee: "bo"}, now); !errors.Is(err, ErrInvalid) {
			t.Fatalf("assigning a %s lead: %v", st, err)
		}
	}
}

func TestCluster(t *testing.T) {
	p := ClusterParams{SimhashDistance: 3, Window: 48 * time.Hour, MinSharedTerms: 2}
	c := Candidate{SimHash: 0b1111_0000, Categories: []CategoryScore{{Code: "fire", Score: 3}},
		LocationCodes: []string{"350105001"}, Terms: []string{"起火", "仓库", "浓烟"}}
	sk := func(id string, h uint64, first time.Time, terms ...string) LeadSketch {
		return LeadSketch{ID: id, SimHash: h, FirstSeen: first, Terms: terms}
	}
	cases := []struct {
		name       string
		c          Candidate
		near, same []LeadSketch
		want       string
	}{
		{"nothing to join", c, nil, nil, ""},
		{"closest near-duplicate", c, []LeadSketch{sk("A", 0b1111_0111, t0), sk("B", 0b1111_0001, t0)}, nil, "B"},
		{"a tie goes to the greater id", c, []LeadSketch{sk("B", 0b1111_0001, t0), sk("C", 0b1111_0010, t0), sk("A", 0b1111_0100, t0)}, nil, "C"},
		{"beyond the distance", c, []LeadSketch{sk("A", 0b0000_1111, t0)}, nil, ""},
		{"a near-duplicate beats the place", c, []LeadSketch{sk("A", 0b1111_0000, t0)}, []LeadSketch{sk("P", 0, t0, "起火", "仓库", "浓烟")}, "A"},
		{"place: most shared terms", c, nil, []LeadSketch{sk("P", 0, t0, "起火", "仓库"), sk("Q", 0, t0, "起火", "仓库", "浓烟")}, "Q"},
		{"place: the first listed wins a tie", c, nil, []LeadSketch{sk("Q", 0, t0, "起火", "仓库"), sk("P", 0, t0, "起火", "浓烟")}, "Q"},
		{"place: too few shared terms", c, nil, []LeadSketch{sk("P", 0, t0, "起火", "车祸")}, ""},
		{"place: a one-term lead needs one", c, nil, []LeadSketch{sk("P", 0, t0, "浓烟")}, "P"},
		{"place: first seen more than a window later", c, nil, []LeadSketch{sk("P", 0, t0.Add(49*time.Hour), "起火", "仓库")}, ""},
		{"place: first seen within a window later", c, nil, []LeadSketch{sk("P", 0, t0.Add(47*time.Hour), "起火", "仓库")}, "P"},
		{"no terms, no place join", Candidate{Categories: c.Categories, LocationCodes: c.LocationCodes}, nil, []LeadSketch{sk("P", 0, t0, "起火")}, ""},
		{"no county, no place join", Candidate{Categories: c.Categories, LocationCodes: []string{"35"}, Terms: c.Terms}, nil, []LeadSketch{sk("P", 0, t0, "起火", "仓库")}, ""},
		{"no simhash, no near-duplicate", Candidate{Terms: []string{"x"}}, []LeadSketch{sk("A", 0, t0)}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Cluster(&tc.c, t0, tc.near, tc.same, p); got != tc.want {
				t.Fatalf("joins %q, want %q", got, tc.want)
			}
		})
	}
	if cat, cs, ok := PlaceKeys(&Candidate{Categories: []CategoryScore{{"a", 1}, {"b", 2}}, LocationCodes: []string{"350105001", "350105", "350102"}, Terms: []string{"x"}}); !ok || cat != "b" || !slices.Equal(cs, []string{"350105", "350102"}) {
		t.Fatalf("place keys %q %v %v", cat, cs, ok)
	}
}

func TestNewLeadAndJoin(t *testing.T) {
	now := t0.Add(time.Minute)
	c := Candidate{Title: " ", Snippet: strings.Repeat("火", 100), Level: "medium", Score: 4, SimHash: 7,
		Categories: []CategoryScore{{Code: "fire", Score: 4}}, LocationCodes: []string{"350105"}, LocationNames: []string{"马尾区"},
		Place: "江滨路", Terms: []string{"起火", "起火", ""}}
	l := NewLead("L1", &c, t0, now, testSLA)
	if l.Title != strings.Repeat("火", 60)+"…" || l.State != StateNew || l.Version != 1 || l.SourceCount != 1 ||
		!l.DueAt.Equal(now.Add(72*time.Hour)) || !slices.Equal(l.Terms, []string{"起火"}) || l.Place != "江滨路" {
		t.Fatalf("new lead %+v", l)
	}
	later := now.Add(time.Hour)
	hot := Candidate{Level: "critical", Score: 9, Categories: []CategoryScore{{Code: "explosion", Score: 9}}, Place: "江滨路12号", Terms: []string{"爆炸"}}
	j := Join(l, &hot, t0.Add(-time.Hour), later, testSLA)
	if j.Level != "critical" || j.Score != 9 || j.SourceCount != 2 || !j.FirstSeen.Equal(t0.Add(-time.Hour)) || j.Version != 1 {
		t.Fatalf("joined %+v", j)
	}
	if !j.DueAt.Equal(now.Add(2*time.Hour)) || j.TopCategory() != "explosion" || j.Place != "江滨路12号" {
		t.Fatalf("due %v top %s place %q", j.DueAt, j.TopCategory(), j.Place)
	}
	calm := Candidate{Level: "medium", Score: 1}
	if k := Join(j, &calm, later, later, testSLA); k.Level != "critical" || !k.DueAt.Equal(*j.DueAt) {
		t.Fatalf("a calmer post lowered the lead: %s due %v", k.Level, k.DueAt)
	}
	if l.Level != "medium" || l.SourceCount != 1 || len(l.Categories) != 1 || !l.DueAt.Equal(now.Add(72*time.Hour)) {
		t.Fatalf("the caller's lead changed: %+v", l)
	}
}
