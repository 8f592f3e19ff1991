package pgstore

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
	"riskmine/web"
	"riskmine/web/storetest"
)

func TestMain(m *testing.M) {
	web.SetPasswordCost(bcrypt.MinCost)
	os.Exit(m.Run())
}

// TestConformance runs the AccountStore suite against PostgreSQL, each
// case in a schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) web.AccountStore {
		s, err := Open(context.Background(), pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.now = now
		return s
	})
}

// TestConformanceNodes runs the two-node cases against two stores, each
// with a pool of its own, on one schema: API nodes without sticky
// sessions.
func TestConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T, now func() time.Time) (web.AccountStore, web.AccountStore) {
		dsn := pgtest.DSN(t)
		var out [2]web.AccountStore
		for i := range out {
			s, err := Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			s.now = now
			out[i] = s
		}
		return out[0], out[1]
	})
}

// open opens a store on dsn with its own pool, reading the time from now.
func open(t *testing.T, dsn string, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.now = now
	return s
}

// TestDataConformance runs the suite of the DataStore's other parts
// against PostgreSQL.
func TestDataConformance(t *testing.T) {
	storetest.RunData(t, func(t *testing.T, now func() time.Time) web.DataStore {
		return open(t, pgtest.DSN(t), now)
	})
}

// TestDataConformanceNodes runs the audits, the UI's sources and the
// limits across two stores, each with a pool of its own, on one schema.
func TestDataConformanceNodes(t *testing.T) {
	nodes := func(t *testing.T, now func() time.Time) (web.DataStore, web.DataStore) {
		dsn := pgtest.DSN(t)
		return open(t, dsn, now), open(t, dsn, now)
	}
	storetest.RunDataNodes(t, nodes)
	storetest.RunLimitsNodes(t, nodes)
}

// TestUpgradeFromAccountsOnly opens a schema the first release of this
// store wrote (the accounts only): the later steps add the audits, the
// UI's sources and the limits, and the accounts are kept.
func TestUpgradeFromAccountsOnly(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, "web", migrations[:1]); err != nil {
		t.Fatal(err)
	}
	old := &Store{pool: pool, now: time.Now, tokenTTL: web.DefaultTokenTTL}
	if _, err := old.AddUser(ctx, "ana", "Tide-pool 7 lanterns, quietly", web.RoleAnalyst); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := pgdb.Version(ctx, pool, "web"); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d, %v; want %d", v, err, len(migrations))
	}
	if _, err := s.Authenticate(ctx, "ana", "Tide-pool 7 lanterns, quietly"); err != nil {
		t.Fatalf("a user of the first release: %v", err)
	}
	if _, err := s.CreateUISource(ctx, "ana", "a", "name: a\n"); err != nil {
		t.Fatal(err)
	}
	if wait, err := s.ReserveAttempts(ctx, web.AttemptPolicy{Free: 1, Base: time.Second, MaxDelay: time.Second, Window: time.Hour}, "u:ana"); err != nil || wait != 0 {
		t.Fatalf("a login attempt after the upgrade: %s, %v", wait, err)
	}
}

// TestLimitsArePruned: the rows of forgotten attempts, stale login forms
// and lapsed search slots are deleted as the node goes on writing, so the
// tables do not grow with every address that ever tried.
func TestLimitsArePruned(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	s := open(t, pgtest.DSN(t), c.Now)
	p := web.AttemptPolicy{Free: 1, Base: time.Second, MaxDelay: time.Second, Window: time.Hour}
	for i := range 20 {
		if _, err := s.ReserveAttempts(ctx, p, fmt.Sprintf("a:192.0.2.%d", i)); err != nil {
			t.Fatal(err)
		}
		if err := s.AddLoginNonce(ctx, fmt.Sprintf("form-%d", i), "192.0.2.1", c.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AcquireSearchSlot(ctx, fmt.Sprintf("user%d", i), 1, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (n int) {
		t.Helper()
		if err := s.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM web_login_attempts) + (SELECT count(*) FROM web_login_nonces) + (SELECT count(*) FROM web_search_slots)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 60 {
		t.Fatalf("%d rows, want 60", n)
	}
	c.Add(2 * time.Hour)
	if _, err := s.ReserveAttempts(ctx, p, "a:198.51.100.1"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Fatalf("%d rows after every one expired, want the 1 just written", n)
	}
}
