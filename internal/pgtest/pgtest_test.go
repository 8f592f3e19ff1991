package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestWithSearchPath(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://ana@127.0.0.1:5432/db?sslmode=disable": "postgres://ana@127.0.0.1:5432/db?search_path=s1&sslmode=disable",
		"host=127.0.0.1 dbname=db":                         "host=127.0.0.1 dbname=db search_path=s1",
	} {
		if got := WithSearchPath(in, "s1"); got != want {
			t.Errorf("WithSearchPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSchemaOfItsOwn: a test's connections land in its new schema, which
// is gone once the test ends.
func TestSchemaOfItsOwn(t *testing.T) {
	ctx := context.Background()
	var schema string
	t.Run("inner", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE probe (x int)`); err != nil {
			t.Fatal(err)
		}
	})
	if schema == "" {
		t.Skip("the inner test skipped: " + Env + " is not set")
	}
	conn, err := pgx.Connect(ctx, os.Getenv(Env))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("schema %s left behind: %d, %v", schema, n, err)
	}
}
