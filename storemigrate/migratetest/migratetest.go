// Package migratetest fills an embedded data folder through the real
// stores (SQLite and Bleve), for the tests and the benchmark of moving an
// installation to PostgreSQL (package storemigrate and riskmine migrate).
package migratetest

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/crawler"
	"riskmine/evidence"
	"riskmine/index"
	"riskmine/nlp"
	"riskmine/service"
	"riskmine/web"
)

// Fixture is what Fill put in the data folder.
type Fixture struct {
	DataDir string
	// Alerts are the options the lead store was opened with (its webhook
	// endpoint makes outbox rows).
	Alerts alerts.Options
	// Leads are the leads filed; Reviewed the one confirmed, assigned and
	// annotated (its audit trail is the longest).
	Leads    []string
	Reviewed string
	// Delivered is the outbox row delivered; the others are pending.
	Delivered string
	// User and Password log in; SessionToken and APIToken are live.
	User, Password         string
	SessionToken, APIToken string
	// Page is a URL the crawl state has seen; Source its source.
	Page, Source string
	// Posts is the number of posts indexed; Post is the key of the one
	// that Query finds alone.
	Posts       int
	Post, Query string
	// Capture is the evidence capture archived for the reviewed lead, and
	// KeyFingerprint the archive's signing key as its index records it.
	Capture        evidence.Entry
	KeyFingerprint string
}

// Endpoint is the webhook the fixture's outbox rows are for (nothing
// listens there: delivery is not the point).
var Endpoint = alerts.Endpoint{Name: "cases", URL: "http://127.0.0.1:9/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Format: "standard"}

// T0 is the fixture's clock.
var T0 = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

// Size is how much Fill writes beyond its fixed rows.
type Size struct {
	// Posts is the number of posts indexed (at least 1).
	Posts int
	// Pages is the number of URLs the crawl state has seen (at least 3).
	Pages int
}

// Fill writes into the data folder dir: leads (filed, reviewed, with
// notes), their outbox rows (one delivered), users with a session, an API
// token, a saved search and an alert rule, read audit rows, crawl state
// (pages and runs) and indexed posts.
func Fill(t testing.TB, dir string, size Size) *Fixture {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(dir, "riskmine.db")
	now := T0
	fx := &Fixture{DataDir: dir, Alerts: alerts.Options{Endpoints: []alerts.Endpoint{Endpoint}, Now: func() time.Time { return now }}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	leads, err := alerts.OpenSQLite(db, fx.Alerts)
	must(err)
	for i := range 3 {
		c := alerts.Candidate{
			URL:           fmt.Sprintf("https://news.example/%d", i),
			Site:          "news.example",
			Source:        "news",
			Title:         fmt.Sprintf("马尾区第%d处井盖缺失", i),
			Snippet:       "路面井盖缺失，行人险些跌落",
			PublishedAt:   now.Add(-time.Hour),
			SeenAt:        now,
			Level:         "high",
			Score:         7.5,
			Categories:    []alerts.CategoryScore{{Code: "city_management", Score: 7.5}},
			LocationCodes: []string{fmt.Sprintf("35010%d", 2+i)},
			LocationNames: []string{"福建省/福州市"},
			SimHash:       uint64(0x1234567890abcdef) << uint(i*7),
			Terms:         []string{fmt.Sprintf("井盖%d", i), fmt.Sprintf("缺失%d", i)},
			Evidence:      []alerts.Evidence{{Rule: "city_management/manhole", Category: "city_management", Field: "title", Text: "井盖", Start: 5, End: 7, Weight: 3}},
			LevelCues:     []alerts.LevelCue{{Kind: "hazard", Level: "medium", Field: "title", Text: "井盖缺失", Start: 6, End: 10}},
		}
		r, err := leads.File(ctx, c)
		must(err)
		if r.Outcome != alerts.OutcomeCreated {
			t.Fatalf("migratetest: post %d: %s, want a new lead", i, r.Outcome)
		}
		fx.Leads = append(fx.Leads, r.LeadID)
		now = now.Add(time.Minute)
	}
	fx.Reviewed = fx.Leads[0]
	_, err = leads.Transition(ctx, fx.Reviewed, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana", Note: "现场核实"})
	must(err)
	_, err = leads.AddNote(ctx, fx.Reviewed, "ana", "已通知街道")
	must(err)
	_, err = leads.Transition(ctx, fx.Reviewed, alerts.TransitionRequest{To: alerts.StateDispatched, Actor: "ana", Unit: "马尾区城管"})
	must(err)
	claimed, err := leads.ClaimDeliveries(ctx, alerts.ClaimRequest{Now: now, Limit: 1, Lease: time.Minute})
	must(err)
	if len(claimed) != 1 {
		t.Fatalf("migratetest: %d outbox rows claimed, want 1", len(claimed))
	}
	fx.Delivered = claimed[0].ID
	must(leads.RecordAttempts(ctx, []alerts.AttemptRecord{{Attempt: alerts.Attempt{
		DeliveryID: fx.Delivered, N: 1, At: now, Status: 200, Latency: 30 * time.Millisecond, Outcome: alerts.DeliveryDelivered}}}))
	must(leads.Close())

	arch, _, err := evidence.Open(ctx, evidence.Options{Dir: filepath.Join(dir, "evidence"), DB: db, Now: func() time.Time { return now }})
	must(err)
	fx.Capture, _, err = arch.Put(ctx, evidence.Page{LeadID: fx.Reviewed, URL: "https://news.example/0", Source: "news", Capture: evidence.Capture{
		Method: "GET", RequestURL: "https://news.example/0", Status: 200,
		ResponseHeader: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
		Body:           []byte("<html><head><title>马尾区第0处井盖缺失</title></head><body>路面井盖缺失</body></html>"),
		FetchedAt:      now, Robots: "allowed"}})
	must(err)
	fx.KeyFingerprint, err = arch.Index().PinnedKey(ctx)
	must(err)
	must(arch.Close())

	ws, err := web.OpenStore(db)
	must(err)
	fx.User, fx.Password = "ana", "Mawei-manhole-7741-Fz"
	u, err := ws.AddUser(ctx, fx.User, fx.Password, web.RoleAnalyst)
	must(err)
	_, err = ws.AddUser(ctx, "viewer1", "Gulou-viewer-2290-Fz", web.RoleViewer)
	must(err)
	fx.SessionToken, _, err = ws.CreateSession(ctx, u, 24*time.Hour)
	must(err)
	fx.APIToken, err = ws.CreateToken(ctx, fx.User, "case platform")
	must(err)
	ss, err := ws.SaveSearch(ctx, fx.User, "井盖", "q=%E4%BA%95%E7%9B%96")
	must(err)
	_, err = ws.CreateAlertRule(ctx, ss.ID, "medium", time.Hour, fx.User)
	must(err)
	must(ws.AddReads(ctx, []web.ReadEvent{{At: now, User: fx.User, Role: web.RoleAnalyst, ClientIP: "127.0.0.1", Kind: "search", Via: "ui", Query: "井盖", Rows: 3}}))
	must(ws.Close())

	cs, err := crawler.OpenStore(db)
	must(err)
	fx.Page, fx.Source = "https://news.example/0", "news"
	for i := range max(size.Pages, 3) {
		must(cs.SaveFetched(ctx, fmt.Sprintf("https://news.example/%d", i), fx.Source, crawler.PageState{
			ETag: fmt.Sprintf(`"e%d"`, i), ContentHash: fmt.Sprintf("h%d", i), LastStatus: 200}, now))
	}
	id, err := cs.StartRun(ctx, fx.Source, now)
	must(err)
	must(cs.FinishRun(ctx, crawler.Run{ID: id, Source: fx.Source, Started: now, Ended: now.Add(time.Minute),
		Stats: crawler.Stats{Fetched: 4, New: 3}}))
	must(cs.Close())

	ix, err := index.Open(index.Options{Path: filepath.Join(dir, "index"), Tokenize: service.IndexTokenize, Normalize: nlp.NormalizeText, BatchSize: 1000})
	must(err)
	fx.Posts = max(size.Posts, 1)
	fx.Post, fx.Query = "https://news.example/0", "井盖"
	for i := range fx.Posts {
		d := index.Doc{
			ID: fmt.Sprintf("p%d", i), URL: fmt.Sprintf("https://forum.example/t/%d", i), Source: "forum", Site: "forum.example",
			Title: fmt.Sprintf("第%d号帖子：小区停车问题", i), Body: "业主反映小区停车位紧张，物业正在协调。",
			PublishedAt: T0.AddDate(0, 0, -i%90), FetchedAt: T0, Categories: []string{"city_management"}, Level: "low", Score: 1,
			LocationCodes: []string{"350102"}, LocationNames: []string{"福建省/福州市/鼓楼区"},
		}
		if i == 0 {
			d = index.Doc{ID: "p0", URL: fx.Post, Source: "news", Site: "news.example",
				Title: "马尾区第0处井盖缺失", Body: "路面井盖缺失，行人险些跌落，已有市民报警。",
				PublishedAt: T0.Add(-time.Hour), FetchedAt: T0, Categories: []string{"city_management"}, Level: "high", Score: 7.5,
				LocationCodes: []string{"350105"}, LocationNames: []string{"福建省/福州市/马尾区"}, LeadID: fx.Leads[0]}
		}
		must(ix.Add(ctx, d))
	}
	must(ix.Close())
	return fx
}
