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
}

// openDB opens the index with the lead store's settings: WAL with
// synchronous NORMAL, so a commit survives a crash of the process (the
// WARC records it points at were fsynced before) and a power cut keeps
// the database consistent, as it does the leads.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sqlitedb.Open(path, sqlitedb.Options{Synchronous: "NORMAL", MaxOpenConns: 4})
	if err != nil {
		return nil, fmt.Errorf("evidence: open index %s: %w", path, err)
	}
	if err := sqlitedb.Migrate(ctx, db, "evidence", schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("evidence: migrate index %s: %w", path, err)
	}
	return db, nil
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

func (a *Archive) insert(ctx context.Context, e Entry) (int64, error) {
	res, err := a.db.ExecContext(ctx, `INSERT INTO evidence_capture (lead_id, url, target_uri, source, file,
		offset, length, response_id, payload_digest, block_digest, status, content_type, rendered, screenshot,
		captured_at, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.LeadID, e.URL, e.TargetURI, e.Source, e.File, e.Offset, e.Length, e.ResponseID, e.PayloadDigest,
		e.BlockDigest, e.Status, e.ContentType, e.Rendered, e.HasScreenshot, e.CapturedAt.UnixNano(), e.ArchivedAt.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("evidence: index %s: %w", e.URL, err)
	}
	return res.LastInsertId()
}

// find returns the latest capture of url with the given payload digest.
func (a *Archive) find(ctx context.Context, url, payloadDigest string) (Entry, error) {
	e, err := scanEntry(a.db.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture
		WHERE url = ? AND payload_digest = ? ORDER BY captured_at DESC LIMIT 1`, url, payloadDigest))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("evidence: look up %s: %w", url, err)
	}
	return e, nil
}

// Get returns a capture by id.
func (a *Archive) Get(ctx context.Context, id int64) (Entry, error) {
	e, err := scanEntry(a.db.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("evidence: capture %d: %w", id, err)
	}
	return e, nil
}

// Has reports whether url has any capture.
func (a *Archive) Has(ctx context.Context, url string) (bool, error) {
	var n int
	err := a.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM evidence_capture WHERE url = ?`, url).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("evidence: look up %s: %w", url, err)
	}
	return n > 0, nil
}

// ForURLs returns the captures of the given canonical URLs (a lead's
// sources), newest first for each URL, in the order of urls.
func (a *Archive) ForURLs(ctx context.Context, urls []string) ([]Entry, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	var out []Entry
	const chunk = 200
	for i := 0; i < len(urls); i += chunk {
		part := urls[i:min(i+chunk, len(urls))]
		args := make([]any, len(part))
		for j, u := range part {
			args[j] = u
		}
		rows, err := a.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture WHERE url IN (?`+
			strings.Repeat(", ?", len(part)-1)+`) ORDER BY captured_at DESC, id DESC`, args...)
		if err != nil {
			return nil, fmt.Errorf("evidence: list captures: %w", err)
		}
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("evidence: list captures: %w", err)
			}
			out = append(out, e)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("evidence: list captures: %w", err)
		}
	}
	rank := map[string]int{}
	for i, u := range urls {
		if _, ok := rank[u]; !ok {
			rank[u] = i
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].URL] < rank[out[j].URL] })
	return out, nil
}

// ForLead returns the captures archived for a lead id, newest first.
func (a *Archive) ForLead(ctx context.Context, leadID string) ([]Entry, error) {
	rows, err := a.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM evidence_capture WHERE lead_id = ?
		ORDER BY captured_at DESC, id DESC`, leadID)
	if err != nil {
		return nil, fmt.Errorf("evidence: captures of %s: %w", leadID, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("evidence: captures of %s: %w", leadID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("evidence: captures of %s: %w", leadID, err)
	}
	return out, nil
}
