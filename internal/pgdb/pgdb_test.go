package pgdb_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
)

func open(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

var steps = []string{
	`CREATE TABLE demo_items (id bigserial PRIMARY KEY, name text NOT NULL)`,
	`ALTER TABLE demo_items ADD COLUMN kind text NOT NULL DEFAULT 'plain';
	 INSERT INTO demo_items (name) VALUES ('seed')`,
}

func TestMigrateOnce(t *testing.T) {
	ctx := context.Background()
	pool := open(t, pgtest.DSN(t))
	if v, err := pgdb.Version(ctx, pool, "demo"); err != nil || v != 0 {
		t.Fatalf("version of an empty schema: %d, %v", v, err)
	}
	if err := pgdb.Migrate(ctx, pool, "demo", steps[:1]); err != nil {
		t.Fatal(err)
	}
	if v, _ := pgdb.Version(ctx, pool, "demo"); v != 1 {
		t.Fatalf("version after one step: %d", v)
	}
	// A later release adds a step: only that one runs.
	for range 2 {
		if err := pgdb.Migrate(ctx, pool, "demo", steps); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM demo_items WHERE kind = 'plain'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the seed row: %d, %v (each step must run exactly once)", n, err)
	}
	if v, _ := pgdb.Version(ctx, pool, "demo"); v != 2 {
		t.Fatalf("version after two steps: %d", v)
	}
}

func TestMigrateTooNew(t *testing.T) {
	ctx := context.Background()
	pool := open(t, pgtest.DSN(t))
	if err := pgdb.Migrate(ctx, pool, "demo", steps); err != nil {
		t.Fatal(err)
	}
	err := pgdb.Migrate(ctx, pool, "demo", steps[:1])
	if !errors.Is(err, pgdb.ErrTooNew) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "version 2, this program knows 1") {
		t.Fatalf("an older program on a newer schema: %v", err)
	}
}

func TestMigrateFailedStepRollsBack(t *testing.T) {
	ctx := context.Background()
	pool := open(t, pgtest.DSN(t))
	bad := []string{steps[0], `ALTER TABLE demo_items ADD COLUMN kind text; SELECT no_such_function()`}
	if err := pgdb.Migrate(ctx, pool, "demo", bad); err == nil || !strings.Contains(err.Error(), "demo schema step 2") {
		t.Fatalf("a failing step: %v", err)
	}
	if v, _ := pgdb.Version(ctx, pool, "demo"); v != 1 {
		t.Fatalf("version after a failed step: %d, want 1", v)
	}
	// The failed step left nothing half done: the real step 2 runs.
	if err := pgdb.Migrate(ctx, pool, "demo", steps); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateHook(t *testing.T) {
	ctx := context.Background()
	pool := open(t, pgtest.DSN(t))
	hook := pgdb.Hook{Step: steps[1], Run: func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE demo_items SET kind = upper(name)`)
		return err
	}}
	if err := pgdb.Migrate(ctx, pool, "demo", steps, hook); err != nil {
		t.Fatal(err)
	}
	var kind string
	if err := pool.QueryRow(ctx, `SELECT kind FROM demo_items`).Scan(&kind); err != nil || kind != "SEED" {
		t.Fatalf("hook result %q, %v", kind, err)
	}
}

// TestMigrateConcurrentNodes has several pools (nodes starting at once)
// migrate one schema together: every step runs once and none fails.
func TestMigrateConcurrentNodes(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	const nodes = 6
	pools := make([]*pgxpool.Pool, nodes)
	for i := range pools {
		pools[i] = open(t, dsn)
	}
	var wg sync.WaitGroup
	errs := make(chan error, nodes)
	for _, p := range pools {
		wg.Go(func() {
			if err := pgdb.Migrate(ctx, p, "demo", steps); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n int
	if err := pools[0].QueryRow(ctx, `SELECT count(*) FROM demo_items`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("seed rows after concurrent migrations: %d, %v", n, err)
	}
}

func TestMigrateBadName(t *testing.T) {
	pool := open(t, pgtest.DSN(t))
	if err := pgdb.Migrate(context.Background(), pool, "Demo; DROP", steps); err == nil {
		t.Fatal("a store name that is not an identifier was accepted")
	}
}

// TestOpenErrors: a malformed address and an unreachable server give one
// line, without the password.
func TestOpenErrors(t *testing.T) {
	// A loopback port nothing listens on: bind one, note it, close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for _, tc := range []struct{ dsn, want string }{
		{"postgres://ana:s3cret-pw@127.0.0.1:99999999/db", "is not a PostgreSQL address: invalid port"},
		{"postgres://ana:s3cret-pw@[::1/db", "is not a PostgreSQL address"},
		{"host=127.0.0.1 password=s3cret-pw sslmode=sometimes", "is not a PostgreSQL address: sslmode is invalid"},
		{fmt.Sprintf("postgres://ana:s3cret-pw@127.0.0.1:%d/db?sslmode=disable", port), fmt.Sprintf("cannot reach PostgreSQL at 127.0.0.1:%d", port)},
	} {
		_, err := pgdb.Open(context.Background(), tc.dsn, pgdb.Options{})
		if err == nil {
			t.Fatalf("%s: opened", tc.dsn)
		}
		msg := err.Error()
		if strings.Contains(msg, "s3cret-pw") || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %q; want one line with %q and no password", tc.dsn, msg, tc.want)
		}
	}
}

func TestOpenWrongUser(t *testing.T) {
	dsn := pgtest.DSN(t)
	bad := strings.Replace(dsn, "://", "://no_such_role_here:pw@", 1)
	if strings.Contains(dsn, "@") {
		bad = "postgres://no_such_role_here:pw@" + dsn[strings.Index(dsn, "@")+1:]
	}
	_, err := pgdb.Open(context.Background(), bad, pgdb.Options{})
	if err == nil || strings.Contains(err.Error(), ":pw@") || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "no_such_role_here") {
		t.Fatalf("an unknown role: %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://ana:pw@h:5432/db":     "postgres://ana:xxxxx@h:5432/db",
		"postgres://ana@h/db?password=pw": "postgres://ana@h/db?password=xxxxx",
		"host=h password=pw user=ana":     "host=h password=xxxxx user=ana",
		"host=h password='p w' user=ana":  "host=h password=xxxxx user=ana",
		"postgres://ana@h/db":             "postgres://ana@h/db",
	} {
		if got := pgdb.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
