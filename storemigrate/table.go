package storemigrate

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// How is what a migration does with one table.
type How int

const (
	// Copy copies the table row for row into the PostgreSQL table of the
	// same name. A Copy table that PostgreSQL does not have yet (a table
	// whose PostgreSQL store is still to come) is reported as not copied,
	// its rows staying in riskmine.db.
	Copy How = iota
	// Skip leaves the table out; Why says why.
	Skip
	// Posts is the PostgreSQL table filled from the Bleve index's posts.
	Posts
)

// A Table says what moving an installation does with one table of either
// side, SQLite or PostgreSQL. Adding a table to a store adds one line to
// Tables (TestEveryTableOnBothSidesIsCopied fails until it is there).
type Table struct {
	// Name is the table's name, the same in SQLite and PostgreSQL; a
	// Skip entry may name a prefix followed by * (see Lookup).
	Name string
	How  How
	// Unit is what the SQLite table's integer times count:
	// time.Millisecond or time.Second.
	Unit time.Duration
	// Why says why a table is not copied, for the summary and the README.
	Why string
	// Distinct copies each distinct row once (a SQLite table without a
	// key whose PostgreSQL twin has one).
	Distinct bool
	// Replace deletes the rows of the PostgreSQL table before the copy:
	// the rows its store's constructor wrote (settings the copy brings
	// again).
	Replace bool
	// Fix rewrites a SQLite row, by column name, before it is converted.
	Fix func(row map[string]any) error
	// Rename maps a SQLite column to the PostgreSQL column of another
	// name that takes its values.
	Rename map[string]string
	// Drop names SQLite columns deliberately left behind (say why in Why).
	Drop []string
	// Internal marks a Skip table of the databases' own bookkeeping,
	// left out of the summary.
	Internal bool
}

// ms, secs, skip and internal are the shapes of most entries.
func ms(name string) Table   { return Table{Name: name, How: Copy, Unit: time.Millisecond} }
func secs(name string) Table { return Table{Name: name, How: Copy, Unit: time.Second} }
func skip(name, why string) Table {
	return Table{Name: name, How: Skip, Why: why}
}

func internal(name, why string) Table {
	return Table{Name: name, How: Skip, Why: why, Internal: true}
}

// Tables are every table of both sides, in the order of the copy: a table
// comes after the tables its rows point at.
var Tables = []Table{
	// alerts: the lead store.
	ms("alerts_lead"),
	ms("alerts_source"),
	{Name: "alerts_band", How: Copy, Unit: time.Millisecond, Distinct: true},
	ms("alerts_lead_category"),
	ms("alerts_lead_location"),
	ms("alerts_lead_rule"),
	ms("alerts_audit"),
	ms("alerts_note"),
	ms("alerts_delivery"),
	ms("alerts_attempt"),
	ms("alerts_endpoint"),
	ms("alerts_inbound"),
	ms("alerts_burst_post"),
	{Name: "alerts_meta", How: Copy, Unit: time.Millisecond, Replace: true, Fix: fixAlertsMeta},

	// web: accounts, then what the UI records.
	secs("web_users"),
	secs("web_sessions"),
	secs("web_tokens"),
	secs("web_saved_searches"),
	secs("web_alert_rules"),
	{Name: "web_read_audit", How: Copy, Unit: time.Millisecond, Rename: map[string]string{"user": "user_name"}},
	secs("web_ui_sources"),
	secs("web_source_audit"),
	secs("web_lexicon_audit"),

	// crawl: the state of every URL seen, run history, source health.
	ms("crawl_pages"),
	ms("crawl_runs"),
	ms("crawl_source_health"),
	skip("crawl_leases", "transient: a lease lives seconds and belongs to a running process (none runs during the move)"),
	skip("crawl_instances", "transient: the processes running on the data folder; PostgreSQL nodes register themselves"),

	// search: the posts of the Bleve index.
	{Name: "search_posts", How: Posts, Why: "filled from the posts the Bleve index stores"},
	skip("search_day_counts", "the per-day facet totals of search_posts, kept by its triggers as the posts are copied"),
	skip("search_count_zone", "the zone of the per-day totals, written when the search table is made"),

	// evidence: the index of the captures and the signing key's
	// fingerprint (the WARC files and the key stay in the folder, which
	// evidence.dir then names).
	{Name: "evidence_capture", How: Copy, Unit: time.Nanosecond, Rename: map[string]string{"offset": "file_offset"}},
	{Name: "evidence_key", How: Copy, Unit: time.Nanosecond},

	// Transient state of a cluster: made by the PostgreSQL nodes.
	skip("crawl_jobs", "transient: the queue of crawl runs; a stopped installation has none waiting worth keeping (the schedule enqueues the next ticks)"),
	skip("web_login_attempts", "transient: failed-login counters, held in memory by the embedded mode"),
	skip("web_login_nonces", "transient: one-time tokens of login forms, held in memory by the embedded mode"),
	skip("web_search_slots", "transient: searches running now, held in memory by the embedded mode"),
	skip("cluster_files", "the lexicon and model files shared by the nodes: the first node started with the data folder's nlp.lexicon_dir sends its files"),

	// Schema bookkeeping of each side.
	internal("alerts_schema", schemaWhy),
	internal("web_schema", schemaWhy),
	internal("crawl_schema", schemaWhy),
	internal("search_schema", schemaWhy),
	internal("evidence_schema", schemaWhy),
	internal("cluster_schema", schemaWhy),
	internal("sqlite_sequence", "SQLite's AUTOINCREMENT counters: the PostgreSQL identity sequences are set past the copied ids instead"),
}

const schemaWhy = "schema version: each side's migrations keep their own"

// partitionName is a month partition of search_posts (index/pgsearch).
var partitionName = regexp.MustCompile(`^search_posts_\d{4}_\d{2}$`)

// Lookup returns the entry of table name (a month partition of the posts
// is its parent's). An entry whose Name ends in * is the entry of every
// table whose name starts with what comes before it (a library's tables,
// such as a job queue's, in one line); an entry of the exact name comes
// first.
func Lookup(name string) (Table, bool) {
	if partitionName.MatchString(name) {
		name = "search_posts"
	}
	for _, t := range Tables {
		if t.Name == name {
			return t, true
		}
	}
	for _, t := range Tables {
		if prefix, ok := strings.CutSuffix(t.Name, "*"); ok && strings.HasPrefix(name, prefix) {
			return t, true
		}
	}
	return Table{}, false
}

// fixAlertsMeta rewrites the start of the burst history, which SQLite
// keeps as unix milliseconds and PostgreSQL as RFC 3339.
func fixAlertsMeta(row map[string]any) error {
	if row["key"] != "burst_since" {
		return nil
	}
	var ms int64
	switch v := row["value"].(type) {
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("burst_since %q: expected unix milliseconds", v)
		}
		ms = n
	case int64:
		ms = v
	default:
		return errors.New("burst_since: expected unix milliseconds")
	}
	row["value"] = time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
	return nil
}
