package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"riskmine/internal/sqlitedb"
)

var _ Store = (*SQLStore)(nil)

// SQLStore is the SQLite Store. It holds two pools on one file: a single
// writer connection (immediate transactions, so writers queue on the lock
// instead of failing to upgrade) and a pool of readers (WAL lets them run
// beside the writer).
type SQLStore struct {
	w, r  *sql.DB
	opts  Options
	bands int
	// bandMatch and bandRows are the SQL fragments for looking up and
	// inserting all bands of one simhash in one statement.
	bandMatch, bandRows string
	signal              chan struct{}
	stmts               stmtCache

	fileQ      chan *fileReq
	quit       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	// leadEvents tells subscribers (the web UI) about new leads.
	leadEvents LeadHub
}

// sqliteOptions are the settings of the writer (immediate) and reader
// pools.
func sqliteOptions(immediate bool) sqlitedb.Options {
	o := sqlitedb.Options{
		Synchronous: "NORMAL",
		Pragmas: []string{
			// Lead lookups touch index pages all over the file; a bigger
			// page cache (32 MiB) and memory-mapped reads keep them off
			// syscalls.
			"cache_size(-32000)",
			"mmap_size(268435456)",
			// Checkpoint every 4000 pages (16 MiB) rather than 1000: fewer
			// fsyncs, and a page rewritten by many commits is copied back
			// once.
			"wal_autocheckpoint(4000)",
		},
		Immediate:    immediate,
		MaxOpenConns: 4,
		MaxIdleConns: 4,
	}
	if immediate {
		o.MaxOpenConns, o.MaxIdleConns = 1, 1
	}
	return o
}

// dsn builds the modernc.org/sqlite DSN for path.
func dsn(path string, immediate bool) string { return sqlitedb.DSN(path, sqliteOptions(immediate)) }

// OpenSQLite opens (creating and migrating as needed) the alerts tables in
// the SQLite file at path, usually <data_dir>/riskmine.db, shared with other
// packages' tables. At most one Options may be given; zero fields take
// defaults.
func OpenSQLite(path string, opts ...Options) (*SQLStore, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	o = o.withDefaults()
	if LevelRank(o.LeadLevel) < 1 {
		return nil, fmt.Errorf("alerts: lead level %q, expected low, medium, high or critical: %w", o.LeadLevel, ErrInvalid)
	}
	for _, e := range o.Endpoints {
		if _, err := e.signingKey(); err != nil {
			return nil, fmt.Errorf("alerts: webhook %s: %w", e.Name, err)
		}
	}
	w, err := sqlitedb.Open(path, sqliteOptions(true))
	if err != nil {
		return nil, fmt.Errorf("alerts: open %s: %w", path, err)
	}
	r, err := sqlitedb.Open(path, sqliteOptions(false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("alerts: open %s: %w", path, err)
	}
	s := &SQLStore{w: w, r: r, opts: o, bands: o.SimhashDistance + 1, signal: make(chan struct{}, 1),
		fileQ: make(chan *fileReq), quit: make(chan struct{}), writerDone: make(chan struct{})}
	ctx := context.Background()
	var match, rows []string
	for range s.bands {
		match = append(match, "(b.band = ? AND b.value = ?)")
		rows = append(rows, "(?,?,?,?)")
	}
	s.bandMatch, s.bandRows = strings.Join(match, " OR "), strings.Join(rows, ",")
	go s.fileWriter()
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("alerts: migrate %s: %w", path, err)
	}
	if err := s.checkBands(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("alerts: simhash bands %s: %w", path, err)
	}
	return s, nil
}

// Close closes both pools.
func (s *SQLStore) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.writerDone
		s.leadEvents.Close()
		s.closeStmts()
		err = errors.Join(s.w.Close(), s.r.Close())
	})
	return err
}

// OutboxSignal is signalled after outbox rows are committed.
func (s *SQLStore) OutboxSignal() <-chan struct{} { return s.signal }

func (s *SQLStore) notify() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *SQLStore) now() time.Time { return s.opts.Now() }

func newID(t time.Time) string {
	return ulid.MustNew(ulid.Timestamp(t), ulid.DefaultEntropy()).String()
}

// migrations are applied in order by sqlitedb.Migrate; alerts_schema holds
// how many ran. A released step never changes.
var migrations = []string{
	`CREATE TABLE alerts_lead (
		id TEXT PRIMARY KEY,
		title TEXT NOT NULL,
		summary TEXT NOT NULL,
		level TEXT NOT NULL,
		level_rank INTEGER NOT NULL,
		score REAL NOT NULL,
		top_category TEXT NOT NULL,
		county TEXT NOT NULL,
		categories TEXT NOT NULL,
		locations TEXT NOT NULL,
		terms TEXT NOT NULL,
		simhash INTEGER NOT NULL,
		first_seen INTEGER NOT NULL,
		last_seen INTEGER NOT NULL,
		source_count INTEGER NOT NULL,
		state TEXT NOT NULL,
		assignee TEXT NOT NULL DEFAULT '',
		unit TEXT NOT NULL DEFAULT '',
		due_at INTEGER NOT NULL DEFAULT 0,
		resolution TEXT NOT NULL DEFAULT '',
		merged_into TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		closed_at INTEGER,
		version INTEGER NOT NULL DEFAULT 1
	);
	CREATE INDEX alerts_lead_place ON alerts_lead(top_category, county, last_seen);
	CREATE INDEX alerts_lead_state ON alerts_lead(state, due_at);
	CREATE INDEX alerts_lead_last_seen ON alerts_lead(last_seen);
	CREATE TABLE alerts_source (
		id INTEGER PRIMARY KEY,
		lead_id TEXT NOT NULL REFERENCES alerts_lead(id),
		url TEXT NOT NULL,
		canonical_url TEXT NOT NULL UNIQUE,
		site TEXT NOT NULL,
		source TEXT NOT NULL,
		title TEXT NOT NULL,
		snippet TEXT NOT NULL,
		published_at INTEGER NOT NULL,
		seen_at INTEGER NOT NULL,
		level TEXT NOT NULL,
		score REAL NOT NULL,
		category TEXT NOT NULL,
		simhash INTEGER NOT NULL,
		evidence TEXT NOT NULL
	);
	CREATE INDEX alerts_source_lead ON alerts_source(lead_id);
	CREATE INDEX alerts_source_seen ON alerts_source(seen_at);
	CREATE TABLE alerts_band (
		band INTEGER NOT NULL,
		value INTEGER NOT NULL,
		lead_id TEXT NOT NULL REFERENCES alerts_lead(id),
		simhash INTEGER NOT NULL
	);
	CREATE INDEX alerts_band_value ON alerts_band(band, value);
	CREATE INDEX alerts_band_lead ON alerts_band(lead_id);
	CREATE TABLE alerts_lead_category (
		lead_id TEXT NOT NULL REFERENCES alerts_lead(id),
		code TEXT NOT NULL,
		PRIMARY KEY (lead_id, code)
	) WITHOUT ROWID;
	CREATE INDEX alerts_lead_category_code ON alerts_lead_category(code);
	CREATE TABLE alerts_lead_location (
		lead_id TEXT NOT NULL REFERENCES alerts_lead(id),
		code TEXT NOT NULL,
		name TEXT NOT NULL,
		PRIMARY KEY (lead_id, code)
	) WITHOUT ROWID;
	CREATE INDEX alerts_lead_location_code ON alerts_lead_location(code);
	CREATE TABLE alerts_lead_rule (
		lead_id TEXT NOT NULL REFERENCES alerts_lead(id),
		rule TEXT NOT NULL,
		PRIMARY KEY (lead_id, rule)
	) WITHOUT ROWID;
	CREATE INDEX alerts_lead_rule_rule ON alerts_lead_rule(rule);
	CREATE TABLE alerts_audit (
		id INTEGER PRIMARY KEY,
		lead_id TEXT NOT NULL REFERENCES alerts_lead(id),
		at INTEGER NOT NULL,
		actor TEXT NOT NULL,
		action TEXT NOT NULL,
		from_state TEXT NOT NULL,
		to_state TEXT NOT NULL,
		note TEXT NOT NULL
	);
	CREATE INDEX alerts_audit_lead ON alerts_audit(lead_id);
	CREATE TABLE alerts_note (
		id INTEGER PRIMARY KEY,
		lead_id TEXT NOT NULL REFERENCES alerts_lead(id),
		at INTEGER NOT NULL,
		actor TEXT NOT NULL,
		text TEXT NOT NULL
	);
	CREATE INDEX alerts_note_lead ON alerts_note(lead_id);
	CREATE TABLE alerts_delivery (
		id TEXT PRIMARY KEY,
		endpoint TEXT NOT NULL,
		event TEXT NOT NULL,
		lead_id TEXT NOT NULL,
		body BLOB NOT NULL,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL,
		next_attempt_at INTEGER NOT NULL,
		lease_until INTEGER NOT NULL DEFAULT 0,
		last_status INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT '',
		delivered_at INTEGER
	);
	CREATE INDEX alerts_delivery_due ON alerts_delivery(state, next_attempt_at);
	CREATE INDEX alerts_delivery_lead ON alerts_delivery(lead_id);
	CREATE TABLE alerts_attempt (
		id INTEGER PRIMARY KEY,
		delivery_id TEXT NOT NULL REFERENCES alerts_delivery(id),
		n INTEGER NOT NULL,
		at INTEGER NOT NULL,
		status INTEGER NOT NULL,
		latency_ns INTEGER NOT NULL,
		error TEXT NOT NULL,
		outcome TEXT NOT NULL
	);
	CREATE INDEX alerts_attempt_delivery ON alerts_attempt(delivery_id);
	CREATE TABLE alerts_endpoint (
		name TEXT PRIMARY KEY,
		disabled_at INTEGER NOT NULL,
		reason TEXT NOT NULL
	);
	CREATE TABLE alerts_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
	// Every index costs each filed post a page write to the WAL; these two
	// served only merges and rule statistics, which scan happily.
	`DROP INDEX alerts_band_lead;
	DROP INDEX alerts_lead_rule_rule;`,
	// A lead keeps the spot its posts name beside the division codes.
	`ALTER TABLE alerts_lead ADD COLUMN place TEXT NOT NULL DEFAULT '';
	ALTER TABLE alerts_lead ADD COLUMN place_code TEXT NOT NULL DEFAULT '';`,
	// Burst leads (see sqlite_burst.go) and the posts counted for them.
	burstMigration,
	// Case platforms report back: the platform's case number on the lead
	// and the inbound webhook ids already answered (idempotency).
	`ALTER TABLE alerts_lead ADD COLUMN case_number TEXT NOT NULL DEFAULT '';
	CREATE TABLE alerts_inbound (
		platform TEXT NOT NULL,
		webhook_id TEXT NOT NULL,
		status INTEGER NOT NULL,
		answer BLOB NOT NULL,
		at INTEGER NOT NULL,
		PRIMARY KEY (platform, webhook_id)
	);`,
	// The reason, unit and merge target of a transition get columns of
	// their own (see sqlite_audit.go; migrationHooks fills them for old rows).
	auditFieldsMigration,
	// A post keeps the phrases that set its level (LevelCue).
	`ALTER TABLE alerts_source ADD COLUMN level_cues TEXT NOT NULL DEFAULT '[]';`,
	// Whether a capture is recorded is one probe (RecordCapture).
	`CREATE INDEX alerts_audit_capture ON alerts_audit(lead_id, ` + CaptureRecordSQLite + `) WHERE action = 'captured';`,
	// A lead's latest sources (a webhook's payload) are read in order from
	// the index, not sorted from all of a lead's sources at every filing.
	`CREATE INDEX alerts_source_lead_seen ON alerts_source(lead_id, seen_at, id);
	DROP INDEX alerts_source_lead;`,
}

func (s *SQLStore) migrate(ctx context.Context) error {
	return sqlitedb.Migrate(ctx, s.w, "alerts", migrations, migrationHooks...)
}

// bandValues splits a simhash into s.bands chunks; two hashes within
// s.bands-1 bits share at least one chunk (pigeonhole), so looking up equal
// chunks finds every near-duplicate without scanning.
func (s *SQLStore) bandValues(h uint64) []int64 {
	out := make([]int64, s.bands)
	for i := 0; i < s.bands; i++ {
		lo := uint(i * 64 / s.bands)
		hi := uint((i + 1) * 64 / s.bands)
		v := h >> lo
		if w := hi - lo; w < 64 {
			v &= (1 << w) - 1
		}
		out[i] = int64(v)
	}
	return out
}

// checkBands rebuilds the band table when the simhash distance (and so the
// band layout) changed since the last run.
func (s *SQLStore) checkBands(ctx context.Context) error {
	var have string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM alerts_meta WHERE key = 'simhash_bands'`).Scan(&have)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	want := strconv.Itoa(s.bands)
	if have == want {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM alerts_band`); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT lead_id, simhash FROM alerts_source WHERE simhash != 0`)
	if err != nil {
		return err
	}
	type pair struct {
		lead string
		h    int64
	}
	var all []pair
	for rows.Next() {
		var p pair
		if err := rows.Scan(&p.lead, &p.h); err != nil {
			rows.Close()
			return err
		}
		all = append(all, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range all {
		for b, v := range s.bandValues(uint64(p.h)) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alerts_band(band, value, lead_id, simhash) VALUES (?,?,?,?)`, b, v, p.lead, p.h); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alerts_meta(key, value) VALUES ('simhash_bands', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, want); err != nil {
		return err
	}
	return tx.Commit()
}

// ms converts a time to the stored unix milliseconds (0 for the zero time).
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts stored unix milliseconds back (zero time for 0).
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// at is fromMS in the store's zone: every time the store returns is
// shown in it.
func (s *SQLStore) at(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).In(s.loc())
}

func (s *SQLStore) atPtr(v int64) *time.Time {
	if v == 0 {
		return nil
	}
	t := s.at(v)
	return &t
}

func (s *SQLStore) loc() *time.Location {
	if s.opts.Location == nil {
		return time.UTC
	}
	return s.opts.Location
}
