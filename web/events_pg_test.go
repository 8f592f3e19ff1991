package web

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/alerts/pgstore"
	"riskmine/internal/pgtest"
)

// TestEventStreamHearsOtherNode serves the UI's event stream from an api
// node whose lead store is PostgreSQL and files a lead on another node of
// the same database: the open stream receives it (skipped without
// RISKMINE_TEST_POSTGRES).
func TestEventStreamHearsOtherNode(t *testing.T) {
	dsn := pgtest.DSN(t)
	open := func() *pgstore.Store {
		s, err := pgstore.Open(context.Background(), dsn, alerts.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	api, worker := open(), open()
	srv, err := New(Options{DBPath: filepath.Join(t.TempDir(), "web.db"), AdminToken: adminToken, Logger: slog.New(slog.DiscardHandler)},
		Deps{Leads: api})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c, resp := openStream(t, hs.URL, adminToken)
	if c == nil {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	// The handler subscribes once the request is in; the stream's first
	// bytes (the response headers) have come, so it is.
	res, err := worker.File(context.Background(), alerts.Candidate{URL: "https://a.test/worker", Site: "example.test", Title: "井盖缺失",
		Snippet: "路口井盖缺失", Level: "high", Score: 7, Categories: []alerts.CategoryScore{{Code: "road", Score: 7}}, SeenAt: time.Now()})
	if err != nil || res.Outcome != alerts.OutcomeCreated {
		t.Fatalf("file on the worker: %+v %v", res, err)
	}
	select {
	case ev := <-c.events:
		if ev.ID != res.LeadID || ev.Level != "high" || ev.Category != "road" || ev.Title != "井盖缺失" {
			t.Fatalf("event %+v, want lead %s", ev, res.LeadID)
		}
	case <-c.done:
		t.Fatal("the stream ended before the lead was filed")
	case <-time.After(10 * time.Second):
		t.Fatal("no event on the api node for the lead filed on the worker")
	}
}
