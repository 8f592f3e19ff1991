package pgstore

import (
	"context"
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
