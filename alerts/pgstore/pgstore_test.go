package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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

// Outbox rows committed on one node wake the other node's dispatcher
// (LISTEN/NOTIFY), and a store on another schema is not woken.
func TestOutboxSignalReachesOtherNode(t *testing.T) {
	ctx := context.Background()
	opts := alerts.Options{Endpoints: []alerts.Endpoint{{Name: "ops", URL: "http://127.0.0.1:9/hook", Secret: storetest.Secret}}}
	open := func(dsn string) *Store {
		s, err := Open(ctx, dsn, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	dsn, otherDSN := pgtest.DSN(t), pgtest.DSN(t)
	a, b := open(dsn), open(dsn)
	other, otherFiler := open(otherDSN), open(otherDSN)
	post := 0
	// The listeners start in the background: file on from until to hears.
	heard := func(from, to *Store) {
		t.Helper()
		for range 100 {
			post++
			if _, err := from.File(ctx, alerts.Candidate{URL: fmt.Sprintf("https://a.test/%d", post), Level: "high", Score: 7}); err != nil {
				t.Fatal(err)
			}
			select {
			case <-to.OutboxSignal():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		t.Fatal("the other node never heard of the outbox rows")
	}
	heard(otherFiler, other) // other's listener is up
	// The posts filed before it was up may still be heard: wait until
	// other is quiet, so that what follows hears a and b alone.
	for quiet := false; !quiet; {
		select {
		case <-other.OutboxSignal():
		case <-time.After(300 * time.Millisecond):
			quiet = true
		}
	}
	heard(a, b)
	select {
	case <-other.OutboxSignal():
		t.Fatal("a store on another schema was woken")
	case <-time.After(300 * time.Millisecond):
	}
}

// TestConformanceExtras runs what the service needs beyond alerts.Store
// (places, bursts, source health, lead events) against PostgreSQL.
func TestConformanceExtras(t *testing.T) {
	storetest.RunExtras(t, func(t *testing.T, opts alerts.Options) alerts.ServiceStore {
		s, err := Open(context.Background(), pgtest.DSN(t), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// servicePair opens two stores, each with a pool of its own, on one
// schema.
func servicePair(t testing.TB, opts alerts.Options) (alerts.ServiceStore, alerts.ServiceStore) {
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
}

// TestConformanceNodesExtras runs the multi-node extras (bursts, health
// rows) and the cross-node events (a subscriber on one node sees the
// leads filed on the other) against two stores on one schema.
func TestConformanceNodesExtras(t *testing.T) {
	pair := func(t *testing.T, opts alerts.Options) (alerts.ServiceStore, alerts.ServiceStore) {
		return servicePair(t, opts)
	}
	storetest.RunNodesExtras(t, pair)
	storetest.RunNodesEvents(t, pair)
}

// A node whose listening connection is cut (the server ends its backend)
// listens again on another connection and hears the leads filed after.
func TestLeadEventsAfterListenerLost(t *testing.T) {
	ctx := context.Background()
	a, b := servicePair(t, alerts.Options{})
	ch, cancel := b.SubscribeLeads()
	defer cancel()
	node := b.(*Store)
	pid := node.listenPID.Load()
	if pid == 0 {
		t.Fatal("no listening connection after Open")
	}
	var ended bool
	if err := a.(*Store).pool.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)).Scan(&ended); err != nil || !ended {
		t.Fatalf("ending the listener's backend %d: %v %v", pid, ended, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for p := node.listenPID.Load(); p == 0 || p == pid; p = node.listenPID.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the node did not listen again within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := a.File(ctx, alerts.Candidate{URL: "https://a.test/after", Title: "井盖缺失", Level: "high", Score: 7,
		Categories: []alerts.CategoryScore{{Code: "road", Score: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.ID != res.LeadID {
			t.Fatalf("event %+v, want lead %s", ev, res.LeadID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event after the node listened again")
	}
}
