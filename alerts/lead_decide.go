package alerts

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// The decisions of filing and review, as pure functions over plain values:
// which lead a post joins, what joining changes, whether a transition is
// legal and what it sets, what a merge produces. A store loads what they
// need, calls them and saves what they return (see lead_flow.go); they
// touch no database and no clock.

// ClusterParams are the clustering settings of Options.
type ClusterParams struct {
	// SimhashDistance is the largest Hamming distance of near-duplicates.
	SimhashDistance int
	// Window: posts of one category and county this close in time may join.
	Window time.Duration
	// MinSharedTerms is how many salient terms two posts must share (fewer
	// when a side has fewer).
	MinSharedTerms int
}

func (o Options) clusterParams() ClusterParams {
	return ClusterParams{SimhashDistance: o.SimhashDistance, Window: o.ClusterWindow, MinSharedTerms: o.MinSharedTerms}
}

// LeadSketch is what clustering needs of a candidate lead: its id, one of
// its simhashes (a lead keeps one per distinct post hash), when it was
// first seen and its salient terms.
type LeadSketch struct {
	ID        string
	SimHash   uint64
	FirstSeen time.Time
	Terms     []string
}

// NearestDuplicate returns the id of the lead whose simhash is closest to
// h within dist bits (ties go to the greater id), or "".
func NearestDuplicate(h uint64, near []LeadSketch, dist int) string {
	if h == 0 {
		return ""
	}
	bestID, bestD := "", 65
	for _, n := range near {
		if d := bits.OnesCount64(n.SimHash ^ h); d <= dist && (d < bestD || d == bestD && n.ID > bestID) {
			bestID, bestD = n.ID, d
		}
	}
	return bestID
}

// PlaceKeys returns the top category and the counties under which a
// candidate looks for a lead of the same place, and false when it cannot
// join by place (no category, no county or no terms).
func PlaceKeys(c *Candidate) (category string, counties []string, ok bool) {
	top := topCategory(c.Categories)
	cs := countiesOf(c.LocationCodes)
	if top == "" || len(cs) == 0 || len(c.Terms) == 0 {
		return "", nil, false
	}
	return top, cs, true
}

// BestInPlace returns the id of the lead among same (open leads of the
// candidate's top category and county last seen since at-Window, in the
// order the store lists them: county by county, most recent first) that
// shares the most salient terms with c, at least MinSharedTerms; the first
// listed wins a tie. Leads first seen more than a window after at are
// skipped. "" when none qualifies.
func BestInPlace(c *Candidate, at time.Time, same []LeadSketch, p ClusterParams) string {
	bestID, bestShared := "", 0
	for _, l := range same {
		if at.Before(l.FirstSeen.Add(-p.Window)) {
			continue
		}
		need := min(p.MinSharedTerms, len(l.Terms), len(c.Terms))
		if n := sharedTerms(l.Terms, c.Terms); need > 0 && n >= need && n > bestShared {
			bestID, bestShared = l.ID, n
		}
	}
	return bestID
}

// Cluster returns the lead a candidate filed at at joins, "" for a new
// lead: a near-duplicate simhash wins, else the best lead of the same
// place (see NearestDuplicate and BestInPlace).
func Cluster(c *Candidate, at time.Time, near, same []LeadSketch, p ClusterParams) string {
	if id := NearestDuplicate(c.SimHash, near, p.SimhashDistance); id != "" {
		return id
	}
	if _, _, ok := PlaceKeys(c); !ok {
		return ""
	}
	return BestInPlace(c, at, same, p)
}

// countiesOf returns the distinct county-level prefixes (6 digits) of codes.
func countiesOf(codes []string) []string {
	var out []string
	for _, c := range codes {
		if len(c) >= 6 {
			k := c[:6]
			if !contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// sharedTerms counts terms present in both lists.
func sharedTerms(a, b []string) int {
	set := make(map[string]bool, len(a))
	for _, t := range a {
		set[t] = true
	}
	n := 0
	for _, t := range b {
		if set[t] {
			n++
			delete(set, t)
		}
	}
	return n
}

// SourceTextRunes is how much of a post's text a lead keeps on its source
// entry: enough for the evidence of a typical post to be shown in place.
const SourceTextRunes = 4000

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

const (
	maxLeadTerms     = 64
	maxLeadLocations = 20
)

// NewLead returns the lead a candidate opens: id given, filed at at (the
// post's time) and now, due by its level's SLA.
func NewLead(id string, c *Candidate, at, now time.Time, sla map[string]time.Duration) Lead {
	title := strings.TrimSpace(c.Title)
	if title == "" {
		title = truncateRunes(strings.TrimSpace(c.Snippet), 60)
	}
	l := Lead{
		ID:          id,
		Title:       title,
		Summary:     truncateRunes(strings.TrimSpace(c.Snippet), 300),
		Level:       c.Level,
		Score:       c.Score,
		SimHash:     c.SimHash,
		FirstSeen:   at.UTC(),
		LastSeen:    at.UTC(),
		SourceCount: 1,
		State:       StateNew,
		CreatedAt:   now.UTC(),
		UpdatedAt:   now.UTC(),
		Version:     1,
		Categories:  []CategoryScore{},
		Locations:   []Location{},
		Terms:       []string{},
	}
	l.Categories = mergeCategories(l.Categories, c.Categories)
	l.Locations = mergeLocations(l.Locations, c.LocationCodes, c.LocationNames)
	l.Place, l.PlaceCode = c.Place, c.PlaceCode
	l.Terms = mergeTerms(l.Terms, c.Terms)
	if d, ok := sla[l.Level]; ok {
		due := now.Add(d).UTC()
		l.DueAt = &due
	}
	return l
}

// Join returns l with a joining post folded in: one more source, the
// higher level and score, the wider time span, the union of categories,
// places and terms, and the due time moved earlier when the level rose.
// It never lowers the level and leaves the version alone (new sources are
// not review changes).
func Join(l Lead, c *Candidate, at, now time.Time, sla map[string]time.Duration) Lead {
	l = detach(l)
	l.SourceCount++
	l.Level = maxLevel(l.Level, c.Level)
	if c.Score > l.Score {
		l.Score = c.Score
	}
	if at.Before(l.FirstSeen) {
		l.FirstSeen = at.UTC()
	}
	if at.After(l.LastSeen) {
		l.LastSeen = at.UTC()
	}
	l.Categories = mergeCategories(l.Categories, c.Categories)
	l.Locations = mergeLocations(l.Locations, c.LocationCodes, c.LocationNames)
	l.Place, l.PlaceCode = mergePlace(l.Place, l.PlaceCode, c.Place, c.PlaceCode)
	l.Terms = mergeTerms(l.Terms, c.Terms)
	tightenDue(&l, sla)
	l.UpdatedAt = now.UTC()
	return l
}

// detach copies the slices and pointers a decision changes, so the caller's
// lead is left as it was.
func detach(l Lead) Lead {
	l.Categories = slices.Clone(l.Categories)
	l.Locations = slices.Clone(l.Locations)
	l.Terms = slices.Clone(l.Terms)
	if l.DueAt != nil {
		d := *l.DueAt
		l.DueAt = &d
	}
	if l.ClosedAt != nil {
		c := *l.ClosedAt
		l.ClosedAt = &c
	}
	return l
}

func mergeCategories(have, add []CategoryScore) []CategoryScore {
	for _, a := range add {
		found := false
		for i := range have {
			if have[i].Code == a.Code {
				found = true
				if a.Score > have[i].Score {
					have[i].Score = a.Score
				}
			}
		}
		if !found && a.Code != "" {
			have = append(have, a)
		}
	}
	sort.SliceStable(have, func(i, j int) bool { return have[i].Score > have[j].Score })
	return have
}

func mergeLocations(have []Location, codes, names []string) []Location {
	for i, code := range codes {
		if code == "" || len(have) >= maxLeadLocations {
			continue
		}
		found := false
		for _, h := range have {
			if h.Code == code {
				found = true
			}
		}
		if !found {
			name := ""
			if i < len(names) {
				name = names[i]
			}
			have = append(have, Location{Code: code, Name: name})
		}
	}
	return have
}

// mergePlace keeps a lead's place: the first post that names the spot is
// the report of the scene; a later post replaces it only when none was
// named or when it writes the same spot more fully (…交叉口东侧 →
// …交叉口东侧25米), whatever order the posts were filed in.
func mergePlace(have, haveCode, add, addCode string) (string, string) {
	if add != "" && (have == "" || add != have && strings.Contains(add, have)) {
		if addCode == "" {
			addCode = haveCode
		}
		return add, addCode
	}
	return have, haveCode
}

func mergeTerms(have, add []string) []string {
	for _, t := range add {
		if t != "" && len(have) < maxLeadTerms && !contains(have, t) {
			have = append(have, t)
		}
	}
	return have
}

// tightenDue moves the due time earlier when the level rose.
func tightenDue(l *Lead, sla map[string]time.Duration) {
	if d, ok := sla[l.Level]; ok {
		due := l.CreatedAt.Add(d)
		if l.DueAt == nil || due.Before(*l.DueAt) {
			l.DueAt = &due
		}
	}
}

func leadCounty(l *Lead) string {
	codes := make([]string, len(l.Locations))
	for i, loc := range l.Locations {
		codes[i] = loc.Code
	}
	if cs := countiesOf(codes); len(cs) > 0 {
		return cs[0]
	}
	return ""
}

// markOverdue sets l.Overdue as of now.
func markOverdue(l *Lead, now time.Time) {
	l.Overdue = IsOpen(l.State) && l.DueAt != nil && now.After(*l.DueAt)
}

func actorOr(a string) string {
	if strings.TrimSpace(a) == "" {
		return "unknown"
	}
	return a
}

// checkVersion refuses a change made on a stale version (0 skips the check).
func checkVersion(l *Lead, version int) error {
	if version != 0 && version != l.Version {
		return fmt.Errorf("alerts: lead %s: version %d is stale, the lead is at version %d: %w", l.ID, version, l.Version, ErrConflict)
	}
	return nil
}

// Transit decides a transition: it checks the version the actor saw and
// the move, and returns the lead as it becomes (state, unit, resolution,
// case number, assignee, closing time, due time of a reopened case, the
// version bumped) with the audit entries to record: the transition, and
// an assign entry when the assignee changed. A merge only marks the lead
// here (merged into, no sources left); what it does to the target is
// Merge's. The caller saves the lead with a check on the version it
// loaded (l.Version before the call).
func Transit(l Lead, req TransitionRequest, now time.Time, sla map[string]time.Duration) (Lead, []AuditEntry, error) {
	if err := checkVersion(&l, req.Version); err != nil {
		return Lead{}, nil, err
	}
	if err := checkTransition(l.ID, l.State, req, l.Unit); err != nil {
		return Lead{}, nil, err
	}
	l = detach(l)
	actor := actorOr(req.Actor)
	from := l.State
	if req.To == StateMerged {
		l.MergedInto = req.MergeInto
		l.SourceCount = 0
	}
	switch req.To {
	case StateDispatched:
		if req.Unit != "" {
			l.Unit = req.Unit
		}
	case StateDismissed:
		l.Resolution = req.Reason
	case StateHandled, StateVerified, StateClosed:
		if req.Reason != "" {
			l.Resolution = req.Reason
		}
	}
	if isReopen(from, req.To) {
		// The old resolution and closing time belong to the finished
		// case; the audit trail keeps them.
		l.Resolution = ""
		l.ClosedAt = nil
		// A reopened case gets its level's time again from now, or it
		// would be overdue at once.
		if d, ok := sla[l.Level]; ok {
			due := now.Add(d).UTC()
			l.DueAt = &due
		}
	}
	if req.To == StateClosed {
		t := now.UTC()
		l.ClosedAt = &t
	}
	if req.CaseNumber != "" {
		l.CaseNumber = req.CaseNumber
	}
	oldAssignee := l.Assignee
	if req.Assignee != "" {
		l.Assignee = req.Assignee
	}
	l.State = req.To
	l.UpdatedAt = now.UTC()
	l.Version++
	markOverdue(&l, now)
	entry := AuditEntry{LeadID: l.ID, At: now, Actor: actor, Action: "transition", From: from, To: req.To, Note: req.Note, Reason: req.Reason}
	if req.To == StateMerged {
		entry.MergeInto = req.MergeInto
	}
	if req.To == StateDispatched {
		entry.Unit = req.Unit
	}
	audit := []AuditEntry{entry}
	if oldAssignee != l.Assignee {
		audit = append(audit, AuditEntry{LeadID: l.ID, At: now, Actor: actor, Action: "assign", From: oldAssignee, To: l.Assignee})
	}
	return l, audit, nil
}

// Merge decides what merging lead from into lead into produces: the target
// with from's sources counted, the higher level and score, the wider time
// span, the union of categories, places and terms and the due time
// tightened, and the target's merged_from audit entry. A target that is
// not open is refused. Its version is left alone (the sources moved are
// not a review of the target).
func Merge(from, into Lead, actor string, now time.Time, sla map[string]time.Duration) (Lead, AuditEntry, error) {
	if from.ID == into.ID {
		return Lead{}, AuditEntry{}, fmt.Errorf("alerts: lead %s: cannot merge a lead into itself: %w", from.ID, ErrInvalid)
	}
	if !IsOpen(into.State) {
		return Lead{}, AuditEntry{}, fmt.Errorf("alerts: lead %s: merge target %s is %s, not open: %w", from.ID, into.ID, into.State, ErrInvalid)
	}
	t := detach(into)
	t.SourceCount += from.SourceCount
	t.Level = maxLevel(t.Level, from.Level)
	if from.Score > t.Score {
		t.Score = from.Score
	}
	if from.FirstSeen.Before(t.FirstSeen) {
		t.FirstSeen = from.FirstSeen
	}
	if from.LastSeen.After(t.LastSeen) {
		t.LastSeen = from.LastSeen
	}
	t.Categories = mergeCategories(t.Categories, from.Categories)
	codes, names := make([]string, len(from.Locations)), make([]string, len(from.Locations))
	for i, loc := range from.Locations {
		codes[i], names[i] = loc.Code, loc.Name
	}
	t.Locations = mergeLocations(t.Locations, codes, names)
	t.Place, t.PlaceCode = mergePlace(t.Place, t.PlaceCode, from.Place, from.PlaceCode)
	t.Terms = mergeTerms(t.Terms, from.Terms)
	tightenDue(&t, sla)
	t.UpdatedAt = now.UTC()
	return t, AuditEntry{LeadID: t.ID, At: now, Actor: actorOr(actor), Action: "merged_from", Note: from.ID}, nil
}

// Reassign decides an assignment: the version the actor saw must be the
// lead's, and the lead must be open. It returns the lead with the new
// assignee and its version bumped, and the assign audit entry.
func Reassign(l Lead, req AssignRequest, now time.Time) (Lead, AuditEntry, error) {
	if err := checkVersion(&l, req.Version); err != nil {
		return Lead{}, AuditEntry{}, err
	}
	if !IsOpen(l.State) {
		return Lead{}, AuditEntry{}, fmt.Errorf("alerts: lead %s is %s and can no longer be assigned: %w", l.ID, l.State, ErrInvalid)
	}
	l = detach(l)
	from := l.Assignee
	l.Assignee = req.Assignee
	l.UpdatedAt = now.UTC()
	l.Version++
	markOverdue(&l, now)
	return l, AuditEntry{LeadID: l.ID, At: now, Actor: actorOr(req.Actor), Action: "assign", From: from, To: req.Assignee, Note: req.Note}, nil
}
