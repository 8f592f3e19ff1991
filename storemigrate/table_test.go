package storemigrate

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/crawler"
	"riskmine/evidence"
	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
	"riskmine/internal/sqlitedb"
	"riskmine/web"
)

// freshSQLite creates the tables of every embedded store in a new
// riskmine.db, through the stores themselves, and returns each table's
// columns.
func freshSQLite(t *testing.T) map[string][]string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "riskmine.db")
	leads, err := alerts.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	leads.Close()
	crawl, err := crawler.OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	crawl.Close()
	ws, err := web.OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	ws.Close()
	ev, _, err := evidence.Open(ctx, evidence.Options{Dir: filepath.Join(dir, "evidence"), DB: db})
	if err != nil {
		t.Fatal(err)
	}
	ev.Close()
	src, err := openSourceUnchecked(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// openSourceUnchecked lists the tables and columns of the SQLite file at
// path, known to the registry or not.
func openSourceUnchecked(ctx context.Context, path string) (map[string][]string, error) {
	db, err := sqlitedb.Open(path, sqlitedb.Options{Pragmas: []string{"query_only(1)"}})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p
		WHERE m.type = 'table' ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	err = sqlitedb.Each(rows, func(r *sql.Rows) error {
		var table, col string
		if err := r.Scan(&table, &col); err != nil {
			return err
		}
		out[table] = append(out[table], col)
		return nil
	})
	return out, err
}

// TestEveryTableOnBothSidesIsCopied lists the tables of a fresh embedded
// data folder and of a fresh PostgreSQL schema, each made by the stores'
// own migrations, and fails naming any table without an entry in Tables,
// any copied table whose columns do not match, and any entry naming no
// table at all. A store that adds a table adds one line to Tables.
func TestEveryTableOnBothSidesIsCopied(t *testing.T) {
	seen := map[string]bool{}
	lite := freshSQLite(t)
	if len(lite) < 10 {
		t.Fatalf("a fresh riskmine.db has %d tables", len(lite))
	}
	for name, cols := range lite {
		tb, ok := Lookup(name)
		if !ok {
			t.Errorf("SQLite table %s has no entry in storemigrate.Tables: say how it is copied, or why not", name)
			continue
		}
		seen[tb.Name] = true
		if tb.How == Copy && len(cols) == 0 {
			t.Errorf("SQLite table %s has no columns", name)
		}
	}

	dsn := pgtest.DSN(t) // skips without PostgreSQL
	ctx := context.Background()
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := createSchema(ctx, pool, alerts.Options{}, nil); err != nil {
		t.Fatal(err)
	}
	pg, err := pgTables(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pg["alerts_lead"]; !ok {
		t.Fatalf("the fresh PostgreSQL schema has no alerts_lead: %d tables", len(pg))
	}
	for name, cols := range pg {
		tb, ok := Lookup(name)
		if !ok {
			t.Errorf("PostgreSQL table %s has no entry in storemigrate.Tables: say how it is filled, or why not", name)
			continue
		}
		seen[tb.Name] = true
		if tb.How != Copy {
			continue
		}
		src, ok := lite[name]
		if !ok {
			t.Errorf("PostgreSQL table %s is marked Copy but riskmine.db has no such table: mark it Skip with why", name)
			continue
		}
		if _, err := planTable(tb, src, cols); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, tb := range Tables {
		if strings.HasSuffix(tb.Name, "*") && tb.How != Skip {
			t.Errorf("storemigrate.Tables: %s names a prefix, which only a Skip entry may", tb.Name)
		}
		if !seen[tb.Name] {
			t.Errorf("storemigrate.Tables names %s, which neither side has", tb.Name)
		}
	}
}

// TestPlanTable: columns are matched by name, a column SQLite alone has
// is refused, and a PostgreSQL column SQLite lacks needs a default.
func TestPlanTable(t *testing.T) {
	tb := Table{Name: "x", How: Copy, Unit: time.Millisecond}
	dst := []pgColumn{
		{Name: "id", Type: "bigint", Identity: true},
		{Name: "at", Type: "timestamp with time zone", Nullable: true},
		{Name: "note", Type: "text", Default: "''::text"},
	}
	p, err := planTable(tb, []string{"id", "at"}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if p.ident != "id" || len(p.cols) != 2 {
		t.Errorf("plan %+v", p)
	}
	if _, err := planTable(tb, []string{"id", "gone"}, dst); err == nil {
		t.Error("a SQLite column without a PostgreSQL twin was accepted")
	}
	if _, err := planTable(tb, []string{"id"}, append(dst, pgColumn{Name: "must", Type: "text"})); err == nil {
		t.Error("a required PostgreSQL column without a source was accepted")
	}
	r, err := planTable(Table{Name: "x", How: Copy, Unit: time.Millisecond, Rename: map[string]string{"when": "at"}, Drop: []string{"old"}},
		[]string{"id", "when", "old"}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.src, r.cols) != "[id when] [id at]" {
		t.Errorf("renamed and dropped: read %v, write %v", r.src, r.cols)
	}
	if _, err := planTable(Table{Name: "x", How: Copy}, []string{"at"}, dst); err == nil {
		t.Error("a time column was accepted without a unit")
	}
}

// TestConverters: SQLite's values become what the PostgreSQL column holds.
func TestConverters(t *testing.T) {
	ms := Table{Name: "x", How: Copy, Unit: time.Millisecond}
	sec := Table{Name: "x", How: Copy, Unit: time.Second}
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		t    Table
		col  pgColumn
		in   any
		want any
		bad  bool
	}{
		{"ms time", ms, pgColumn{Name: "a", Type: "timestamp with time zone"}, at.UnixMilli(), at, false},
		{"s time", sec, pgColumn{Name: "a", Type: "timestamp with time zone"}, at.Unix(), at, false},
		{"zero time nullable", ms, pgColumn{Name: "a", Type: "timestamp with time zone", Nullable: true}, int64(0), nil, false},
		{"zero time not null", ms, pgColumn{Name: "a", Type: "timestamp with time zone"}, int64(0), time.Unix(0, 0).UTC(), false},
		{"text time", ms, pgColumn{Name: "a", Type: "timestamp with time zone"}, "yesterday", nil, true},
		{"bool", ms, pgColumn{Name: "a", Type: "boolean"}, int64(1), true, false},
		{"bool 0", ms, pgColumn{Name: "a", Type: "boolean"}, int64(0), false, false},
		{"json empty nullable", ms, pgColumn{Name: "a", Type: "jsonb", Nullable: true}, "", nil, false},
		{"json empty required", ms, pgColumn{Name: "a", Type: "jsonb"}, "", nil, true},
		{"json", ms, pgColumn{Name: "a", Type: "jsonb"}, `{"a":1}`, `{"a":1}`, false},
		{"text from int", ms, pgColumn{Name: "a", Type: "text"}, int64(3), "3", false},
		{"float from int", ms, pgColumn{Name: "a", Type: "double precision"}, int64(3), 3.0, false},
		{"int from text", ms, pgColumn{Name: "a", Type: "bigint"}, "3", nil, true},
	} {
		conv, err := converter(c.t, c.col)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got, err := conv(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%s: err = %v, want failure %v", c.name, err, c.bad)
			continue
		}
		if !c.bad && got != c.want {
			if gt, ok := got.(time.Time); !ok || !gt.Equal(c.want.(time.Time)) {
				t.Errorf("%s: %v (%T), want %v", c.name, got, got, c.want)
			}
		}
	}
	if _, err := converter(ms, pgColumn{Name: "a", Type: "tsvector"}); err == nil {
		t.Error("a type without a conversion was accepted")
	}
}

// TestFixAlertsMeta: the burst history's start becomes RFC 3339; other
// keys are left alone.
func TestFixAlertsMeta(t *testing.T) {
	row := map[string]any{"key": "burst_since", "value": "1795161600000"}
	if err := fixAlertsMeta(row); err != nil {
		t.Fatal(err)
	}
	if row["value"] != "2026-11-20T08:00:00Z" {
		t.Errorf("burst_since = %v", row["value"])
	}
	other := map[string]any{"key": "simhash_bands", "value": "4"}
	if err := fixAlertsMeta(other); err != nil || other["value"] != "4" {
		t.Errorf("simhash_bands = %v, %v", other["value"], err)
	}
	if err := fixAlertsMeta(map[string]any{"key": "burst_since", "value": "soon"}); err == nil {
		t.Error("a burst start that is no number was accepted")
	}
}

// TestLookup: partitions are the posts table's; an entry ending in * covers
// the tables its prefix starts, after the entries of exact names.
func TestLookup(t *testing.T) {
	saved := Tables
	defer func() { Tables = saved }()
	Tables = append(slices.Clone(saved), skip("queue_*", "transient: jobs"), ms("queue_archive"))
	for name, want := range map[string]string{
		"search_posts_2026_11": "search_posts",
		"queue_job":            "queue_*",
		"queue_archive":        "queue_archive",
		"alerts_lead":          "alerts_lead",
	} {
		tb, ok := Lookup(name)
		if !ok || tb.Name != want {
			t.Errorf("Lookup(%s) = %s, %v; want %s", name, tb.Name, ok, want)
		}
	}
	if tb, ok := Lookup("nobody_knows"); ok {
		t.Errorf("Lookup of an unknown table gave %s", tb.Name)
	}
}
