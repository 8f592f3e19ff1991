// Package pgtest gives tests of PostgreSQL stores a database of their own.
//
// The server is named by the environment variable RISKMINE_TEST_POSTGRES
// (a DSN such as postgres://riskmine@127.0.0.1:55432/riskmine_test?sslmode=disable;
// .ci/run starts such a server and sets it). Without it every test that
// asks for a database is skipped, so a plain `go test ./...` passes on a
// machine with no PostgreSQL. With it, each call creates a schema of its
// own and drops it when the test ends, so the suites of several packages
// can run at once against one database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env is the environment variable naming the test server.
const Env = "RISKMINE_TEST_POSTGRES"

// DSN returns the address of a fresh, empty schema for t: the server's DSN
// with search_path set to the new schema. The schema is dropped, with all
// it holds, in t.Cleanup. Without Env, t is skipped.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		t.Skip("PostgreSQL tests skip: set " + Env + " to a server's DSN, e.g. postgres://riskmine@127.0.0.1:55432/riskmine_test?sslmode=disable (.ci/run starts one)")
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	exec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { exec(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	return WithSearchPath(base, schema)
}

// WithSearchPath returns dsn with its search_path set to schema.
func WithSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " search_path=" + schema
}

// exec runs one statement on a connection of its own.
func exec(t testing.TB, dsn, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("%s is set but the server cannot be reached: %v", Env, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
