package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// openStatesSQL is the SQL list of open states.
var openStatesSQL = "('" + strings.Join(openStates, "','") + "')"

const leadCols = `id, title, summary, level, score, categories, locations, terms, simhash,
	first_seen, last_seen, source_count, state, assignee, unit, due_at, resolution,
	merged_into, created_at, updated_at, closed_at, version, place, place_code, kind, burst, case_number`

type scanner interface{ Scan(dest ...any) error }

func (s *SQLStore) scanLead(sc scanner) (*Lead, error) {
	var (
		l                                       Lead
		cats, locs, terms, burst                string
		sim, first, last, due, created, updated int64
		closed                                  sql.NullInt64
	)
	err := sc.Scan(&l.ID, &l.Title, &l.Summary, &l.Level, &l.Score, &cats, &locs, &terms, &sim,
		&first, &last, &l.SourceCount, &l.State, &l.Assignee, &l.Unit, &due, &l.Resolution,
		&l.MergedInto, &created, &updated, &closed, &l.Version, &l.Place, &l.PlaceCode, &l.Kind, &burst, &l.CaseNumber)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(json.Unmarshal([]byte(cats), &l.Categories), json.Unmarshal([]byte(locs), &l.Locations), json.Unmarshal([]byte(terms), &l.Terms)); err != nil {
		return nil, fmt.Errorf("decode lead %s: %w", l.ID, err)
	}
	if burst != "" {
		l.Burst = &BurstInfo{}
		if err := json.Unmarshal([]byte(burst), l.Burst); err != nil {
			return nil, fmt.Errorf("decode burst of lead %s: %w", l.ID, err)
		}
	}
	l.SimHash = uint64(sim)
	l.FirstSeen, l.LastSeen = s.at(first), s.at(last)
	l.DueAt = s.atPtr(due)
	l.CreatedAt, l.UpdatedAt = s.at(created), s.at(updated)
	if closed.Valid {
		l.ClosedAt = s.atPtr(closed.Int64)
	}
	s.setOverdue(&l)
	return &l, nil
}

func (s *SQLStore) setOverdue(l *Lead) {
	l.Overdue = IsOpen(l.State) && l.DueAt != nil && s.now().After(*l.DueAt)
}

func (s *SQLStore) loadLeadTx(ctx context.Context, tx *sql.Tx, id string) (*Lead, error) {
	l, err := s.scanLead(s.queryRow(ctx, tx, `SELECT `+leadCols+` FROM alerts_lead WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("alerts: lead %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("alerts: load lead %s: %w", id, err)
	}
	return l, nil
}

// File files a candidate: below the lead level nothing happens; a canonical
// URL already filed is a duplicate; otherwise the post joins the best open
// lead of the same incident or opens a new one. The lead change, its
// source, its audit entry and the webhook outbox rows commit together.
func (s *SQLStore) File(ctx context.Context, c Candidate) (FileResult, error) {
	canon := c.CanonicalURL
	if canon == "" {
		canon = c.URL
	}
	if canon == "" {
		return FileResult{}, fmt.Errorf("alerts: file: candidate has no url: %w", ErrInvalid)
	}
	if LevelRank(c.Level) < 0 {
		return FileResult{}, fmt.Errorf("alerts: file %s: unknown level %q: %w", canon, c.Level, ErrInvalid)
	}
	if LevelRank(c.Level) < LevelRank(s.opts.LeadLevel) {
		return FileResult{Outcome: OutcomeBelowThreshold}, nil
	}
	now := s.now()
	seen := c.SeenAt
	if seen.IsZero() {
		seen = now
	}
	at := c.PublishedAt
	if at.IsZero() {
		at = seen
	}
	if err := ctx.Err(); err != nil {
		return FileResult{}, fmt.Errorf("alerts: file %s: %w", canon, err)
	}
	res, err := s.submitFile(&fileReq{ctx: ctx, c: c, canon: canon, seen: seen, at: at, now: now})
	if err != nil {
		return FileResult{}, fmt.Errorf("alerts: file %s: %w", canon, err)
	}
	return res, nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// fileOne files one candidate inside the writer's transaction and returns
// how many outbox rows it queued.
func (s *SQLStore) fileOne(ctx context.Context, tx *sql.Tx, r *fileReq) (FileResult, int, error) {
	res, n, created, err := fileIn(ctx, s.leadTx(tx), filing{c: r.c, canon: r.canon, seen: r.seen, at: r.at, now: r.now}, s.opts)
	if err != nil {
		return FileResult{}, 0, err
	}
	if created != nil {
		ev := LeadEventOf(created)
		r.created = &ev
	}
	return res, n, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func dueMS(l *Lead) int64 {
	if l.DueAt == nil {
		return 0
	}
	return l.DueAt.UnixMilli()
}

// payloadSources is how many of the latest sources a webhook body carries.
const payloadSources = 5

// enqueue writes one outbox row per endpoint that wants event for l, in tx.
// srcs, when given, are the payload's sources; otherwise the latest are read.
func (s *SQLStore) enqueue(ctx context.Context, tx *sql.Tx, event string, l *Lead, srcs []Source) (int, error) {
	var eps []Endpoint
	for _, e := range s.opts.Endpoints {
		if e.wants(event, l) {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return 0, nil
	}
	pl := *l
	var err error
	if srcs == nil && l.Kind == KindBurst {
		srcs, err = s.burstSources(ctx, func(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
			return s.query(ctx, tx, q, args...)
		}, l.ID, SourceWindow{Limit: payloadSources})
		if err != nil {
			return 0, err
		}
	}
	if srcs == nil {
		srcs, err = s.sources(ctx, func(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
			return s.query(ctx, tx, q, args...)
		}, l.ID, SourceWindow{Limit: payloadSources})
		if err != nil {
			return 0, err
		}
	}
	pl.Sources = srcs
	pl.Notes = nil
	now := s.now()
	for _, e := range eps {
		body, err := renderBody(e.Format, event, &pl, now)
		if err != nil {
			return 0, err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO alerts_delivery(id, endpoint, event, lead_id, body, state, created_at, next_attempt_at)
			VALUES (?,?,?,?,?,?,?,?)`, "msg_"+newID(now), e.Name, event, l.ID, body, DeliveryPending, ms(now), ms(now)); err != nil {
			return 0, err
		}
	}
	return len(eps), nil
}

// sources loads the window w of a lead's sources, newest first.
// windowed adds w's LIMIT and OFFSET to query (SQLite's LIMIT -1 is no
// limit) and returns it with its arguments.
func windowed(query string, w SourceWindow, args ...any) (string, []any) {
	if w.Limit <= 0 && w.Offset <= 0 {
		return query, args
	}
	limit := w.Limit
	if limit <= 0 {
		limit = -1
	}
	return query + ` LIMIT ? OFFSET ?`, append(args, limit, max(w.Offset, 0))
}

// queryFunc runs a query on a pool or in a transaction.
type queryFunc func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

func (s *SQLStore) sources(ctx context.Context, q queryFunc, leadID string, w SourceWindow) ([]Source, error) {
	query, args := windowed(`SELECT id, url, canonical_url, site, source, title, snippet, published_at, seen_at, level, score, category, evidence, level_cues
		FROM alerts_source WHERE lead_id = ? ORDER BY seen_at DESC, id DESC`, w, leadID)
	rows, err := q(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		var src Source
		var pub, seen int64
		var ev, cues string
		if err := rows.Scan(&src.ID, &src.URL, &src.CanonicalURL, &src.Site, &src.Source, &src.Title, &src.Snippet,
			&pub, &seen, &src.Level, &src.Score, &src.Category, &ev, &cues); err != nil {
			return nil, err
		}
		src.PublishedAt = s.atPtr(pub)
		src.SeenAt = s.at(seen)
		if err := json.Unmarshal([]byte(ev), &src.Evidence); err != nil {
			return nil, fmt.Errorf("decode evidence of source %d: %w", src.ID, err)
		}
		if err := json.Unmarshal([]byte(cues), &src.LevelCues); err != nil {
			return nil, fmt.Errorf("decode level cues of source %d: %w", src.ID, err)
		}
		out = append(out, src)
	}
	return out, rows.Err()
}
