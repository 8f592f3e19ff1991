package pgstore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"riskmine/alerts"
	"riskmine/alerts/storetest"
	"riskmine/internal/pgtest"
)

// TestConformance runs the alerts store suite against PostgreSQL, each
// case in a schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts alerts.Options) storetest.Store {
		s, err := Open(context.Background(), pgtest.DSN(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestConformanceNodes runs the multi-node cases against two stores, each
// with a pool of its own, on one schema.
func TestConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T, opts alerts.Options) (storetest.Store, storetest.Store) {
		dsn := pgtest.DSN(t)
		var out [2]*Store
		for i := range out {
			s, err := Open(context.Background(), dsn, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out[0], out[1]
	})
}

// A store reopened with a larger simhash distance rebuilds its bands from
// the sources, so a post within the new distance of an old one joins its
// lead.
func TestBandsRebuiltForNewDistance(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	post := func(url string, sim uint64) alerts.Candidate {
		return alerts.Candidate{URL: url, Title: "标题", Level: "high", Score: 7, SimHash: sim,
			Categories: []alerts.CategoryScore{{Code: "fire", Score: 7}}}
	}
	const h = 0xF0F0_1234_5678_00FF
	s, err := Open(ctx, dsn, alerts.Options{SimhashDistance: 3})
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.File(ctx, post("https://a.test/1", h))
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dsn, alerts.Options{SimhashDistance: 6})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM alerts_band WHERE lead_id = $1`, first.LeadID).Scan(&n); err != nil || n != 7 {
		t.Fatalf("%d bands for the old post after reopening with distance 6 (%v), want 7", n, err)
	}
	r, err := s.File(ctx, post("https://b.test/1", h^0b11_1101)) // five bits apart
	if err != nil || r.Outcome != alerts.OutcomeJoined || r.LeadID != first.LeadID {
		t.Fatalf("a post five bits apart: %+v %v, want joined %s", r, err, first.LeadID)
	}
}

// Options that make no sense are refused with one line naming them.
func TestBadOptions(t *testing.T) {
	dsn := pgtest.DSN(t)
	_, err := Open(context.Background(), dsn, alerts.Options{LeadLevel: "severe"})
	if !errors.Is(err, alerts.ErrInvalid) || !strings.Contains(err.Error(), `lead level "severe"`) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("lead level severe: %v", err)
	}
	_, err = Open(context.Background(), dsn, alerts.Options{Endpoints: []alerts.Endpoint{{Name: "ops", URL: "http://127.0.0.1:9/", Secret: "short"}}})
	if err == nil || !strings.Contains(err.Error(), "webhook ops") {
		t.Fatalf("a bad webhook secret: %v", err)
	}
}
