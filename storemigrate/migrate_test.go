package storemigrate_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/alerts"
	alertspg "riskmine/alerts/pgstore"
	"riskmine/crawler"
	"riskmine/crawler/pgstate"
	"riskmine/evidence"
	"riskmine/evidence/pgindex"
	"riskmine/index"
	"riskmine/index/pgsearch"
	"riskmine/internal/pgdb"
	"riskmine/internal/pgtest"
	"riskmine/nlp"
	"riskmine/service"
	"riskmine/storemigrate"
	"riskmine/storemigrate/migratetest"
	"riskmine/web"
	webpg "riskmine/web/pgstore"

	_ "modernc.org/sqlite"
)

// before is what the embedded stores answer, read through their
// interfaces before the move, to compare with the PostgreSQL stores'.
type before struct {
	leads      map[string]string // lead id → JSON of GetLead
	audit      string            // JSON of the reviewed lead's audit trail
	deliveries string
	runs       string
	page       crawler.PageState
	saved      string
	rules      string
	tokens     string
}

func readBefore(t *testing.T, fx *migratetest.Fixture) before {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(fx.DataDir, "riskmine.db")
	var b before
	leads, err := alerts.OpenSQLite(db, fx.Alerts)
	if err != nil {
		t.Fatal(err)
	}
	defer leads.Close()
	b.leads = map[string]string{}
	for _, id := range fx.Leads {
		l, err := leads.GetLead(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		b.leads[id] = asJSON(t, l)
	}
	a, err := leads.Audit(ctx, fx.Reviewed)
	if err != nil {
		t.Fatal(err)
	}
	b.audit = asJSON(t, a)
	ds, _, err := leads.Deliveries(ctx, alerts.DeliveryFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	b.deliveries = asJSON(t, ds)

	cs, err := crawler.OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	runs, err := cs.Runs(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	b.runs = asJSON(t, runs)
	if b.page, err = cs.Page(ctx, fx.Page); err != nil {
		t.Fatal(err)
	}

	ws, err := web.OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ss, err := ws.SavedSearches(ctx, fx.User)
	if err != nil {
		t.Fatal(err)
	}
	b.saved = asJSON(t, ss)
	rules, err := ws.AlertRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.rules = asJSON(t, rules)
	toks, err := ws.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.tokens = asJSON(t, toks)
	return b
}

// asJSON marshals v with every time in UTC, so that the zone a store
// returns times in does not count.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(utcTimes(generic))
	return string(out)
}

func utcTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = utcTimes(e)
		}
	case []any:
		for i, e := range x {
			x[i] = utcTimes(e)
		}
	case string:
		if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return tm.UTC().Format(time.RFC3339Nano)
		}
	}
	return v
}

// fillAndRead fills a data folder and reads it back through the embedded
// stores.
func fillAndRead(t *testing.T, posts int) (*migratetest.Fixture, before) {
	t.Helper()
	fx := migratetest.Fill(t, t.TempDir(), migratetest.Size{Posts: posts})
	return fx, readBefore(t, fx)
}

// files maps every file under dir to its size and modification time.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func openPool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgdb.Open(context.Background(), dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestMigrate fills an embedded data folder through the real stores,
// moves it, and checks through the PostgreSQL stores' interfaces that
// everything is there: leads with their audit trail, the outbox (the
// undelivered rows still due), users who log in with the same password,
// live sessions and tokens, saved searches and alert rules, the crawl
// state and run history, and the posts found by search. The data folder
// is left as it was.
func TestMigrate(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	fx, b := fillAndRead(t, 40)
	was := files(t, fx.DataDir)

	var progress []string
	res, err := storemigrate.Run(ctx, storemigrate.Options{
		DataDir: fx.DataDir, DSN: dsn, Alerts: fx.Alerts,
		OnTable:   func(tr storemigrate.TableResult) { progress = append(progress, tr.Name) },
		PostBatch: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	if now := files(t, fx.DataDir); !maps.Equal(was, now) {
		t.Errorf("the data folder changed:\nbefore %v\nafter  %v", was, now)
	}
	if res.Posts != uint64(fx.Posts) {
		t.Errorf("%d posts copied, want %d", res.Posts, fx.Posts)
	}
	rows := map[string]storemigrate.TableResult{}
	for _, tr := range res.Tables {
		rows[tr.Name] = tr
	}
	for name, want := range map[string]int64{"alerts_lead": 3, "web_users": 2, "web_sessions": 1, "web_tokens": 1, "crawl_pages": 3, "crawl_runs": 1, "search_posts": int64(fx.Posts)} {
		if tr := rows[name]; !tr.Copied || tr.Rows != want {
			t.Errorf("%s: %+v, want %d rows copied", name, tr, want)
		}
	}
	if tr := rows["crawl_instances"]; tr.Copied || tr.Why == "" {
		t.Errorf("crawl_instances: %+v, want not copied with a reason", tr)
	}
	if tr := rows["web_read_audit"]; tr.Rows != 1 || (!tr.Copied && !strings.Contains(tr.Why, "no PostgreSQL table")) {
		t.Errorf("web_read_audit: %+v, want its row copied or said not copied", tr)
	}
	if len(progress) != len(res.Tables) {
		t.Errorf("OnTable told of %d tables, the result has %d", len(progress), len(res.Tables))
	}

	pool := openPool(t, dsn)
	leads, err := alertspg.New(ctx, pool, fx.Alerts)
	if err != nil {
		t.Fatal(err)
	}
	defer leads.Close()
	for id, want := range b.leads {
		l, err := leads.GetLead(ctx, id)
		if err != nil {
			t.Fatalf("lead %s: %v", id, err)
		}
		if got := asJSON(t, l); got != want {
			t.Errorf("lead %s:\nSQLite     %s\nPostgreSQL %s", id, want, got)
		}
	}
	a, err := leads.Audit(ctx, fx.Reviewed)
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(t, a); got != b.audit {
		t.Errorf("audit trail:\nSQLite     %s\nPostgreSQL %s", b.audit, got)
	}
	ds, _, err := leads.Deliveries(ctx, alerts.DeliveryFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(t, ds); got != b.deliveries {
		t.Errorf("outbox:\nSQLite     %s\nPostgreSQL %s", b.deliveries, got)
	}
	// The undelivered rows are still due; the delivered one is not.
	claimed, err := leads.ClaimDeliveries(ctx, alerts.ClaimRequest{Now: migratetest.T0.Add(time.Hour), Limit: 100, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != len(ds)-1 {
		t.Errorf("%d outbox rows due after the move, want %d", len(claimed), len(ds)-1)
	}
	for _, d := range claimed {
		if d.ID == fx.Delivered {
			t.Errorf("the delivered row %s is due again", d.ID)
		}
	}
	// New rows get ids after the copied ones (the sequences were set).
	if _, err := leads.AddNote(ctx, fx.Reviewed, "ana", "迁移后的备注"); err != nil {
		t.Fatal(err)
	}
	a2, err := leads.Audit(ctx, fx.Reviewed)
	if err != nil {
		t.Fatal(err)
	}
	if len(a2) != len(a)+1 || a2[len(a2)-1].ID <= a[len(a)-1].ID {
		t.Errorf("audit after a new note: %d entries, last id %d (before %d)", len(a2), a2[len(a2)-1].ID, a[len(a)-1].ID)
	}

	// The evidence index and the key's fingerprint: the capture opens
	// from the same folder through the PostgreSQL index.
	ev, err := pgindex.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if fp, err := ev.PinnedKey(ctx); err != nil || fp != fx.KeyFingerprint || fp == "" {
		t.Errorf("signing key fingerprint %q (%v), want %q", fp, err, fx.KeyFingerprint)
	}
	arch, _, err := evidence.Open(ctx, evidence.Options{Dir: filepath.Join(fx.DataDir, "evidence"), Index: ev})
	if err != nil {
		t.Fatal(err)
	}
	got, err := arch.ForLead(ctx, fx.Reviewed)
	if err != nil || len(got) != 1 || got[0].ID != fx.Capture.ID || got[0].File != fx.Capture.File || got[0].Offset != fx.Capture.Offset ||
		!got[0].CapturedAt.Equal(fx.Capture.CapturedAt) || got[0].PayloadDigest != fx.Capture.PayloadDigest {
		t.Errorf("captures of the reviewed lead after the move: %+v (%v), want %+v", got, err, fx.Capture)
	} else if recs, err := arch.Records(got[0]); err != nil || !recordsHold(recs, "路面井盖缺失") {
		t.Errorf("the moved capture does not read back with its page: %d records, %v", len(recs), err)
	}
	arch.Close()

	ws, err := webpg.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ws.Authenticate(ctx, fx.User, fx.Password)
	if err != nil || u.Name != fx.User {
		t.Fatalf("log in with the same password: %v, %v", u, err)
	}
	if _, err := ws.Authenticate(ctx, fx.User, "wrong password"); err == nil {
		t.Error("a wrong password logs in")
	}
	if s, err := ws.SessionByToken(ctx, fx.SessionToken); err != nil || s == nil {
		t.Errorf("the session does not open: %v", err)
	}
	toks, err := ws.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(t, toks); got != b.tokens {
		t.Errorf("tokens:\nSQLite     %s\nPostgreSQL %s", b.tokens, got)
	}
	if tu, _, err := ws.UserByToken(ctx, fx.APIToken); err != nil || tu.Name != fx.User {
		t.Errorf("the API token: %v, %v", tu, err)
	}
	ss, err := ws.SavedSearches(ctx, fx.User)
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(t, ss); got != b.saved {
		t.Errorf("saved searches:\nSQLite     %s\nPostgreSQL %s", b.saved, got)
	}
	rules, err := ws.AlertRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(t, rules); got != b.rules {
		t.Errorf("alert rules:\nSQLite     %s\nPostgreSQL %s", b.rules, got)
	}
	nu, err := ws.AddUser(ctx, "newcomer", "Cangshan-after-5518-Fz", web.RoleViewer)
	if err != nil {
		t.Fatalf("a user added after the move: %v", err)
	}
	if nu.ID <= u.ID {
		t.Errorf("a new user got id %d, not after the copied ones (%d)", nu.ID, u.ID)
	}

	cs, err := pgstate.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	pg, err := cs.Page(ctx, fx.Page)
	if err != nil {
		t.Fatal(err)
	}
	if !pg.Found || pg.ContentHash != b.page.ContentHash || pg.ETag != b.page.ETag || !pg.FirstSeen.Equal(b.page.FirstSeen) || !pg.LastFetched.Equal(b.page.LastFetched) {
		t.Errorf("crawl state of %s:\nSQLite     %+v\nPostgreSQL %+v", fx.Page, b.page, pg)
	}
	runs, err := cs.Runs(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := asJSON(t, runs); got != b.runs {
		t.Errorf("runs:\nSQLite     %s\nPostgreSQL %s", b.runs, got)
	}

	search, err := pgsearch.Open(ctx, pool, pgsearch.Options{Tokenize: service.IndexTokenize, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := search.Count(ctx); err != nil || n != uint64(fx.Posts) {
		t.Errorf("search count %d, %v; want %d", n, err, fx.Posts)
	}
	found, err := search.Search(ctx, index.Query{Text: fx.Query, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	if found.Total != 1 || len(found.Hits) != 1 || found.Hits[0].URL != fx.Post {
		t.Errorf("search %q: %d hits %+v, want %s alone", fx.Query, found.Total, found.Hits, fx.Post)
	} else if h := found.Hits[0]; h.Level != "high" || h.LeadID != fx.Leads[0] {
		t.Errorf("the post found lost fields: %+v", h)
	}
}

// TestMigrateRefusesFilledTarget: a second move into the same schema is
// refused, and with Force it replaces what is there (nothing doubled).
func TestMigrateRefusesFilledTarget(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	fx := migratetest.Fill(t, t.TempDir(), migratetest.Size{Posts: 5})
	o := storemigrate.Options{DataDir: fx.DataDir, DSN: dsn, Alerts: fx.Alerts}
	if _, err := storemigrate.Run(ctx, o); err != nil {
		t.Fatal(err)
	}
	_, err := storemigrate.Run(ctx, o)
	if !errors.Is(err, storemigrate.ErrTargetNotEmpty) {
		t.Fatalf("second move: %v, want ErrTargetNotEmpty", err)
	}
	if !strings.Contains(err.Error(), "alerts_lead") || !strings.Contains(err.Error(), "--force") {
		t.Errorf("the refusal names neither the tables nor --force: %v", err)
	}
	o.Force = true
	res, err := storemigrate.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Forced {
		t.Error("the forced move does not say it replaced data")
	}
	pool := openPool(t, dsn)
	for table, want := range map[string]int{"alerts_lead": 3, "alerts_audit": 0, "web_users": 2, "search_posts": 5} {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if want == 0 {
			want = n // any, but the same as after the first move: checked below
		}
		if n != want {
			t.Errorf("%s holds %d rows after the forced move, want %d", table, n, want)
		}
	}
	var audit, distinct int
	if err := pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT id) FROM alerts_audit`).Scan(&audit, &distinct); err != nil {
		t.Fatal(err)
	}
	if audit != distinct {
		t.Errorf("alerts_audit holds %d rows, %d distinct ids", audit, distinct)
	}
	// The search table's per-day totals (kept by its triggers, emptied
	// with it by the forced move) count each post once.
	var counted int
	if err := pool.QueryRow(ctx, `SELECT coalesce(sum(n), 0) FROM search_day_counts WHERE dim = 0`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if counted != 5 {
		t.Errorf("the per-day totals count %d posts after the forced move, want 5", counted)
	}
}

// TestMigrateRollsBack: a row that cannot be converted (on the Go side)
// or that PostgreSQL refuses fails the move with the table and the row
// named, and nothing is left in the target.
func TestMigrateRollsBack(t *testing.T) {
	for _, c := range []struct {
		name, corrupt, want string
	}{
		{"conversion", `UPDATE web_users SET created_at = 'yesterday' WHERE name = 'viewer1'`, "web_users: row 2 (id=2): created_at"},
		{"refused by PostgreSQL", `UPDATE crawl_runs SET errors = 'not json'`, "crawl_runs: row 1 (id=1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			ctx := context.Background()
			fx := migratetest.Fill(t, t.TempDir(), migratetest.Size{Posts: 5})
			db, err := sql.Open("sqlite", filepath.Join(fx.DataDir, "riskmine.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(c.corrupt); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = storemigrate.Run(ctx, storemigrate.Options{DataDir: fx.DataDir, DSN: dsn, Alerts: fx.Alerts})
			if err == nil {
				t.Fatal("the move succeeded")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %q", err, c.want)
			}
			pool := openPool(t, dsn)
			for _, table := range []string{"alerts_lead", "web_users", "crawl_pages", "search_posts"} {
				var n int
				if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("%s holds %d rows after the failed move", table, n)
				}
			}
		})
	}
}

// TestMigrateRefusesRunningServe: a data folder whose index a process
// holds (serve does) is refused before the target is touched.
func TestMigrateRefusesRunningServe(t *testing.T) {
	fx := migratetest.Fill(t, t.TempDir(), migratetest.Size{Posts: 3})
	ix, err := index.Open(index.Options{Path: filepath.Join(fx.DataDir, "index"), Tokenize: service.IndexTokenize, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	_, err = storemigrate.Run(context.Background(), storemigrate.Options{DataDir: fx.DataDir, DSN: "postgres://nobody@127.0.0.1:1/none", Alerts: fx.Alerts})
	if !errors.Is(err, storemigrate.ErrInUse) {
		t.Fatalf("err = %v, want ErrInUse", err)
	}
}

// TestMigrateNoDataDir: a folder without riskmine.db says so.
func TestMigrateNoDataDir(t *testing.T) {
	_, err := storemigrate.Run(context.Background(), storemigrate.Options{DataDir: t.TempDir(), DSN: "postgres://nobody@127.0.0.1:1/none"})
	if err == nil || !strings.Contains(err.Error(), "nothing to move") {
		t.Fatalf("err = %v", err)
	}
}

// TestMigrateLeavesTimelessPosts: a post with neither a published nor a
// fetched time has no month to live in on PostgreSQL; it is left out and
// counted, and the move goes on.
func TestMigrateLeavesTimelessPosts(t *testing.T) {
	dsn := pgtest.DSN(t)
	fx := migratetest.Fill(t, t.TempDir(), migratetest.Size{Posts: 3})
	ix, err := index.Open(index.Options{Path: filepath.Join(fx.DataDir, "index"), Tokenize: service.IndexTokenize, Normalize: nlp.NormalizeText})
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Add(context.Background(), index.Doc{ID: "timeless", URL: "https://forum.example/timeless", Title: "无时间的帖子", Body: "正文"}); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := storemigrate.Run(context.Background(), storemigrate.Options{DataDir: fx.DataDir, DSN: dsn, Alerts: fx.Alerts})
	if err != nil {
		t.Fatal(err)
	}
	if res.Posts != 3 {
		t.Errorf("%d posts copied, want 3", res.Posts)
	}
	left := false
	for _, tr := range res.Tables {
		if tr.Name == "search_posts" && !tr.Copied && tr.Rows == 1 && tr.Why != "" {
			left = true
		}
	}
	if !left {
		t.Errorf("the timeless post is not reported as left out: %+v", res.Tables)
	}
}

// recordsHold reports whether a record's block holds text.
func recordsHold(recs []evidence.Record, text string) bool {
	for _, r := range recs {
		if strings.Contains(string(r.Block), text) {
			return true
		}
	}
	return false
}
