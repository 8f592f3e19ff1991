package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmine/web"
)

// AddLexiconChange writes an audit row (at whole seconds, as the SQLite
// store keeps them).
func (s *Store) AddLexiconChange(ctx context.Context, c web.LexiconChange) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO web_lexicon_audit (at, actor, action, code, summary, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.At.Truncate(time.Second), c.Actor, c.Action, c.Code, c.Summary, c.Before, c.After); err != nil {
		return fmt.Errorf("web: record lexicon change: %w", err)
	}
	return nil
}

const lexiconColumns = `id, at, actor, action, code, summary, before, after`

func scanLexiconChange(r pgx.Row) (web.LexiconChange, error) {
	var c web.LexiconChange
	err := r.Scan(&c.ID, &c.At, &c.Actor, &c.Action, &c.Code, &c.Summary, &c.Before, &c.After)
	return c, err
}

// LexiconAudit returns the latest lexicon edits, newest first.
func (s *Store) LexiconAudit(ctx context.Context, limit int) ([]web.LexiconChange, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+lexiconColumns+` FROM web_lexicon_audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("web: lexicon audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (web.LexiconChange, error) { return scanLexiconChange(r) })
	if err != nil {
		return nil, fmt.Errorf("web: lexicon audit: %w", err)
	}
	if out == nil {
		out = []web.LexiconChange{}
	}
	return out, nil
}

// LexiconChange returns the audited change id, or web.ErrNotFound.
func (s *Store) LexiconChange(ctx context.Context, id int64) (web.LexiconChange, error) {
	c, err := scanLexiconChange(s.pool.QueryRow(ctx, `SELECT `+lexiconColumns+` FROM web_lexicon_audit WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return web.LexiconChange{}, web.ErrNotFound
	}
	if err != nil {
		return web.LexiconChange{}, fmt.Errorf("web: lexicon change %d: %w", id, err)
	}
	return c, nil
}
