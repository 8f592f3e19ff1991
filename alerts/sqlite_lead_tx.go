package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// sqlLeadTx is LeadTx on one transaction of the SQLite writer.
type sqlLeadTx struct {
	s  *SQLStore
	tx *sql.Tx
}

var _ LeadTx = sqlLeadTx{}

func (s *SQLStore) leadTx(tx *sql.Tx) sqlLeadTx { return sqlLeadTx{s: s, tx: tx} }

// inLeadTx runs fn in one writer transaction and commits it; it signals the
// dispatcher when fn queued outbox rows.
func (s *SQLStore) inLeadTx(ctx context.Context, op, id string, fn func(LeadTx) (int, error)) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alerts: %s lead %s: %w", op, id, err)
	}
	defer tx.Rollback()
	queued, err := fn(s.leadTx(tx))
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("alerts: %s lead %s: %w", op, id, err)
	}
	if queued > 0 {
		s.notify()
	}
	return nil
}

func (t sqlLeadTx) SourceLead(ctx context.Context, canon string) (string, bool, error) {
	var id string
	err := t.s.queryRow(ctx, t.tx, `SELECT lead_id FROM alerts_source WHERE canonical_url = ?`, canon).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return id, true, nil
}

func (t sqlLeadTx) NearDuplicates(ctx context.Context, h uint64) ([]LeadSketch, error) {
	vals := t.s.bandValues(h)
	args := make([]any, 0, 2*len(vals))
	for b, v := range vals {
		args = append(args, b, v)
	}
	// One statement for all bands: SQLite answers the OR with one index
	// lookup per band.
	rows, err := t.s.query(ctx, t.tx, `SELECT b.lead_id, b.simhash FROM alerts_band b JOIN alerts_lead l ON l.id = b.lead_id
		WHERE (`+t.s.bandMatch+`) AND l.state IN `+openStatesSQL, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LeadSketch
	for rows.Next() {
		var k LeadSketch
		var sim int64
		if err := rows.Scan(&k.ID, &sim); err != nil {
			return nil, err
		}
		k.SimHash = uint64(sim)
		out = append(out, k)
	}
	return out, rows.Err()
}

func (t sqlLeadTx) RecentInPlace(ctx context.Context, category, county string, since time.Time, limit int) ([]LeadSketch, error) {
	rows, err := t.s.query(ctx, t.tx, `SELECT id, first_seen, terms FROM alerts_lead
		WHERE top_category = ? AND county = ? AND last_seen >= ? AND state IN `+openStatesSQL+`
		ORDER BY last_seen DESC LIMIT ?`, category, county, ms(since), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LeadSketch
	for rows.Next() {
		var k LeadSketch
		var first int64
		var terms string
		if err := rows.Scan(&k.ID, &first, &terms); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(terms), &k.Terms); err != nil {
			return nil, fmt.Errorf("decode terms of lead %s: %w", k.ID, err)
		}
		k.FirstSeen = fromMS(first)
		out = append(out, k)
	}
	return out, rows.Err()
}

func (t sqlLeadTx) Load(ctx context.Context, id string) (*Lead, error) {
	return t.s.loadLeadTx(ctx, t.tx, id)
}

func (t sqlLeadTx) Insert(ctx context.Context, l *Lead) error { return t.s.insertLead(ctx, t.tx, l) }

func (t sqlLeadTx) SaveFiling(ctx context.Context, l *Lead) error {
	return t.s.updateLeadFiling(ctx, t.tx, l)
}

func (t sqlLeadTx) SaveReview(ctx context.Context, l *Lead, loaded int) error {
	var closed any
	if l.ClosedAt != nil {
		closed = ms(*l.ClosedAt)
	}
	res, err := t.s.exec(ctx, t.tx, `UPDATE alerts_lead SET state = ?, assignee = ?, unit = ?, resolution = ?, merged_into = ?,
		closed_at = ?, source_count = ?, due_at = ?, updated_at = ?, case_number = ?, version = ? WHERE id = ? AND version = ?`,
		l.State, l.Assignee, l.Unit, l.Resolution, l.MergedInto, closed, l.SourceCount, dueMS(l), ms(l.UpdatedAt), l.CaseNumber,
		l.Version, l.ID, loaded)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("lead %s changed under us: %w", l.ID, ErrConflict)
	}
	return nil
}

func (t sqlLeadTx) AddSource(ctx context.Context, leadID string, c *Candidate, canon string, seen time.Time, newLead bool) error {
	if err := t.s.insertSource(ctx, t.tx, leadID, c, canon, seen, newLead); err != nil {
		return err
	}
	return t.s.insertLeadFacets(ctx, t.tx, leadID, c)
}

func (t sqlLeadTx) MoveSources(ctx context.Context, fromID, toID string) error {
	stmts := []string{
		`UPDATE alerts_source SET lead_id = ?2 WHERE lead_id = ?1`,
		`UPDATE alerts_band SET lead_id = ?2 WHERE lead_id = ?1`,
		`INSERT OR IGNORE INTO alerts_lead_category(lead_id, code) SELECT ?2, code FROM alerts_lead_category WHERE lead_id = ?1`,
		`INSERT OR IGNORE INTO alerts_lead_location(lead_id, code, name) SELECT ?2, code, name FROM alerts_lead_location WHERE lead_id = ?1`,
		`INSERT OR IGNORE INTO alerts_lead_rule(lead_id, rule) SELECT ?2, rule FROM alerts_lead_rule WHERE lead_id = ?1`,
		// A merged lead is neither confirmed nor dismissed: its rules count on the target.
		`DELETE FROM alerts_lead_rule WHERE lead_id = ?1`,
	}
	for _, q := range stmts {
		if _, err := t.s.exec(ctx, t.tx, q, fromID, toID); err != nil {
			return err
		}
	}
	return nil
}

func (t sqlLeadTx) AppendAudit(ctx context.Context, es ...AuditEntry) error {
	for _, e := range es {
		if err := t.s.insertAudit(ctx, t.tx, e); err != nil {
			return err
		}
	}
	return nil
}

func (t sqlLeadTx) Enqueue(ctx context.Context, event string, l *Lead, first []Source) (int, error) {
	return t.s.enqueue(ctx, t.tx, event, l, first)
}

func (s *SQLStore) insertLead(ctx context.Context, tx *sql.Tx, l *Lead) error {
	_, err := s.exec(ctx, tx, `INSERT INTO alerts_lead(id, title, summary, level, level_rank, score, top_category, county,
		categories, locations, terms, simhash, first_seen, last_seen, source_count, state, due_at, created_at, updated_at, version,
		place, place_code)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		l.ID, l.Title, l.Summary, l.Level, LevelRank(l.Level), l.Score, l.TopCategory(), leadCounty(l),
		jsonText(l.Categories), jsonText(l.Locations), jsonText(l.Terms), int64(l.SimHash),
		ms(l.FirstSeen), ms(l.LastSeen), l.SourceCount, l.State, dueMS(l), ms(l.CreatedAt), ms(l.UpdatedAt), l.Version,
		l.Place, l.PlaceCode)
	return err
}

// updateLeadFiling writes the fields filing and merging change.
func (s *SQLStore) updateLeadFiling(ctx context.Context, tx *sql.Tx, l *Lead) error {
	_, err := s.exec(ctx, tx, `UPDATE alerts_lead SET level = ?, level_rank = ?, score = ?, top_category = ?, county = ?,
		categories = ?, locations = ?, terms = ?, first_seen = ?, last_seen = ?, source_count = ?, due_at = ?, updated_at = ?,
		place = ?, place_code = ?
		WHERE id = ?`,
		l.Level, LevelRank(l.Level), l.Score, l.TopCategory(), leadCounty(l),
		jsonText(l.Categories), jsonText(l.Locations), jsonText(l.Terms), ms(l.FirstSeen), ms(l.LastSeen),
		l.SourceCount, dueMS(l), ms(l.UpdatedAt), l.Place, l.PlaceCode, l.ID)
	return err
}

func (s *SQLStore) insertSource(ctx context.Context, tx *sql.Tx, leadID string, c *Candidate, canon string, seen time.Time, newLead bool) error {
	ev := c.Evidence
	if ev == nil {
		ev = []Evidence{}
	}
	_, err := s.exec(ctx, tx, `INSERT INTO alerts_source(lead_id, url, canonical_url, site, source, title, snippet,
		published_at, seen_at, level, score, category, simhash, evidence, level_cues) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		leadID, c.URL, canon, c.Site, c.Source, c.Title, truncateRunes(c.Snippet, SourceTextRunes), ms(c.PublishedAt), ms(seen),
		c.Level, c.Score, topCategory(c.Categories), int64(c.SimHash), jsonText(ev), jsonText(keptCues(c.LevelCues)))
	if err != nil {
		return err
	}
	if c.SimHash != 0 {
		var one int
		err := sql.ErrNoRows // a new lead has no bands yet
		if !newLead {
			err = s.queryRow(ctx, tx, `SELECT 1 FROM alerts_band WHERE band = 0 AND value = ? AND lead_id = ? AND simhash = ?`,
				s.bandValues(c.SimHash)[0], leadID, int64(c.SimHash)).Scan(&one)
		}
		if errors.Is(err, sql.ErrNoRows) {
			vals := s.bandValues(c.SimHash)
			args := make([]any, 0, 4*len(vals))
			for b, v := range vals {
				args = append(args, b, v, leadID, int64(c.SimHash))
			}
			if _, err := s.exec(ctx, tx, `INSERT INTO alerts_band(band, value, lead_id, simhash) VALUES `+s.bandRows, args...); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	return nil
}

// insertLeadFacets records the candidate's categories, locations and
// evidence rules on the lead for filtering and rule feedback.
func (s *SQLStore) insertLeadFacets(ctx context.Context, tx *sql.Tx, leadID string, c *Candidate) error {
	for _, cat := range c.Categories {
		if cat.Code == "" {
			continue
		}
		if _, err := s.exec(ctx, tx, `INSERT OR IGNORE INTO alerts_lead_category(lead_id, code) VALUES (?,?)`, leadID, cat.Code); err != nil {
			return err
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
		if _, err := s.exec(ctx, tx, `INSERT OR IGNORE INTO alerts_lead_location(lead_id, code, name) VALUES (?,?,?)`, leadID, code, name); err != nil {
			return err
		}
	}
	var seen []string
	for _, e := range c.Evidence {
		if e.Rule == "" || contains(seen, e.Rule) {
			continue
		}
		seen = append(seen, e.Rule)
		if _, err := s.exec(ctx, tx, `INSERT OR IGNORE INTO alerts_lead_rule(lead_id, rule) VALUES (?,?)`, leadID, e.Rule); err != nil {
			return err
		}
	}
	return nil
}
