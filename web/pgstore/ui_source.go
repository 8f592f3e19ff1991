package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"riskmine/web"
)

const uiSourceColumns = `name, yaml, paused, updated_at, updated_by`

func scanUISource(r pgx.Row) (web.UISource, error) {
	var u web.UISource
	err := r.Scan(&u.Name, &u.YAML, &u.Paused, &u.UpdatedAt, &u.UpdatedBy)
	return u, err
}

// UISources lists the UI sources by name (in code point order, as SQLite
// sorts).
func (s *Store) UISources(ctx context.Context) ([]web.UISource, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+uiSourceColumns+` FROM web_ui_sources ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("web: list UI sources: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (web.UISource, error) { return scanUISource(r) })
	if err != nil {
		return nil, fmt.Errorf("web: list UI sources: %w", err)
	}
	if out == nil {
		out = []web.UISource{}
	}
	return out, nil
}

// UISource returns one UI source or web.ErrNotFound.
func (s *Store) UISource(ctx context.Context, name string) (web.UISource, error) {
	u, err := scanUISource(s.pool.QueryRow(ctx, `SELECT `+uiSourceColumns+` FROM web_ui_sources WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return web.UISource{}, web.ErrNotFound
	}
	if err != nil {
		return web.UISource{}, fmt.Errorf("web: UI source %s: %w", name, err)
	}
	return u, nil
}

// changeUISource applies one edit and writes its audit row in one
// transaction. The stored source is locked while the edit is decided, so
// concurrent edits of one name, from any node, apply one after another; a
// create that meets a name created meanwhile is refused by the primary
// key.
func (s *Store) changeUISource(ctx context.Context, e web.SourceEdit) (web.UISource, error) {
	var out web.UISource
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var cur *web.UISource
		u, err := scanUISource(tx.QueryRow(ctx, `SELECT `+uiSourceColumns+` FROM web_ui_sources WHERE name = $1 FOR UPDATE`, e.Name))
		switch {
		case err == nil:
			cur = &u
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		next, audit, err := e.Apply(cur, s.now())
		if err != nil {
			return err
		}
		switch {
		case next == nil:
			if _, err := tx.Exec(ctx, `DELETE FROM web_ui_sources WHERE name = $1`, e.Name); err != nil {
				return err
			}
		case cur == nil:
			tag, err := tx.Exec(ctx, `INSERT INTO web_ui_sources (`+uiSourceColumns+`) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING`,
				next.Name, next.YAML, next.Paused, next.UpdatedAt, next.UpdatedBy)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return web.ErrSourceExists
			}
			out = *next
		default:
			if _, err := tx.Exec(ctx, `UPDATE web_ui_sources SET yaml = $2, paused = $3, updated_at = $4, updated_by = $5 WHERE name = $1`,
				next.Name, next.YAML, next.Paused, next.UpdatedAt, next.UpdatedBy); err != nil {
				return err
			}
			out = *next
		}
		_, err = tx.Exec(ctx, `INSERT INTO web_source_audit (at, actor, action, name, before, after) VALUES ($1, $2, $3, $4, $5, $6)`,
			audit.At, audit.Actor, audit.Action, audit.Name, audit.Before, audit.After)
		return err
	})
	if errors.Is(err, web.ErrSourceExists) || errors.Is(err, web.ErrNotFound) {
		return web.UISource{}, err
	}
	if err != nil {
		return web.UISource{}, fmt.Errorf("web: %s UI source %s: %w", e.Action, e.Name, err)
	}
	return out, nil
}

// CreateUISource stores a new UI source (already validated).
func (s *Store) CreateUISource(ctx context.Context, actor, name, yaml string) (web.UISource, error) {
	return s.changeUISource(ctx, web.SourceEdit{Action: "create", Actor: actor, Name: name, YAML: yaml})
}

// UpdateUISource replaces the YAML of a UI source, keeping its pause.
func (s *Store) UpdateUISource(ctx context.Context, actor, name, yaml string) (web.UISource, error) {
	return s.changeUISource(ctx, web.SourceEdit{Action: "update", Actor: actor, Name: name, YAML: yaml})
}

// PauseUISource pauses (true) or resumes (false) a UI source.
func (s *Store) PauseUISource(ctx context.Context, actor, name string, paused bool) (web.UISource, error) {
	return s.changeUISource(ctx, web.PauseEdit(actor, name, paused))
}

// DeleteUISource removes a UI source.
func (s *Store) DeleteUISource(ctx context.Context, actor, name string) error {
	_, err := s.changeUISource(ctx, web.SourceEdit{Action: "delete", Actor: actor, Name: name})
	return err
}

// SourceAudit returns the latest changes to UI sources, newest first.
func (s *Store) SourceAudit(ctx context.Context, limit int) ([]web.SourceChange, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, actor, action, name, before, after FROM web_source_audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("web: source audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (web.SourceChange, error) {
		var c web.SourceChange
		err := r.Scan(&c.At, &c.Actor, &c.Action, &c.Name, &c.Before, &c.After)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("web: source audit: %w", err)
	}
	if out == nil {
		out = []web.SourceChange{}
	}
	return out, nil
}
