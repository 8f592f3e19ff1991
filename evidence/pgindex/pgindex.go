// Package pgindex is the evidence archive's capture index (evidence.Index)
// in PostgreSQL: the tables evidence_capture and evidence_key of the
// schema the connection's search_path selects, migrated by internal/pgdb.
// Every node of a cluster indexes its captures there, so an api node finds
// and reads the pages a worker archived in the folder they share
// (evidence.Options.Dir), and the fingerprint of the installation's
// signing key is recorded once for all of them. It passes
// evidence/storetest.
//
// It may import evidence and internal/pgdb; evidence does not import it.
package pgindex

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/evidence"
	"riskmine/internal/pgdb"
)

// Index is evidence.Index on a PostgreSQL pool.
type Index struct {
	pool  *pgxpool.Pool
	owned bool
}

var _ evidence.Index = (*Index)(nil)

// schema is applied in order by pgdb.Migrate; evidence_schema records how
// far a database got. A released step never changes.
var schema = []string{
	`CREATE TABLE evidence_capture (
		id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		lead_id        text NOT NULL,
		url            text NOT NULL,
		target_uri     text NOT NULL,
		source         text NOT NULL,
		file           text NOT NULL,
		file_offset    bigint NOT NULL,
		length         bigint NOT NULL,
		response_id    text NOT NULL,
		payload_digest text NOT NULL,
		block_digest   text NOT NULL,
		status         integer NOT NULL,
		content_type   text NOT NULL,
		rendered       boolean NOT NULL,
		screenshot     boolean NOT NULL,
		captured_at    timestamptz NOT NULL,
		archived_at    timestamptz NOT NULL
	);
	CREATE INDEX evidence_capture_url ON evidence_capture(url, captured_at DESC, id DESC);
	CREATE INDEX evidence_capture_lead ON evidence_capture(lead_id, captured_at DESC, id DESC);
	CREATE INDEX evidence_capture_file ON evidence_capture(file, file_offset);
	CREATE TABLE evidence_key (
		id          integer PRIMARY KEY CHECK (id = 1),
		fingerprint text NOT NULL,
		pinned_at   timestamptz NOT NULL
	);`,
}

// Open connects to dsn and opens the index on a pool of its own, which
// Close closes.
func Open(ctx context.Context, dsn string) (*Index, error) {
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{MaxConns: 4})
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	x, err := New(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	x.owned = true
	return x, nil
}

// New migrates the evidence_ tables in pool's database. Close leaves a
// pool given here open.
func New(ctx context.Context, pool *pgxpool.Pool) (*Index, error) {
	if err := pgdb.Migrate(ctx, pool, "evidence", schema); err != nil {
		return nil, fmt.Errorf("evidence: migrate index: %w", err)
	}
	return &Index{pool: pool}, nil
}

// Close closes the pool when Open made it.
func (x *Index) Close() error {
	if x.owned {
		x.pool.Close()
	}
	return nil
}

const columns = `id, lead_id, url, target_uri, source, file, file_offset, length, response_id,
	payload_digest, block_digest, status, content_type, rendered, screenshot, captured_at, archived_at`

func scan(row pgx.Row) (evidence.Entry, error) {
	var e evidence.Entry
	err := row.Scan(&e.ID, &e.LeadID, &e.URL, &e.TargetURI, &e.Source, &e.File, &e.Offset, &e.Length,
		&e.ResponseID, &e.PayloadDigest, &e.BlockDigest, &e.Status, &e.ContentType, &e.Rendered,
		&e.HasScreenshot, &e.CapturedAt, &e.ArchivedAt)
	e.CapturedAt, e.ArchivedAt = e.CapturedAt.UTC(), e.ArchivedAt.UTC()
	return e, err
}

// one runs a query for at most one capture.
func (x *Index) one(ctx context.Context, what, query string, args ...any) (evidence.Entry, error) {
	e, err := scan(x.pool.QueryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return evidence.Entry{}, evidence.ErrNotFound
	}
	if err != nil {
		return evidence.Entry{}, fmt.Errorf("evidence: %s: %w", what, err)
	}
	return e, nil
}

// list runs a query for captures; rows.Err is checked by CollectRows.
func (x *Index) list(ctx context.Context, what, query string, args ...any) ([]evidence.Entry, error) {
	rows, err := x.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (evidence.Entry, error) { return scan(r) })
	if err != nil {
		return nil, fmt.Errorf("evidence: %s: %w", what, err)
	}
	return out, nil
}

// Insert records a capture.
func (x *Index) Insert(ctx context.Context, e evidence.Entry) (int64, error) {
	var id int64
	err := x.pool.QueryRow(ctx, `INSERT INTO evidence_capture (lead_id, url, target_uri, source, file,
		file_offset, length, response_id, payload_digest, block_digest, status, content_type, rendered, screenshot,
		captured_at, archived_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		RETURNING id`,
		e.LeadID, e.URL, e.TargetURI, e.Source, e.File, e.Offset, e.Length, e.ResponseID, e.PayloadDigest,
		e.BlockDigest, e.Status, e.ContentType, e.Rendered, e.HasScreenshot, e.CapturedAt.UTC(), e.ArchivedAt.UTC()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("evidence: index %s: %w", e.URL, err)
	}
	return id, nil
}

// Find returns the latest capture of url with the given payload digest.
func (x *Index) Find(ctx context.Context, url, payloadDigest string) (evidence.Entry, error) {
	return x.one(ctx, "look up "+url, `SELECT `+columns+` FROM evidence_capture
		WHERE url = $1 AND payload_digest = $2 ORDER BY captured_at DESC, id DESC LIMIT 1`, url, payloadDigest)
}

// Get returns a capture by id.
func (x *Index) Get(ctx context.Context, id int64) (evidence.Entry, error) {
	return x.one(ctx, fmt.Sprintf("capture %d", id), `SELECT `+columns+` FROM evidence_capture WHERE id = $1`, id)
}

// Has reports whether url has any capture.
func (x *Index) Has(ctx context.Context, url string) (bool, error) {
	var has bool
	err := x.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM evidence_capture WHERE url = $1)`, url).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("evidence: look up %s: %w", url, err)
	}
	return has, nil
}

// ForURLs returns the captures of the given URLs, newest first for each
// URL, in the order of urls.
func (x *Index) ForURLs(ctx context.Context, urls []string) ([]evidence.Entry, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	out, err := x.list(ctx, "list captures", `SELECT `+columns+` FROM evidence_capture WHERE url = ANY($1)
		ORDER BY captured_at DESC, id DESC`, urls)
	if err != nil {
		return nil, err
	}
	return evidence.OrderByURLs(out, urls), nil
}

// ForLead returns the captures archived for a lead id, newest first.
func (x *Index) ForLead(ctx context.Context, leadID string) ([]evidence.Entry, error) {
	return x.list(ctx, "captures of "+leadID, `SELECT `+columns+` FROM evidence_capture WHERE lead_id = $1
		ORDER BY captured_at DESC, id DESC`, leadID)
}

// InFile lists the captures indexed in a file, by offset.
func (x *Index) InFile(ctx context.Context, file string) ([]evidence.Entry, error) {
	return x.list(ctx, "captures in "+file, `SELECT `+columns+` FROM evidence_capture WHERE file = $1
		ORDER BY file_offset, id`, file)
}

// DeleteFile forgets the captures in a file.
func (x *Index) DeleteFile(ctx context.Context, file string) (int, error) {
	tag, err := x.pool.Exec(ctx, `DELETE FROM evidence_capture WHERE file = $1`, file)
	if err != nil {
		return 0, fmt.Errorf("evidence: forget %s: %w", file, err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteBeyond forgets the captures of a file that end after end.
func (x *Index) DeleteBeyond(ctx context.Context, file string, end int64) (int, error) {
	tag, err := x.pool.Exec(ctx, `DELETE FROM evidence_capture WHERE file = $1 AND file_offset + length > $2`, file, end)
	if err != nil {
		return 0, fmt.Errorf("evidence: forget the end of %s: %w", file, err)
	}
	return int(tag.RowsAffected()), nil
}

// PinnedKey returns the signing key's recorded fingerprint, or "".
func (x *Index) PinnedKey(ctx context.Context) (string, error) {
	var got string
	err := x.pool.QueryRow(ctx, `SELECT fingerprint FROM evidence_key WHERE id = 1`).Scan(&got)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("evidence: read the signing key's record: %w", err)
	}
	return got, nil
}

// PinKey records the signing key's fingerprint unless one is recorded;
// of nodes pinning at once, the first to commit wins and every one gets
// its fingerprint back.
func (x *Index) PinKey(ctx context.Context, fingerprint string) (string, error) {
	if _, err := x.pool.Exec(ctx, `INSERT INTO evidence_key (id, fingerprint, pinned_at) VALUES (1, $1, $2)
		ON CONFLICT (id) DO NOTHING`, fingerprint, time.Now().UTC()); err != nil {
		return "", fmt.Errorf("evidence: record the signing key: %w", err)
	}
	var got string
	if err := x.pool.QueryRow(ctx, `SELECT fingerprint FROM evidence_key WHERE id = 1`).Scan(&got); err != nil {
		return "", fmt.Errorf("evidence: read the signing key's record: %w", err)
	}
	return got, nil
}

// Import records captures with the ids they have elsewhere (an embedded
// installation's index, moved by riskmine migrate), so the lead pages'
// links to them (/leads/ID/evidence/CAPTURE) still hold. A capture whose
// id is already here is skipped, so an interrupted import can be run
// again; later captures get ids above every imported one. It returns how
// many were recorded.
func (x *Index) Import(ctx context.Context, entries []evidence.Entry) (int, error) {
	tx, err := x.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("evidence: import: %w", err)
	}
	defer tx.Rollback(context.Background()) // a no-op after Commit
	n := 0
	for _, e := range entries {
		tag, err := tx.Exec(ctx, `INSERT INTO evidence_capture (id, lead_id, url, target_uri, source, file,
			file_offset, length, response_id, payload_digest, block_digest, status, content_type, rendered, screenshot,
			captured_at, archived_at) OVERRIDING SYSTEM VALUE
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
			ON CONFLICT (id) DO NOTHING`,
			e.ID, e.LeadID, e.URL, e.TargetURI, e.Source, e.File, e.Offset, e.Length, e.ResponseID, e.PayloadDigest,
			e.BlockDigest, e.Status, e.ContentType, e.Rendered, e.HasScreenshot, e.CapturedAt.UTC(), e.ArchivedAt.UTC())
		if err != nil {
			return 0, fmt.Errorf("evidence: import capture %d: %w", e.ID, err)
		}
		n += int(tag.RowsAffected())
	}
	// The identity goes on from the highest id, imported or not.
	if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('evidence_capture', 'id'),
		GREATEST((SELECT max(id) FROM evidence_capture), 1))`); err != nil {
		return 0, fmt.Errorf("evidence: import: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("evidence: import: %w", err)
	}
	return n, nil
}
