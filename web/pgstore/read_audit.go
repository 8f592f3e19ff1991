package pgstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmine/web"
)

// AddReads stores reads in one statement (at millisecond precision, as
// the SQLite store keeps them).
func (s *Store) AddReads(ctx context.Context, evs []web.ReadEvent) error {
	if len(evs) == 0 {
		return nil
	}
	n := len(evs)
	at := make([]time.Time, n)
	users, roles, ips, kinds, vias, targets, queries, filters := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	rows := make([]int32, n)
	pii := make([]bool, n)
	for i, e := range evs {
		at[i] = e.At.Truncate(time.Millisecond)
		users[i], roles[i], ips[i], kinds[i], vias[i] = e.User, string(e.Role), e.ClientIP, e.Kind, e.Via
		targets[i], queries[i], filters[i], rows[i], pii[i] = e.Target, e.Query, e.Filters, int32(e.Rows), e.PII
	}
	// unnest keeps the order of the arrays, so ids follow the order given.
	if _, err := s.pool.Exec(ctx, `INSERT INTO web_read_audit (at, user_name, role, client_ip, kind, via, target, query, filters, rows, pii)
		SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::integer[], $11::boolean[])`,
		at, users, roles, ips, kinds, vias, targets, queries, filters, rows, pii); err != nil {
		return fmt.Errorf("web: add reads: %w", err)
	}
	return nil
}

// Reads lists the reads matching f, newest first, and how many match.
func (s *Store) Reads(ctx context.Context, f web.ReadFilter) ([]web.ReadEvent, int, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.User != "" {
		add("user_name = $%d", f.User)
	}
	if f.Kind != "" {
		add("kind = $%d", f.Kind)
	}
	if !f.Since.IsZero() {
		add("at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("at < $%d", f.Until)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM web_read_audit`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("web: count reads: %w", err)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	args = append(args, f.Limit, max(0, f.Offset))
	rows, err := s.pool.Query(ctx, `SELECT id, at, user_name, role, client_ip, kind, via, target, query, filters, rows, pii
		FROM web_read_audit`+cond+fmt.Sprintf(` ORDER BY at DESC, id DESC LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("web: list reads: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (web.ReadEvent, error) {
		var e web.ReadEvent
		var role string
		err := r.Scan(&e.ID, &e.At, &e.User, &role, &e.ClientIP, &e.Kind, &e.Via, &e.Target, &e.Query, &e.Filters, &e.Rows, &e.PII)
		e.Role = web.Role(role)
		return e, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("web: list reads: %w", err)
	}
	if out == nil {
		out = []web.ReadEvent{}
	}
	return out, total, nil
}

// PruneReads deletes the reads recorded before t and says how many.
func (s *Store) PruneReads(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM web_read_audit WHERE at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("web: prune reads: %w", err)
	}
	return tag.RowsAffected(), nil
}
