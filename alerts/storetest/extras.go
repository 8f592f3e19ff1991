package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"riskmine/alerts"
)

// NewServiceStore returns an empty alerts.ServiceStore opened with opts
// and closes it in t.Cleanup.
type NewServiceStore func(t *testing.T, opts alerts.Options) alerts.ServiceStore

// The endpoints of RunExtras: ops takes plain leads only, bursts opts in
// to burst leads and health to source health events.
func extrasEndpoints() []alerts.Endpoint {
	return []alerts.Endpoint{
		{Name: "ops", URL: "http://127.0.0.1:9/hook", Secret: Secret},
		{Name: "bursts", URL: "http://127.0.0.1:9/bursts", Secret: Secret, Bursts: true},
		{Name: "health", URL: "http://127.0.0.1:9/health", Secret: Secret, SourceHealth: true, Events: []string{alerts.EventSourceHealth}},
	}
}

// extrasZone is the store's zone in RunExtras: days are counted in it.
var extrasZone = time.FixedZone("UTC+8", 8*3600)

// RunExtras runs what the service needs of a lead store beyond
// alerts.Store (alerts.ServiceStore): the places page's counts and trend,
// burst counting, series, filing and pruning, source health rows in the
// outbox, and the events of new leads, against stores made by newStore.
// Each case has a store of its own, a clock it moves and the zone UTC+8.
func RunExtras(t *testing.T, newStore NewServiceStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, alerts.ServiceStore, *Clock)
	}{
		{"Places", testPlaces},
		{"Bursts", testBursts},
		{"SourceHealth", testSourceHealth},
		{"LeadEvents", testLeadEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &Clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			s := newStore(t, alerts.Options{Now: clock.Now, Location: extrasZone, Endpoints: extrasEndpoints()})
			tc.fn(t, s, clock)
		})
	}
}

// placed is a high-level post of one category without simhash or terms
// (so it opens a lead of its own), placed at the 9-digit codes given and
// published at pub.
func placed(url string, pub time.Time, codes ...string) alerts.Candidate {
	c := post(url, "fire", codes[0][:6], 0)
	c.LocationCodes, c.LocationNames = codes, nil
	for _, code := range codes {
		c.LocationNames = append(c.LocationNames, "街道 "+code)
	}
	c.PublishedAt = pub
	return c
}

// The places page counts open leads under each division below a parent,
// a lead placed in two counties once in each, and the trend counts leads
// (open or closed, not merged) by the day of their first sighting in the
// store's zone.
func testPlaces(t *testing.T, s alerts.ServiceStore, clock *Clock) {
	ctx := t.Context()
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	a := file(t, s, placed("https://p.test/a", day(2, 8), "350105001")).LeadID     // 03-02 16:00 local
	file(t, s, placed("https://p.test/b", day(1, 20), "350181001"))                // 03-02 04:00 local
	file(t, s, placed("https://p.test/c", day(1, 10), "110105001"))                // 03-01 18:00 local
	d := file(t, s, placed("https://p.test/d", day(-1, 10), "350105002")).LeadID   // 02-27 18:00 local
	file(t, s, placed("https://p.test/e", day(-50, 10), "350102001", "350105003")) // January
	// Merged into a: counted neither as open nor in the trend (and a's
	// first sighting stays its own).
	f := file(t, s, placed("https://p.test/f", day(2, 8).Add(30*time.Minute), "350105001")).LeadID
	closeLead(t, s, d)
	transit(t, s, f, alerts.TransitionRequest{To: alerts.StateMerged, MergeInto: a})

	for _, tc := range []struct {
		parent string
		want   []alerts.PlaceCount
	}{
		{"", []alerts.PlaceCount{{Code: "35", Leads: 3}, {Code: "11", Leads: 1}}},
		{"35", []alerts.PlaceCount{{Code: "3501", Leads: 3}}},
		{"3501", []alerts.PlaceCount{{Code: "350105", Leads: 2}, {Code: "350102", Leads: 1}, {Code: "350181", Leads: 1}}},
		{"350105", []alerts.PlaceCount{{Code: "350105001", Leads: 1}, {Code: "350105003", Leads: 1}}},
		{"350105001", []alerts.PlaceCount{}},
		{"44", []alerts.PlaceCount{}},
	} {
		got, err := s.OpenLeadsByPlace(ctx, tc.parent)
		if err != nil || got == nil || !slices.Equal(got, tc.want) {
			t.Fatalf("open leads under %q: %v %v, want %v", tc.parent, got, err, tc.want)
		}
	}
	if _, err := s.OpenLeadsByPlace(ctx, "35-01"); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("open leads under 35-01: %v, want ErrInvalid", err)
	}

	for _, tc := range []struct {
		code string
		days int
		want []alerts.DayCount
	}{
		{"", 7, []alerts.DayCount{{Day: "2026-02-27", Category: "leads", Count: 1}, {Day: "2026-03-01", Category: "leads", Count: 1},
			{Day: "2026-03-02", Category: "leads", Count: 2}}},
		{"3501", 7, []alerts.DayCount{{Day: "2026-02-27", Category: "leads", Count: 1}, {Day: "2026-03-02", Category: "leads", Count: 2}}},
		{"11", 1, []alerts.DayCount{{Day: "2026-03-01", Category: "leads", Count: 1}}},
		{"350102", 7, []alerts.DayCount{}},
	} {
		got, err := s.PlaceTrend(ctx, tc.code, tc.days)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Fatalf("trend of %q over %d days: %v %v, want %v", tc.code, tc.days, got, err, tc.want)
		}
	}
	if _, err := s.PlaceTrend(ctx, "x", 7); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("trend of x: %v, want ErrInvalid", err)
	}
}

// burstPost is a post counted in category fire at the counties given.
func burstPost(url string, at time.Time, cat string, counties ...string) alerts.BurstPost {
	p := alerts.BurstPost{URL: url, Site: "example.test", Source: "forum", Title: "标题 " + url, Snippet: "正文 " + url,
		At: at, Level: "low", Score: 2, Categories: []string{cat}, Counties: counties}
	for _, c := range counties {
		p.CountyNames = append(p.CountyNames, "福建省/福州市/"+c)
	}
	return p
}

func record(t *testing.T, s alerts.ServiceStore, p alerts.BurstPost) {
	t.Helper()
	if err := s.RecordBurstPost(t.Context(), p); err != nil {
		t.Fatalf("count %s: %v", p.URL, err)
	}
}

// Posts are counted once per series and URL; series, history and the
// latest burst are read back; a burst opens a burst lead with its posts
// (outbox rows for the endpoints that opt in to bursts), a later scan
// adds the new posts to it, and pruning keeps the posts of burst leads.
func testBursts(t *testing.T, s alerts.ServiceStore, clock *Clock) {
	ctx := t.Context()
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, time.UTC) }
	if since, err := s.BurstSince(ctx); err != nil || !since.IsZero() {
		t.Fatalf("burst history start before any post: %v %v", since, err)
	}
	if err := s.RecordBurstPost(ctx, alerts.BurstPost{Categories: []string{"fire"}, Counties: []string{"350105"}}); !errors.Is(err, alerts.ErrInvalid) {
		t.Fatalf("a post without a url: %v, want ErrInvalid", err)
	}
	record(t, s, alerts.BurstPost{URL: "https://b.test/no-series"}) // no category: not counted
	if since, _ := s.BurstSince(ctx); !since.IsZero() {
		t.Fatalf("a post in no series started the history at %v", since)
	}
	start := clock.Now()
	record(t, s, burstPost("https://b.test/1", at(8, 10), "fire", "350105", "350181"))
	clock.Add(time.Minute)
	record(t, s, burstPost("https://b.test/2", at(8, 20), "fire", "350105"))
	record(t, s, burstPost("https://b.test/3", at(8, 30), "fire", "350105"))
	record(t, s, burstPost("https://b.test/1", at(8, 10), "fire", "350105")) // counted already
	record(t, s, burstPost("https://b.test/4", at(8, 40), "flood", "350105"))
	// A post dated after it was seen counts when seen.
	record(t, s, burstPost("https://b.test/late", clock.Now().Add(time.Hour), "flood", "350181"))
	if since, err := s.BurstSince(ctx); err != nil || !since.Equal(start) {
		t.Fatalf("burst history start %v %v, want %v", since, err, start)
	}
	series, err := s.BurstSeriesSince(ctx, at(7, 0), at(9, 0), 1)
	want := []alerts.BurstSeries{{Category: "fire", County: "350105", CountyName: "福建省/福州市/350105", Posts: 3},
		{Category: "fire", County: "350181", CountyName: "福建省/福州市/350181", Posts: 1},
		{Category: "flood", County: "350105", CountyName: "福建省/福州市/350105", Posts: 1}}
	if err != nil || !slices.Equal(series, want) {
		t.Fatalf("series: %+v %v, want %+v", series, err, want)
	}
	if series, err := s.BurstSeriesSince(ctx, at(8, 10), at(9, 0), 2); err != nil || len(series) != 1 || series[0].Posts != 2 {
		t.Fatalf("series of two posts or more after 08:10 (excluded): %+v %v", series, err)
	}
	if series, err := s.BurstSeriesSince(ctx, at(9, 0), at(9, 5), 1); err != nil || len(series) != 1 || series[0].County != "350181" || series[0].Category != "flood" {
		t.Fatalf("the late post's series: %+v %v", series, err)
	}
	hist, err := s.BurstHistory(ctx, "fire", "350105", at(8, 20), at(8, 30))
	if err != nil || len(hist) != 2 || !hist[0].Equal(at(8, 20)) || !hist[1].Equal(at(8, 30)) {
		t.Fatalf("history [08:20, 08:30]: %v %v", hist, err)
	}
	if id, last, err := s.LastBurst(ctx, "fire", "350105"); err != nil || id != "" || !last.IsZero() {
		t.Fatalf("last burst of a series that never burst: %q %v %v", id, last, err)
	}

	info := alerts.BurstInfo{Category: "fire", CategoryName: "火灾", County: "350105", CountyName: "福建省/福州市/鼓楼区",
		From: at(8, 0), To: at(9, 0), Seen: 3, Expected: 0.25, Threshold: 2, Tail: 1e-4}
	for _, bad := range []alerts.BurstFiling{
		{Info: alerts.BurstInfo{County: "350105", From: at(8, 0), To: at(9, 0)}, Level: "high"},
		{Info: info, Level: "severe"},
	} {
		if _, err := s.FileBurst(ctx, bad); !errors.Is(err, alerts.ErrInvalid) {
			t.Fatalf("filing %+v: %v, want ErrInvalid", bad, err)
		}
	}
	res, err := s.FileBurst(ctx, alerts.BurstFiling{Info: info, Level: "high", New: true})
	if err != nil || res.Outcome != alerts.OutcomeCreated || res.LeadID == "" {
		t.Fatalf("burst: %+v %v", res, err)
	}
	l := lead(t, s, res.LeadID)
	if l.Kind != alerts.KindBurst || l.Burst == nil || l.Burst.Seen != 3 || l.Level != "high" || l.SourceCount != 3 || len(l.Sources) != 3 ||
		l.Sources[0].URL != "https://b.test/3" || l.Sources[0].PublishedAt == nil || !l.Sources[0].PublishedAt.Equal(at(8, 30)) ||
		!l.FirstSeen.Equal(at(8, 10)) || !l.LastSeen.Equal(at(8, 30)) || l.TopCategory() != "fire" || l.Title == "" || l.DueAt == nil {
		t.Fatalf("burst lead: %+v", l)
	}
	if len(l.Locations) != 1 || l.Locations[0].Code != "350105" || l.Version != 1 || l.State != alerts.StateNew {
		t.Fatalf("burst lead place and state: %+v", l)
	}
	if a := audit(t, s, l.ID); len(a) != 1 || a[0].Action != "created" || a[0].Note != alerts.BurstNote(info) {
		t.Fatalf("burst lead audit %+v", a)
	}
	ds := claim(t, s, clock.Now())
	if len(ds) != 1 || ds[0].Endpoint != "bursts" || ds[0].Event != alerts.EventLeadCreated || ds[0].LeadID != l.ID {
		t.Fatalf("outbox after the burst: %v (only the endpoint that opts in to bursts)", events(ds))
	}
	var body struct {
		Data alerts.Lead `json:"data"`
	}
	if err := json.Unmarshal(ds[0].Body, &body); err != nil || body.Data.ID != l.ID || body.Data.Kind != alerts.KindBurst || len(body.Data.Sources) != 3 {
		t.Fatalf("burst webhook body %s: %v", ds[0].Body, err)
	}
	deliver(t, s, ds, clock.Now())
	if id, last, err := s.LastBurst(ctx, "fire", "350105"); err != nil || id != l.ID || !last.Equal(at(8, 30)) {
		t.Fatalf("last burst: %q %v %v", id, last, err)
	}
	if again, err := s.FileBurst(ctx, alerts.BurstFiling{Info: info, Level: "high"}); err != nil || again.Outcome != alerts.OutcomeDuplicate || again.LeadID != l.ID {
		t.Fatalf("the same window again: %+v %v", again, err)
	}

	clock.Add(time.Hour)
	record(t, s, burstPost("https://b.test/5", at(9, 30), "fire", "350105"))
	stronger := info
	stronger.From, stronger.To, stronger.Seen, stronger.Tail = at(9, 0), at(10, 0), 5, 1e-6
	res2, err := s.FileBurst(ctx, alerts.BurstFiling{Info: stronger, Level: "high"})
	if err != nil || res2.Outcome != alerts.OutcomeJoined || res2.LeadID != l.ID {
		t.Fatalf("a later window: %+v %v", res2, err)
	}
	l2 := lead(t, s, l.ID)
	if l2.SourceCount != 4 || len(l2.Sources) != 4 || !l2.LastSeen.Equal(at(9, 30)) || l2.Burst.Seen != 5 || l2.Score <= l.Score {
		t.Fatalf("burst lead after the later window: %d sources, last %v, seen %d, score %v (was %v)", l2.SourceCount, l2.LastSeen, l2.Burst.Seen, l2.Score, l.Score)
	}
	if ds := claim(t, s, clock.Now()); len(ds) != 1 || ds[0].Event != alerts.EventLeadUpdated || ds[0].Endpoint != "bursts" {
		t.Fatalf("outbox after the later window: %v", events(ds))
	}
	checkWindows(t, s, l.ID)

	// Pruning forgets the counted posts before the cutoff that are on no
	// burst lead.
	n, err := s.PruneBurstPosts(ctx, at(10, 0))
	if err != nil || n != 3 {
		t.Fatalf("pruned %d (%v), want 3 (fire/350181, flood/350105, flood/350181)", n, err)
	}
	if series, err := s.BurstSeriesSince(ctx, at(0, 0), at(12, 0), 1); err != nil || len(series) != 1 || series[0].Posts != 4 {
		t.Fatalf("series after pruning: %+v %v", series, err)
	}
	if l3 := lead(t, s, l.ID); len(l3.Sources) != 4 {
		t.Fatalf("the burst lead lost posts to pruning: %d", len(l3.Sources))
	}
	// A burst lead is reviewed like any lead, but is no training example:
	// its posts are not one text.
	transit(t, s, l.ID, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana"})
	if vs, err := s.Verdicts(ctx); err != nil || len(vs) != 0 {
		t.Fatalf("verdicts with a confirmed burst lead: %+v %v", vs, err)
	}
}

// deliver records the deliveries ds as delivered at now.
func deliver(t *testing.T, s alerts.ServiceStore, ds []alerts.Delivery, now time.Time) {
	t.Helper()
	var recs []alerts.AttemptRecord
	for _, d := range ds {
		recs = append(recs, alerts.AttemptRecord{Attempt: alerts.Attempt{DeliveryID: d.ID, N: d.Attempts + 1, At: now, Status: 200, Outcome: "delivered"}})
	}
	if err := s.RecordAttempts(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
}

// events names deliveries by endpoint, event and lead, for messages.
func events(ds []alerts.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Endpoint+" "+d.Event+" "+d.LeadID)
	}
	return out
}

// A source health change is queued for the endpoints that opted in, as a
// row without a lead; an unknown problem is refused.
func testSourceHealth(t *testing.T, s alerts.ServiceStore, clock *Clock) {
	ctx := t.Context()
	ev := alerts.SourceHealthEvent{Source: "forum", Site: "bbs.example.test", Problem: alerts.HealthSelectors, Failing: true,
		Since: clock.Now().Add(-time.Hour), At: clock.Now(), Runs: 3, ListPages: 2}
	bad := ev
	bad.Problem = "slow"
	if n, err := s.NotifySourceHealth(ctx, bad); !errors.Is(err, alerts.ErrInvalid) || n != 0 {
		t.Fatalf("unknown problem: %d %v, want ErrInvalid", n, err)
	}
	// Drain any signal left from opening.
	select {
	case <-s.OutboxSignal():
	default:
	}
	n, err := s.NotifySourceHealth(ctx, ev)
	if err != nil || n != 1 {
		t.Fatalf("queued %d (%v), want 1 (the health endpoint)", n, err)
	}
	select {
	case <-s.OutboxSignal():
	case <-time.After(5 * time.Second):
		t.Fatal("no outbox signal after a health change was queued")
	}
	ds, total, err := s.Deliveries(ctx, alerts.DeliveryFilter{Endpoint: "health"})
	if err != nil || total != 1 || ds[0].Event != alerts.EventSourceHealth || ds[0].LeadID != "" || ds[0].State != alerts.DeliveryPending {
		t.Fatalf("health deliveries: %+v %d %v", ds, total, err)
	}
	claimed := claim(t, s, clock.Now())
	if len(claimed) != 1 || claimed[0].ID != ds[0].ID {
		t.Fatalf("claimed %v", events(claimed))
	}
	var body struct {
		Type string                   `json:"type"`
		Data alerts.SourceHealthEvent `json:"data"`
	}
	if err := json.Unmarshal(claimed[0].Body, &body); err != nil || body.Type != alerts.SourceHealthType ||
		body.Data.Source != "forum" || body.Data.Problem != alerts.HealthSelectors || !body.Data.Failing || body.Data.Runs != 3 {
		t.Fatalf("health body %s: %v", claimed[0].Body, err)
	}
	if _, n, err := s.Deliveries(ctx, alerts.DeliveryFilter{}); err != nil || n != 1 {
		t.Fatalf("%d deliveries in all (%v), want 1", n, err)
	}
}

// next waits for the next lead event (a backend may deliver them a moment
// after the commit).
func next(t *testing.T, ch <-chan alerts.LeadEvent) alerts.LeadEvent {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("lead events closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no lead event within 10 s")
	}
	return alerts.LeadEvent{}
}

// Subscribers hear of each lead created, post or burst, once and in order
// of filing; a post joining a lead or filed twice creates none; a cancelled
// subscription's channel closes and the others go on.
func testLeadEvents(t *testing.T, s alerts.ServiceStore, clock *Clock) {
	ctx := t.Context()
	ch, cancel := s.SubscribeLeads()
	other, cancelOther := s.SubscribeLeads()
	defer cancelOther()
	first := file(t, s, post("https://e.test/1", "fire", "350105", simA, "仓库", "起火"))
	file(t, s, post("https://e.test/2", "fire", "350105", simA))             // joins
	file(t, s, post("https://e.test/1", "fire", "350105", simA, "仓库", "起火")) // duplicate
	crit := post("https://e.test/3", "explosion", "350181", simB)
	crit.Level, crit.Score = "critical", 9
	second := file(t, s, crit)
	record(t, s, burstPost("https://e.test/b1", clock.Now().Add(-time.Minute), "flood", "350102"))
	burst, err := s.FileBurst(ctx, alerts.BurstFiling{Level: "medium", New: true, Info: alerts.BurstInfo{Category: "flood", County: "350102",
		From: clock.Now().Add(-time.Hour), To: clock.Now(), Seen: 1, Expected: 0.01, Threshold: 1, Tail: 0.01}})
	if err != nil || burst.Outcome != alerts.OutcomeCreated {
		t.Fatalf("burst: %+v %v", burst, err)
	}
	l1 := lead(t, s, first.LeadID)
	for _, c := range []<-chan alerts.LeadEvent{ch, other} {
		if ev := next(t, c); ev != (alerts.LeadEvent{ID: l1.ID, Level: "high", Category: "fire", Title: l1.Title}) {
			t.Fatalf("first event %+v, want lead %s", ev, l1.ID)
		}
		if ev := next(t, c); ev.ID != second.LeadID || ev.Level != "critical" || ev.Category != "explosion" {
			t.Fatalf("second event %+v, want lead %s (the join and the duplicate create none)", ev, second.LeadID)
		}
		if ev := next(t, c); ev.ID != burst.LeadID || ev.Category != "flood" || ev.Level != "medium" || ev.Title == "" {
			t.Fatalf("third event %+v, want burst lead %s", ev, burst.LeadID)
		}
	}
	cancel()
	for range ch {
		t.Fatal("an event after cancel")
	}
	third := file(t, s, post("https://e.test/4", "fire", "350111", simB^0xFFFF_0000))
	if ev := next(t, other); ev.ID != third.LeadID {
		t.Fatalf("event %+v after another subscription was cancelled, want %s", ev, third.LeadID)
	}
}
