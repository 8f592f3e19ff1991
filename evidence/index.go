package evidence

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"riskmine/internal/sqlitedb"
)

// Index is where an Archive records what is where: one row per capture
// (an Entry), and the fingerprint of the installation's signing key.
// SQLiteIndex keeps it in the tables evidence_* of riskmine.db;
// evidence/pgindex in PostgreSQL, shared by every node. evidence/storetest
// is the suite both pass.
type Index interface {
	// Insert records a capture and returns its id (e.ID is ignored).
	Insert(ctx context.Context, e Entry) (int64, error)
	// Find returns the latest capture (by capture time) of url with the
	// given payload digest, or ErrNotFound.
	Find(ctx context.Context, url, payloadDigest string) (Entry, error)
	// Get returns a capture by id, or ErrNotFound.
	Get(ctx context.Context, id int64) (Entry, error)
	// Has reports whether url has any capture.
	Has(ctx context.Context, url string) (bool, error)
	// ForURLs returns the captures of the given URLs, in the order of
	// urls, newest first (capture time, then id) for each URL.
	ForURLs(ctx context.Context, urls []string) ([]Entry, error)
	// ForLead returns the captures recorded for a lead id, newest first.
	ForLead(ctx context.Context, leadID string) ([]Entry, error)
	// InFile returns the captures in a file, by offset.
	InFile(ctx context.Context, file string) ([]Entry, error)
	// DeleteFile forgets every capture in a file (retention) and returns
	// how many there were.
	DeleteFile(ctx context.Context, file string) (int, error)
	// DeleteBeyond forgets the captures of a file that end after byte end
	// (the repair of a file cut back after a crash).
	DeleteBeyond(ctx context.Context, file string, end int64) (int, error)
	// PinKey records fingerprint as the installation's signing key when
	// none is recorded yet, and returns the one recorded.
	PinKey(ctx context.Context, fingerprint string) (string, error)
	// PinnedKey returns the fingerprint recorded, "" when none is.
	PinnedKey(ctx context.Context) (string, error)
	// Close releases what the index holds.
	Close() error
}

// SQLiteIndex is the Index in the tables evidence_* of an SQLite
// database.
type SQLiteIndex struct {
	db *sql.DB
	// find and insert are prepared once: the pipeline runs both for every
	// page it archives, and SQLite's parsing costs about as much as them.
	find, insert *sql.Stmt
}

var _ Index = (*SQLiteIndex)(nil)

// Entry is one archived capture: where its records are and their digests.
type Entry struct {
	ID int64 `json:"id"`
	// LeadID is the lead the page was a source of when it was archived.
	LeadID string `json:"lead_id"`
	// URL is the page's canonical URL; TargetURI the URL fetched.
	URL       string `json:"url"`
	TargetURI string `json:"target_uri"`
	Source    string `json:"source"`
	// File is the WARC file (in the archive's folder), Offset and Length
	// the byte range of the capture's records in it (whole gzip members).
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
	// ResponseID is the WARC-Record-ID of the response record.
	ResponseID string `json:"response_record_id"`
	// PayloadDigest is the response's WARC-Payload-Digest (SHA-256 of the
	// HTTP body) and BlockDigest its WARC-Block-Digest, both "sha256:" and
	// lowercase hex.
	PayloadDigest string    `json:"payload_digest"`
	BlockDigest   string    `json:"block_digest"`
	Status        int       `json:"status"`
	ContentType   string    `json:"content_type"`
	Rendered      bool      `json:"rendered"`
	HasScreenshot bool      `json:"has_screenshot"`
	CapturedAt    time.Time `json:"captured_at"`
	ArchivedAt    time.Time `json:"archived_at"`
}

var schema = []string{
	`CREATE TABLE evidence_capture (
		id             INTEGER PRIMARY KEY,
		lead_id        TEXT NOT NULL,
		url            TEXT NOT NULL,
		target_uri     TEXT NOT NULL,
		source         TEXT NOT NULL,
		file           TEXT NOT NULL,
		offset         INTEGER NOT NULL,
		length         INTEGER NOT NULL,
		response_id    TEXT NOT NULL,
		payload_digest TEXT NOT NULL,
		block_digest   TEXT NOT NULL,
		status         INTEGER NOT NULL,
		content_type   TEXT NOT NULL,
		rendered       INTEGER NOT NULL,
		screenshot     INTEGER NOT NULL,
		captured_at    INTEGER NOT NULL,
		archived_at    INTEGER NOT NULL
	);
	CREATE INDEX evidence_capture_url ON evidence_capture(url, captured_at);
	CREATE INDEX evidence_capture_lead ON evidence_capture(lead_id);
	CREATE INDEX evidence_capture_file ON evidence_capture(file);`,
	`CREATE TABLE evidence_key (
		id          INTEGER PRIMARY KEY CHECK (id = 1),
		fingerprint TEXT NOT NULL,
		pinned_at   INTEGER NOT NULL
	);`,
}

// OpenSQLiteIndex opens the index in the SQLite database at path with
// the lead store's settings: WAL with synchronous NORMAL, so a commit
// survives a crash of the process (the WARC records it points at were
// fsynced before) and a power cut keeps the database consistent, as it
// does the leads.
func OpenSQLiteIndex(ctx context.Context, path string) (*SQLiteIndex, error) {
	db, err := sqlitedb.Open(path, sqlitedb.Options{Synchronous: "NORMAL", MaxOpenConns: 4})
	if err != nil {
		return nil, fmt.Errorf("evidence: open index %s: %w", path, err)
	}
	if err := sqlitedb.Migrate(ctx, db, "evidence", schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("evidence: migrate index %s: %w", path, err)
	}
	x := &SQLiteIndex{db: db}
	if x.find, err = db.PrepareContext(ctx, findSQL); err == nil {
		x.insert, err = db.PrepareContext(ctx, insertSQL)
	}
	if err != nil {
		x.Close()
		return nil, fmt.Errorf("evidence: open index %s: %w", path, err)
	}
	return x, nil
}

// Close closes the database.
func (x *SQLiteIndex) Close() error {
	for _, st := range []*sql.Stmt{x.find, x.insert} {
		if st != nil {
			st.Close()
		}
	}
	return x.db.Close()
}

const entryColumns = `id, lead_id, url, target_uri, source, file, offset, length, response_id,
	payload_digest, block_digest, status, content_type, rendered, screenshot, captured_at, archived_at`

func scanEntry(sc interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var captured, archived int64
	err := sc.Scan(&e.ID, &e.LeadID, &e.URL, &e.TargetURI, &e.Source, &e.File, &e.Offset, &e.Length,
		&e.ResponseID, &e.PayloadDigest, &e.BlockDigest, &e.Status, &e.ContentType, &e.Rendered,
		&e.HasScreenshot, &captured, &archived)
	e.CapturedAt = time.Unix(0, captured).UTC()
	e.ArchivedAt = time.Unix(0, archived).UTC()
	return e, err
}

const insertSQL = `INSERT INTO evidence_capture (lead_id, url, target_uri, source, file,
	offset, length, response_id, payload_digest, block_digest, status, content_type, rendered, screenshot,
	captured_at, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const findSQL = `SELECT ` + entryColumns + ` FROM evidence_capture
	WHERE url = ? AND payload_digest = ? ORDER BY captured_at DESC, id DESC LIMIT 1`

// Insert records a capture.
func (x *SQLiteIndex) Insert(ctx context.Context, e Entry) (int64, error) {
	res, err := x.insert.ExecContext(ctx,
		e.LeadID, e.URL, e.TargetURI, e.Source, e.File, e.Offset, e.Length, e.ResponseID, e.PayloadDigest,
		e.BlockDigest, e.Status, e.ContentType, e.Rendered, e.HasScreenshot, e.CapturedAt.UnixNano(), e.ArchivedAt.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("evidence: index %s: %w", e.URL, err)
	}
	return res.LastInsertId()
}

// Find returns the latest capture of url with the given payload digest.
func (x *SQLiteIndex) Find(ctx context.Context, url, payloadDigest string) (Entry, error) {
	e, err := scanEntry(x.find.QueryRowContext(ctx, url, payloadDigest))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("evidence: look up %s: %w", url, err)
	}
	return e, nil
}

// Get returns a capture by id.
func (x *SQLiteIndex) Get(ctx context.Context, id int64) (Entry, error) {
	e, err := scanEntry(x.db.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("evidence: capture %d: %w", id, err)
	}
	return e, nil
}

// Has reports whether url has any capture.
func (x *SQLiteIndex) Has(ctx context.Context, url string) (bool, error) {
	var n int
	err := x.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM evidence_capture WHERE url = ?`, url).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("evidence: look up %s: %w", url, err)
	}
	return n > 0, nil
}

// ForURLs returns the captures of the given URLs, newest first for each
// URL, in the order of urls.
func (x *SQLiteIndex) ForURLs(ctx context.Context, urls []string) ([]Entry, error) {
	var out []Entry
	const chunk = 200
	for i := 0; i < len(urls); i += chunk {
		part := urls[i:min(i+chunk, len(urls))]
		args := make([]any, len(part))
		for j, u := range part {
			args[j] = u
		}
		rows, err := x.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture WHERE url IN (?`+
			strings.Repeat(", ?", len(part)-1)+`) ORDER BY captured_at DESC, id DESC`, args...)
		if err != nil {
			return nil, fmt.Errorf("evidence: list captures: %w", err)
		}
		got, err := sqlitedb.Collect(rows, func(r *sql.Rows) (Entry, error) { return scanEntry(r) })
		if err != nil {
			return nil, fmt.Errorf("evidence: list captures: %w", err)
		}
		out = append(out, got...)
	}
	return OrderByURLs(out, urls), nil
}

// OrderByURLs sorts captures (each URL's newest first) into the order of
// urls, keeping each URL's own order: what ForURLs returns, for an Index
// that queries in chunks.
func OrderByURLs(entries []Entry, urls []string) []Entry {
	rank := map[string]int{}
	for i, u := range urls {
		if _, ok := rank[u]; !ok {
			rank[u] = i
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return rank[entries[i].URL] < rank[entries[j].URL] })
	return entries
}

// ForLead returns the captures archived for a lead id, newest first.
func (x *SQLiteIndex) ForLead(ctx context.Context, leadID string) ([]Entry, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture WHERE lead_id = ?
		ORDER BY captured_at DESC, id DESC`, leadID)
	if err != nil {
		return nil, fmt.Errorf("evidence: captures of %s: %w", leadID, err)
	}
	out, err := sqlitedb.Collect(rows, func(r *sql.Rows) (Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("evidence: captures of %s: %w", leadID, err)
	}
	return out, nil
}

// InFile lists the captures indexed in a file, by offset.
func (x *SQLiteIndex) InFile(ctx context.Context, file string) ([]Entry, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture WHERE file = ? ORDER BY offset, id`, file)
	if err != nil {
		return nil, fmt.Errorf("evidence: captures in %s: %w", file, err)
	}
	out, err := sqlitedb.Collect(rows, func(r *sql.Rows) (Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("evidence: captures in %s: %w", file, err)
	}
	return out, nil
}

// DeleteFile forgets the captures in a file.
func (x *SQLiteIndex) DeleteFile(ctx context.Context, file string) (int, error) {
	res, err := x.db.ExecContext(ctx, `DELETE FROM evidence_capture WHERE file = ?`, file)
	if err != nil {
		return 0, fmt.Errorf("evidence: forget %s: %w", file, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteBeyond forgets the captures of a file that end after end.
func (x *SQLiteIndex) DeleteBeyond(ctx context.Context, file string, end int64) (int, error) {
	res, err := x.db.ExecContext(ctx, `DELETE FROM evidence_capture WHERE file = ? AND offset + length > ?`, file, end)
	if err != nil {
		return 0, fmt.Errorf("evidence: forget the end of %s: %w", file, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PinnedKey returns the signing key's recorded fingerprint, or "".
func (x *SQLiteIndex) PinnedKey(ctx context.Context) (string, error) {
	var got string
	err := x.db.QueryRowContext(ctx, `SELECT fingerprint FROM evidence_key WHERE id = 1`).Scan(&got)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("evidence: read the signing key's record: %w", err)
	}
	return got, nil
}

// PinKey records the signing key's fingerprint unless one is recorded.
func (x *SQLiteIndex) PinKey(ctx context.Context, fingerprint string) (string, error) {
	if _, err := x.db.ExecContext(ctx, `INSERT INTO evidence_key (id, fingerprint, pinned_at) VALUES (1, ?, ?)
		ON CONFLICT (id) DO NOTHING`, fingerprint, time.Now().UnixNano()); err != nil {
		return "", fmt.Errorf("evidence: record the signing key: %w", err)
	}
	var got string
	if err := x.db.QueryRowContext(ctx, `SELECT fingerprint FROM evidence_key WHERE id = 1`).Scan(&got); err != nil {
		return "", fmt.Errorf("evidence: read the signing key's record: %w", err)
	}
	return got, nil
}

// Get returns a capture by id.
func (a *Archive) Get(ctx context.Context, id int64) (Entry, error) { return a.idx.Get(ctx, id) }

// Has reports whether url has any capture.
func (a *Archive) Has(ctx context.Context, url string) (bool, error) { return a.idx.Has(ctx, url) }

// ForURLs returns the captures of the given canonical URLs (a lead's
// sources), newest first for each URL, in the order of urls.
func (a *Archive) ForURLs(ctx context.Context, urls []string) ([]Entry, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	return a.idx.ForURLs(ctx, urls)
}

// ForLead returns the captures archived for a lead id, newest first.
func (a *Archive) ForLead(ctx context.Context, leadID string) ([]Entry, error) {
	return a.idx.ForLead(ctx, leadID)
}

// Entries returns up to limit captures with ids above after, by id: the
// whole index page by page, for moving it to another store (riskmine
// migrate).
func (x *SQLiteIndex) Entries(ctx context.Context, after int64, limit int) ([]Entry, error) {
	rows, err := x.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("evidence: list captures: %w", err)
	}
	out, err := sqlitedb.Collect(rows, func(r *sql.Rows) (Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("evidence: list captures: %w", err)
	}
	return out, nil
}
