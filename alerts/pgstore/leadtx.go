package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmine/alerts"
)

// leadTx is alerts.LeadTx on one PostgreSQL transaction. Load locks the
// row it reads (FOR UPDATE), so two nodes reviewing one lead take turns
// and the second finds the first's version.
type leadTx struct {
	s  *Store
	tx pgx.Tx
}

var _ alerts.LeadTx = leadTx{}

func (s *Store) leadTx(tx pgx.Tx) leadTx { return leadTx{s: s, tx: tx} }

const leadCols = `id, kind, burst, title, summary, level, score, categories, locations, terms, simhash,
	first_seen, last_seen, source_count, state, assignee, unit, due_at, resolution,
	merged_into, created_at, updated_at, closed_at, version, place, place_code, case_number`

func (s *Store) scanLead(row pgx.Row) (*alerts.Lead, error) {
	var (
		l                     alerts.Lead
		burst                 []byte
		cats, locs, terms     []byte
		sim                   int64
		due, closed           *time.Time
		first, last, cre, upd time.Time
	)
	err := row.Scan(&l.ID, &l.Kind, &burst, &l.Title, &l.Summary, &l.Level, &l.Score, &cats, &locs, &terms, &sim,
		&first, &last, &l.SourceCount, &l.State, &l.Assignee, &l.Unit, &due, &l.Resolution,
		&l.MergedInto, &cre, &upd, &closed, &l.Version, &l.Place, &l.PlaceCode, &l.CaseNumber)
	if err != nil {
		return nil, err
	}
	if err := errors.Join(json.Unmarshal(cats, &l.Categories), json.Unmarshal(locs, &l.Locations), json.Unmarshal(terms, &l.Terms)); err != nil {
		return nil, fmt.Errorf("decode lead %s: %w", l.ID, err)
	}
	if len(burst) > 0 {
		l.Burst = &alerts.BurstInfo{}
		if err := json.Unmarshal(burst, l.Burst); err != nil {
			return nil, fmt.Errorf("decode burst of lead %s: %w", l.ID, err)
		}
	}
	l.SimHash = uint64(sim)
	l.FirstSeen, l.LastSeen, l.CreatedAt, l.UpdatedAt = s.at(first), s.at(last), s.at(cre), s.at(upd)
	l.DueAt, l.ClosedAt = s.atPtr(due), s.atPtr(closed)
	l.Overdue = alerts.IsOpen(l.State) && l.DueAt != nil && s.now().After(*l.DueAt)
	return &l, nil
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (t leadTx) SourceLead(ctx context.Context, canon string) (string, bool, error) {
	var id string
	err := t.tx.QueryRow(ctx, `SELECT lead_id FROM alerts_source WHERE canonical_url = $1`, canon).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return id, true, nil
}

// NearDuplicates looks the hash's bands up in alerts_band's primary key.
func (t leadTx) NearDuplicates(ctx context.Context, h uint64) ([]alerts.LeadSketch, error) {
	vals := alerts.SimhashBands(h, t.s.opts.SimhashDistance)
	bands := make([]int32, len(vals))
	for i := range vals {
		bands[i] = int32(i)
	}
	rows, err := t.tx.Query(ctx, `SELECT DISTINCT b.lead_id, b.simhash FROM alerts_band b JOIN alerts_lead l ON l.id = b.lead_id
		WHERE (b.band, b.value) IN (SELECT * FROM unnest($1::integer[], $2::bigint[])) AND l.state = ANY($3)`,
		bands, vals, t.s.open)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.LeadSketch, error) {
		var k alerts.LeadSketch
		var sim int64
		err := r.Scan(&k.ID, &sim)
		k.SimHash = uint64(sim)
		return k, err
	})
}

func (t leadTx) RecentInPlace(ctx context.Context, category, county string, since time.Time, limit int) ([]alerts.LeadSketch, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, first_seen, terms FROM alerts_lead
		WHERE top_category = $1 AND county = $2 AND last_seen >= $3 AND state = ANY($4)
		ORDER BY last_seen DESC LIMIT $5`, category, county, since, t.s.open, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.LeadSketch, error) {
		var k alerts.LeadSketch
		var terms []byte
		if err := r.Scan(&k.ID, &k.FirstSeen, &terms); err != nil {
			return k, err
		}
		if err := json.Unmarshal(terms, &k.Terms); err != nil {
			return k, fmt.Errorf("decode terms of lead %s: %w", k.ID, err)
		}
		return k, nil
	})
}

func (t leadTx) Load(ctx context.Context, id string) (*alerts.Lead, error) {
	l, err := t.s.scanLead(t.tx.QueryRow(ctx, `SELECT `+leadCols+` FROM alerts_lead WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("alerts: lead %s: %w", id, alerts.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("alerts: load lead %s: %w", id, err)
	}
	return l, nil
}

func (t leadTx) Insert(ctx context.Context, l *alerts.Lead) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO alerts_lead(id, kind, title, summary, level, level_rank, score, top_category, county,
		categories, locations, terms, simhash, first_seen, last_seen, source_count, state, due_at, created_at, updated_at, version,
		place, place_code)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23)`,
		l.ID, l.Kind, l.Title, l.Summary, l.Level, alerts.LevelRank(l.Level), l.Score, l.TopCategory(), alerts.LeadCounty(l),
		jsonText(l.Categories), jsonText(l.Locations), jsonText(l.Terms), int64(l.SimHash),
		l.FirstSeen, l.LastSeen, l.SourceCount, l.State, l.DueAt, l.CreatedAt, l.UpdatedAt, l.Version,
		l.Place, l.PlaceCode)
	return err
}

func (t leadTx) SaveFiling(ctx context.Context, l *alerts.Lead) error {
	_, err := t.tx.Exec(ctx, `UPDATE alerts_lead SET level = $1, level_rank = $2, score = $3, top_category = $4, county = $5,
		categories = $6, locations = $7, terms = $8, first_seen = $9, last_seen = $10, source_count = $11, due_at = $12,
		updated_at = $13, place = $14, place_code = $15
		WHERE id = $16`,
		l.Level, alerts.LevelRank(l.Level), l.Score, l.TopCategory(), alerts.LeadCounty(l),
		jsonText(l.Categories), jsonText(l.Locations), jsonText(l.Terms), l.FirstSeen, l.LastSeen,
		l.SourceCount, l.DueAt, l.UpdatedAt, l.Place, l.PlaceCode, l.ID)
	return err
}

func (t leadTx) SaveReview(ctx context.Context, l *alerts.Lead, loaded int) error {
	tag, err := t.tx.Exec(ctx, `UPDATE alerts_lead SET state = $1, assignee = $2, unit = $3, resolution = $4, merged_into = $5,
		closed_at = $6, source_count = $7, due_at = $8, updated_at = $9, case_number = $10, version = $11
		WHERE id = $12 AND version = $13`,
		l.State, l.Assignee, l.Unit, l.Resolution, l.MergedInto, l.ClosedAt, l.SourceCount, l.DueAt, l.UpdatedAt, l.CaseNumber,
		l.Version, l.ID, loaded)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("lead %s changed under us: %w", l.ID, alerts.ErrConflict)
	}
	return nil
}

// errRefiled is returned when the source's canonical URL was taken by a
// filing that committed between this one's check and its insert; filing
// runs again and finds the post a duplicate.
var errRefiled = errors.New("canonical url filed meanwhile")

func (t leadTx) AddSource(ctx context.Context, leadID string, c *alerts.Candidate, canon string, seen time.Time, newLead bool) error {
	src := alerts.SourceOf(c, canon, seen)
	tag, err := t.tx.Exec(ctx, `INSERT INTO alerts_source(lead_id, url, canonical_url, site, source, title, snippet,
		published_at, seen_at, level, score, category, simhash, evidence, level_cues)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
		ON CONFLICT (canonical_url) DO NOTHING`,
		leadID, src.URL, canon, src.Site, src.Source, src.Title, src.Snippet, src.PublishedAt, src.SeenAt,
		src.Level, src.Score, src.Category, int64(c.SimHash), jsonText(src.Evidence), jsonText(src.LevelCues))
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return errRefiled
	}
	if c.SimHash != 0 {
		if err := t.s.insertBands(ctx, t.tx, leadID, c.SimHash); err != nil {
			return err
		}
	}
	var cats, codes, names, rules []string
	for _, cat := range c.Categories {
		if cat.Code != "" {
			cats = append(cats, cat.Code)
		}
	}
	for i, code := range c.LocationCodes {
		if code == "" {
			continue
		}
		name := ""
		if i < len(c.LocationNames) {
			name = c.LocationNames[i]
		}
		codes, names = append(codes, code), append(names, name)
	}
	for _, e := range c.Evidence {
		if e.Rule != "" {
			rules = append(rules, e.Rule)
		}
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO alerts_lead_category(lead_id, code) SELECT DISTINCT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, []any{leadID, cats}},
		{`INSERT INTO alerts_lead_location(lead_id, code, name) SELECT DISTINCT ON (c) $1, c, n FROM unnest($2::text[], $3::text[]) AS t(c, n)
			ON CONFLICT DO NOTHING`, []any{leadID, codes, names}},
		{`INSERT INTO alerts_lead_rule(lead_id, rule) SELECT DISTINCT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, []any{leadID, rules}},
	} {
		if _, err := t.tx.Exec(ctx, q.sql, q.args...); err != nil {
			return err
		}
	}
	return nil
}

func (t leadTx) MoveSources(ctx context.Context, fromID, toID string) error {
	stmts := []string{
		`UPDATE alerts_source SET lead_id = $2 WHERE lead_id = $1`,
		`INSERT INTO alerts_band(band, value, lead_id, simhash) SELECT band, value, $2, simhash FROM alerts_band WHERE lead_id = $1
			ON CONFLICT DO NOTHING`,
		`DELETE FROM alerts_band WHERE lead_id = $1`,
		`INSERT INTO alerts_lead_category(lead_id, code) SELECT $2, code FROM alerts_lead_category WHERE lead_id = $1 ON CONFLICT DO NOTHING`,
		`INSERT INTO alerts_lead_location(lead_id, code, name) SELECT $2, code, name FROM alerts_lead_location WHERE lead_id = $1 ON CONFLICT DO NOTHING`,
		`INSERT INTO alerts_lead_rule(lead_id, rule) SELECT $2, rule FROM alerts_lead_rule WHERE lead_id = $1 ON CONFLICT DO NOTHING`,
		// A merged lead is neither confirmed nor dismissed: its rules count on the target.
		`DELETE FROM alerts_lead_rule WHERE lead_id = $1`,
	}
	for _, q := range stmts {
		args := []any{fromID, toID}
		if !strings.Contains(q, "$2") {
			args = args[:1]
		}
		if _, err := t.tx.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func (t leadTx) AppendAudit(ctx context.Context, es ...alerts.AuditEntry) error {
	for _, e := range es {
		if err := insertAudit(ctx, t.tx, e); err != nil {
			return err
		}
	}
	return nil
}

func insertAudit(ctx context.Context, tx pgx.Tx, a alerts.AuditEntry) error {
	_, err := tx.Exec(ctx, `INSERT INTO alerts_audit(lead_id, at, actor, action, from_state, to_state, note, reason, unit, merge_into)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
		a.LeadID, a.At, a.Actor, a.Action, a.From, a.To, a.Note, a.Reason, a.Unit, a.MergeInto)
	return err
}

func (t leadTx) Enqueue(ctx context.Context, event string, l *alerts.Lead, first []alerts.Source) (int, error) {
	if !alerts.WantsEvent(t.s.opts, event, l) {
		return 0, nil
	}
	srcs := first
	if srcs == nil && l.Kind == alerts.KindBurst {
		var err error
		if srcs, err = t.s.burstSources(ctx, t.tx, l.ID, alerts.SourceWindow{Limit: alerts.PayloadSources}); err != nil {
			return 0, err
		}
	}
	if srcs == nil {
		var err error
		if srcs, err = t.s.sources(ctx, t.tx, l.ID, alerts.SourceWindow{Limit: alerts.PayloadSources}); err != nil {
			return 0, err
		}
	}
	now := t.s.now()
	rows, err := alerts.OutboxRows(t.s.opts, event, l, srcs, now)
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if _, err := t.tx.Exec(ctx, `INSERT INTO alerts_delivery(id, endpoint, event, lead_id, body, state, created_at, next_attempt_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$7)`, r.ID, r.Endpoint, r.Event, l.ID, r.Body, alerts.DeliveryPending, now); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// windowed adds w's LIMIT and OFFSET to query, whose one argument is $1,
// and returns it with its arguments.
func windowed(query string, w alerts.SourceWindow, arg any) (string, []any) {
	args := []any{arg}
	if w.Limit > 0 {
		query += ` LIMIT $2`
		args = append(args, w.Limit)
	}
	if w.Offset > 0 {
		query += fmt.Sprintf(` OFFSET $%d`, len(args)+1)
		args = append(args, w.Offset)
	}
	return query, args
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// sources loads the window w of a lead's sources, newest first.
func (s *Store) sources(ctx context.Context, q querier, leadID string, w alerts.SourceWindow) ([]alerts.Source, error) {
	query, args := windowed(`SELECT id, url, canonical_url, site, source, title, snippet, published_at, seen_at, level, score, category, evidence, level_cues
		FROM alerts_source WHERE lead_id = $1 ORDER BY seen_at DESC, id DESC`, w, leadID)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.Source, error) {
		var src alerts.Source
		var ev, cues []byte
		if err := r.Scan(&src.ID, &src.URL, &src.CanonicalURL, &src.Site, &src.Source, &src.Title, &src.Snippet,
			&src.PublishedAt, &src.SeenAt, &src.Level, &src.Score, &src.Category, &ev, &cues); err != nil {
			return src, err
		}
		src.PublishedAt = s.atPtr(src.PublishedAt)
		src.SeenAt = s.at(src.SeenAt)
		if err := json.Unmarshal(ev, &src.Evidence); err != nil {
			return src, fmt.Errorf("decode evidence of source %d: %w", src.ID, err)
		}
		if err := json.Unmarshal(cues, &src.LevelCues); err != nil {
			return src, fmt.Errorf("decode level cues of source %d: %w", src.ID, err)
		}
		return src, nil
	})
}

// likePrefix is a LIKE pattern matching strings that start with p.
func likePrefix(p string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(p) + "%"
}
