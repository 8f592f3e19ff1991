package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/alerts/pgstore"
	"riskmine/config"
	"riskmine/internal/pgtest"
	"riskmine/nlp"
)

// testClock is a settable clock for the lead store.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// openStore opens an empty lead store with opts and closes it in
// t.Cleanup.
type openStore func(t *testing.T, opts alerts.Options) alerts.ServiceStore

func openSQLite(t *testing.T, opts alerts.Options) alerts.ServiceStore {
	s, err := alerts.OpenSQLite(filepath.Join(t.TempDir(), "riskmine.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T, opts alerts.Options) alerts.ServiceStore {
	s, err := pgstore.Open(context.Background(), pgtest.DSN(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestBurstScanFilesOnceAttachesPostsAndRespectsOptIn files a burst on a
// real SQLite store: one lead of kind burst with the window's posts, later
// posts of the same burst join it, a quiet series files nothing, and only
// the webhook that opts in to bursts gets it.
func TestBurstScanFilesOnceAttachesPostsAndRespectsOptIn(t *testing.T) {
	testBurstScan(t, openSQLite)
}

// TestBurstScanOnPostgres runs the same scan over the PostgreSQL lead
// store, whose burst counts are shared by every node (skipped without
// RISKMINE_TEST_POSTGRES).
func TestBurstScanOnPostgres(t *testing.T) {
	testBurstScan(t, openPostgres)
}

func testBurstScan(t *testing.T, open openStore) {
	ctx := context.Background()
	now := time.Date(2026, 3, 18, 15, 0, 0, 0, burstZone) // a Wednesday afternoon
	clock := &testClock{t: now.AddDate(0, 0, -35)}
	secret := "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"
	store := open(t, alerts.Options{
		Now: clock.now,
		Endpoints: []alerts.Endpoint{
			{Name: "plain", URL: "http://127.0.0.1:9/plain", Secret: secret},
			{Name: "bursts", URL: "http://127.0.0.1:9/bursts", Secret: secret, Bursts: true},
		},
	})
	cfg := config.Default()
	cfg.Alerts.Burst.Enabled = true
	rec := BurstRecorderOf(cfg, store)
	if rec == nil {
		t.Fatal("no burst recorder with alerts.burst enabled")
	}
	off := config.Default()
	off.Alerts.Burst.Enabled = false
	if BurstRecorderOf(off, store) != nil {
		t.Fatal("a burst recorder with alerts.burst disabled")
	}
	n := 0
	post := func(county, name string, at time.Time) {
		t.Helper()
		n++
		err := rec.RecordBurstPost(ctx, alerts.BurstPost{
			URL: fmt.Sprintf("https://bbs.test/t/%d", n), Title: fmt.Sprintf("%s 电信诈骗 %d", name, n), Snippet: "接到冒充客服的电话，被骗转账",
			At: at, SeenAt: at.Add(10 * time.Minute), Level: "low", Score: 3,
			Categories: []string{"fraud"}, Counties: []string{county}, CountyNames: []string{"福建省/福州市/" + name},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// 28 days of history: a post every other day in both counties.
	for d := 30; d >= 1; d -= 2 {
		at := now.AddDate(0, 0, -d).Add(-3 * time.Hour)
		clock.set(at)
		post("350104", "仓山区", at)
		post("350105", "马尾区", at.Add(time.Hour))
	}
	clock.set(now)
	// The burst: six posts in the last three hours in 仓山区; one in 马尾区.
	for i := range 6 {
		post("350104", "仓山区", now.Add(-3*time.Hour+time.Duration(i)*30*time.Minute))
	}
	post("350105", "马尾区", now.Add(-time.Hour))

	scanner := NewBurstScanner(cfg, store, slog.New(slog.DiscardHandler))
	scanner.Lexicons = func() []*nlp.Lexicon {
		return []*nlp.Lexicon{{Code: "fire", Name: "火灾"}, {Code: "fraud", Name: "诈骗"}}
	}
	filed, err := scanner.Scan(ctx, now)
	if err != nil || filed != 1 {
		t.Fatalf("first scan filed %d (%v), want 1 burst", filed, err)
	}
	leads, total, err := store.ListLeads(ctx, alerts.LeadFilter{})
	if err != nil || total != 1 {
		t.Fatalf("%d leads (%v), want 1", total, err)
	}
	l, err := store.GetLead(ctx, leads[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind != alerts.KindBurst || l.Burst == nil || l.Burst.Category != "fraud" || l.Burst.County != "350104" || l.Burst.Seen != 6 {
		t.Fatalf("lead kind %q burst %+v, want a fraud burst in 350104 of 6 posts", l.Kind, l.Burst)
	}
	if l.Title != "仓山区诈骗类帖文突增" || !strings.Contains(l.Summary, "6小时内 6 条") {
		t.Errorf("title %q summary %q: want the county and the category's name, and the count", l.Title, l.Summary)
	}
	if l.Burst.Expected <= 0 || l.Burst.Expected > 1 || l.Burst.Threshold > 6 || l.Burst.CountyName != "福建省/福州市/仓山区" {
		t.Errorf("burst %+v: want a small expected count, a threshold of at most 6 and the county's name", l.Burst)
	}
	if len(l.Sources) != 6 || l.SourceCount != 6 || l.Level != "medium" || l.TopCategory() != "fraud" {
		t.Fatalf("lead has %d sources (count %d), level %s, category %s; want the 6 posts, medium, fraud", len(l.Sources), l.SourceCount, l.Level, l.TopCategory())
	}
	if !l.FirstSeen.Equal(now.Add(-3*time.Hour)) || !l.LastSeen.Equal(now.Add(-30*time.Minute)) {
		t.Errorf("lead seen %v – %v, want the first and last post's times", l.FirstSeen, l.LastSeen)
	}

	// The next scan sees the same burst: nothing new.
	clock.set(now.Add(15 * time.Minute))
	if filed, err := scanner.Scan(ctx, now.Add(15*time.Minute)); err != nil || filed != 0 {
		t.Fatalf("second scan filed %d (%v), want 0", filed, err)
	}
	// A later post of the same burst joins the lead.
	post("350104", "仓山区", now.Add(20*time.Minute))
	clock.set(now.Add(30 * time.Minute))
	if filed, err := scanner.Scan(ctx, now.Add(30*time.Minute)); err != nil || filed != 1 {
		t.Fatalf("third scan filed %d (%v), want the new post to join", filed, err)
	}
	if _, total, _ := store.ListLeads(ctx, alerts.LeadFilter{}); total != 1 {
		t.Fatalf("%d leads after the burst went on, want still 1", total)
	}
	l, err = store.GetLead(ctx, l.ID)
	if err != nil || len(l.Sources) != 7 || l.Burst.Seen != 7 {
		t.Fatalf("lead after the burst went on: %d sources, seen %d (%v); want 7, 7", len(l.Sources), l.Burst.Seen, err)
	}

	// Webhooks: only the endpoint that opted in, created then updated.
	ds, _, err := store.Deliveries(ctx, alerts.DeliveryFilter{LeadID: l.ID})
	if err != nil {
		t.Fatal(err)
	}
	events := map[string]int{}
	for _, d := range ds {
		if d.Endpoint != "bursts" {
			t.Errorf("endpoint %q got burst lead %s, it did not opt in", d.Endpoint, l.ID)
		}
		events[d.Event]++
	}
	if events[alerts.EventLeadCreated] != 1 || events[alerts.EventLeadUpdated] != 1 {
		t.Fatalf("deliveries %v, want one lead_created and one lead_updated", events)
	}
	d, err := store.Delivery(ctx, ds[len(ds)-1].ID)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Type string      `json:"type"`
		Data alerts.Lead `json:"data"`
	}
	if err := json.Unmarshal(d.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Data.Kind != "burst" || body.Data.Burst == nil || len(body.Data.Sources) == 0 || !bytes.Contains(d.Body, []byte(`"kind":"burst"`)) {
		t.Errorf("webhook body %s: want kind burst, the burst and its posts", d.Body)
	}
}

// TestBurstNeedsAWeekOfHistory: a new installation's first posts are not
// a burst, however many.
func TestBurstNeedsAWeekOfHistory(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 18, 15, 0, 0, 0, burstZone)
	clock := &testClock{t: now.Add(-2 * time.Hour)}
	store, err := alerts.OpenSQLite(filepath.Join(t.TempDir(), "riskmine.db"), alerts.Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for i := range 10 {
		at := now.Add(-time.Duration(i) * 10 * time.Minute)
		if err := store.RecordBurstPost(ctx, alerts.BurstPost{URL: fmt.Sprintf("https://a.test/%d", i), At: at, SeenAt: at,
			Level: "medium", Categories: []string{"fire"}, Counties: []string{"350104"}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	if filed, err := NewBurstScanner(cfg, store, slog.New(slog.DiscardHandler)).Scan(ctx, now); err != nil || filed != 0 {
		t.Fatalf("filed %d (%v) on a day-old history, want 0", filed, err)
	}
}

// burstZone is the default configured zone the tests' series are counted in.
var burstZone = func() *time.Location {
	loc, err := time.LoadLocation(config.DefaultTimezone)
	if err != nil {
		panic(err)
	}
	return loc
}()
