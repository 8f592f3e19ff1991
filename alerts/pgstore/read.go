package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmine/alerts"
)

// GetLead returns a lead with all its sources (newest first) and notes.
func (s *Store) GetLead(ctx context.Context, id string) (*alerts.Lead, error) {
	l, _, err := s.GetLeadWindow(ctx, id, alerts.SourceWindow{})
	return l, err
}

// GetLeadWindow implements alerts.Store.
func (s *Store) GetLeadWindow(ctx context.Context, id string, w alerts.SourceWindow) (*alerts.Lead, int, error) {
	l, err := s.scanLead(s.pool.QueryRow(ctx, `SELECT `+leadCols+` FROM alerts_lead WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, fmt.Errorf("alerts: lead %s: %w", id, alerts.ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: load lead %s: %w", id, err)
	}
	// A burst's counted posts, and the posts of leads merged into it.
	var total int
	l.Sources, total, err = alerts.ReadSourceWindow(w, l.Kind == alerts.KindBurst, func(burst bool) (n int, err error) {
		table := "alerts_source"
		if burst {
			table = "alerts_burst_post"
		}
		err = s.pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE lead_id = $1`, id).Scan(&n)
		return n, err
	}, func(burst bool, w alerts.SourceWindow) ([]alerts.Source, error) {
		if burst {
			return s.burstSources(ctx, s.pool, id, w)
		}
		return s.sources(ctx, s.pool, id, w)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: load sources of lead %s: %w", id, err)
	}
	if l.Notes, err = s.notes(ctx, id); err != nil {
		return nil, 0, err
	}
	return l, total, nil
}

// notes loads a lead's notes, oldest first (nil when it has none).
func (s *Store) notes(ctx context.Context, id string) ([]alerts.Note, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, text FROM alerts_note WHERE lead_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("alerts: load notes of lead %s: %w", id, err)
	}
	notes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.Note, error) {
		var n alerts.Note
		err := r.Scan(&n.ID, &n.At, &n.Actor, &n.Text)
		n.At = s.at(n.At)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: load notes of lead %s: %w", id, err)
	}
	if len(notes) == 0 {
		return nil, nil
	}
	return notes, nil
}

var leadSorts = map[string]string{
	"":           "last_seen DESC, id DESC",
	"last_seen":  "last_seen DESC, id DESC",
	"first_seen": "first_seen DESC, id DESC",
	"level":      "level_rank DESC, last_seen DESC, id DESC",
	"score":      "score DESC, id DESC",
	"due":        "due_at IS NULL, due_at ASC, id",
	"sources":    "source_count DESC, id DESC",
}

// ListLeads returns one page of the leads matching f and the total count.
func (s *Store) ListLeads(ctx context.Context, f alerts.LeadFilter) ([]alerts.Lead, int, error) {
	order, ok := leadSorts[f.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("alerts: list leads: unknown sort %q, expected last_seen, first_seen, level, score, due or sources: %w", f.Sort, alerts.ErrInvalid)
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.States) > 0 {
		where = append(where, "state = ANY("+arg(f.States)+")")
	}
	if len(f.Levels) > 0 {
		where = append(where, "level = ANY("+arg(f.Levels)+")")
	}
	if len(f.Categories) > 0 {
		where = append(where, "id IN (SELECT lead_id FROM alerts_lead_category WHERE code = ANY("+arg(f.Categories)+"))")
	}
	if f.LocationPrefix != "" {
		where = append(where, "id IN (SELECT lead_id FROM alerts_lead_location WHERE code LIKE "+arg(likePrefix(f.LocationPrefix))+")")
	}
	if f.Assignee != "" {
		where = append(where, "assignee = "+arg(f.Assignee))
	}
	if f.Overdue {
		where = append(where, "state = ANY("+arg(s.open)+") AND due_at < "+arg(s.now()))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		p := arg(q)
		where = append(where, "(strpos(title, "+p+") > 0 OR strpos(summary, "+p+") > 0)")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM alerts_lead`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("alerts: count leads: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	lim, off := arg(limit), arg(max(f.Offset, 0))
	rows, err := s.pool.Query(ctx, `SELECT `+leadCols+` FROM alerts_lead`+cond+` ORDER BY `+order+` LIMIT `+lim+` OFFSET `+off, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: list leads: %w", err)
	}
	out, err := s.collectLeads(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: list leads: %w", err)
	}
	return out, total, nil
}

func (s *Store) collectLeads(rows pgx.Rows) ([]alerts.Lead, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.Lead, error) {
		l, err := s.scanLead(r)
		if err != nil {
			return alerts.Lead{}, err
		}
		return *l, nil
	})
	if out == nil {
		out = []alerts.Lead{}
	}
	return out, err
}

// SimilarLeads returns other leads (any state) that look like the same
// incident: a simhash sharing a band within twice the join distance plus
// two, or the same top category and county within ten cluster windows.
// Closest simhash first, then most recent.
func (s *Store) SimilarLeads(ctx context.Context, id string, limit int) ([]alerts.Lead, error) {
	l, err := s.GetLead(ctx, id)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 10
	}
	type cand struct {
		lead alerts.Lead
		dist int
	}
	found := map[string]*cand{}
	wrap := func(err error) error { return fmt.Errorf("alerts: similar leads of %s: %w", id, err) }
	if l.SimHash != 0 {
		vals := alerts.SimhashBands(l.SimHash, s.opts.SimhashDistance)
		bands := make([]int32, len(vals))
		for i := range vals {
			bands[i] = int32(i)
		}
		rows, err := s.pool.Query(ctx, `SELECT `+leadCols+` FROM alerts_lead WHERE id <> $3 AND id IN (
			SELECT lead_id FROM alerts_band WHERE (band, value) IN (SELECT * FROM unnest($1::integer[], $2::bigint[]))) LIMIT 200`,
			bands, vals, id)
		if err != nil {
			return nil, wrap(err)
		}
		ls, err := s.collectLeads(rows)
		if err != nil {
			return nil, wrap(err)
		}
		for _, o := range ls {
			if d := bits.OnesCount64(o.SimHash ^ l.SimHash); d <= 2*s.opts.SimhashDistance+2 {
				found[o.ID] = &cand{o, d}
			}
		}
	}
	if county := alerts.LeadCounty(l); county != "" && l.TopCategory() != "" {
		w := 10 * s.opts.ClusterWindow
		rows, err := s.pool.Query(ctx, `SELECT `+leadCols+` FROM alerts_lead WHERE top_category = $1 AND county = $2
			AND last_seen >= $3 AND first_seen <= $4 AND id <> $5 ORDER BY last_seen DESC LIMIT 50`,
			l.TopCategory(), county, l.FirstSeen.Add(-w), l.LastSeen.Add(w), id)
		if err != nil {
			return nil, wrap(err)
		}
		ls, err := s.collectLeads(rows)
		if err != nil {
			return nil, wrap(err)
		}
		for _, o := range ls {
			if _, ok := found[o.ID]; !ok {
				found[o.ID] = &cand{o, 65}
			}
		}
	}
	list := make([]*cand, 0, len(found))
	for _, c := range found {
		list = append(list, c)
	}
	slices.SortFunc(list, func(a, b *cand) int {
		return cmp.Or(cmp.Compare(a.dist, b.dist), b.lead.LastSeen.Compare(a.lead.LastSeen))
	})
	out := []alerts.Lead{}
	for i := 0; i < len(list) && i < limit; i++ {
		out = append(out, list[i].lead)
	}
	return out, nil
}

// AddNote adds an analyst's note (audited); notes do not bump the version.
func (s *Store) AddNote(ctx context.Context, id, actor, text string) (*alerts.Lead, error) {
	actor, text, err := alerts.NoteText(id, actor, text)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) (int, error) {
		if _, err := s.leadTx(tx).Load(ctx, id); err != nil {
			return 0, err
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `INSERT INTO alerts_note(lead_id, at, actor, text) VALUES ($1,$2,$3,$4)`, id, now, actor, text); err != nil {
			return 0, fmt.Errorf("alerts: note on lead %s: %w", id, err)
		}
		return 0, insertAudit(ctx, tx, alerts.AuditEntry{LeadID: id, At: now, Actor: actor, Action: "note", Note: text})
	})
	if err != nil {
		return nil, err
	}
	return s.GetLead(ctx, id)
}

// Audit returns a lead's audit trail, oldest first.
func (s *Store) Audit(ctx context.Context, id string) ([]alerts.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, lead_id, at, actor, action, from_state, to_state, note, reason, unit, merge_into
		FROM alerts_audit WHERE lead_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("alerts: audit of lead %s: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.AuditEntry, error) {
		var a alerts.AuditEntry
		err := r.Scan(&a.ID, &a.LeadID, &a.At, &a.Actor, &a.Action, &a.From, &a.To, &a.Note, &a.Reason, &a.Unit, &a.MergeInto)
		a.At = s.at(a.At)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: audit of lead %s: %w", id, err)
	}
	if out == nil {
		out = []alerts.AuditEntry{}
	}
	return out, nil
}

// RecordCapture adds a captured entry to the lead's audit trail unless it
// already records that capture (the same WARC record); the lead's row lock
// makes two nodes recording one capture write it once.
func (s *Store) RecordCapture(ctx context.Context, leadID string, c alerts.CaptureNote) (bool, error) {
	if err := alerts.CheckCapture(leadID, c); err != nil {
		return false, err
	}
	// The expression and the literal action are the index's (migration 4).
	const recorded = `SELECT count(*) FROM alerts_audit WHERE lead_id = $1 AND action = 'captured' AND ` + alerts.CaptureRecordPostgres + ` = $2`
	var wrote bool
	err := s.inTx(ctx, func(tx pgx.Tx) (int, error) {
		// The lead must exist; it is not loaded to learn that.
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM alerts_lead WHERE id = $1)`, leadID).Scan(&exists); err != nil {
			return 0, fmt.Errorf("alerts: capture for lead %s: %w", leadID, err)
		}
		if !exists {
			return 0, fmt.Errorf("alerts: lead %s: %w", leadID, alerts.ErrNotFound)
		}
		var n int
		if err := tx.QueryRow(ctx, recorded, leadID, c.RecordID).Scan(&n); err != nil {
			return 0, fmt.Errorf("alerts: capture for lead %s: %w", leadID, err)
		}
		if n > 0 {
			return 0, nil
		}
		wrote = true
		return 0, insertAudit(ctx, tx, alerts.AuditEntry{LeadID: leadID, At: s.now(), Actor: "riskmine", Action: alerts.ActionCaptured, Note: c.Format()})
	})
	if err != nil {
		return false, err
	}
	return wrote, nil
}

// Stats summarises leads for the dashboard.
func (s *Store) Stats(ctx context.Context) (*alerts.Stats, error) {
	st := &alerts.Stats{ByState: map[string]int{}, ByLevel: map[string]int{}, TopLocations: []alerts.LocationCount{}, MentionsPerDay: []alerts.DayCount{}}
	wrap := func(err error) error { return fmt.Errorf("alerts: stats: %w", err) }
	type kv struct {
		k string
		n int
	}
	scanKV := func(r pgx.CollectableRow) (kv, error) {
		var p kv
		return p, r.Scan(&p.k, &p.n)
	}
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM alerts_lead GROUP BY state`)
	if err != nil {
		return nil, wrap(err)
	}
	byState, err := pgx.CollectRows(rows, scanKV)
	if err != nil {
		return nil, wrap(err)
	}
	for _, p := range byState {
		st.ByState[p.k] = p.n
		if alerts.IsOpen(p.k) {
			st.Open += p.n
		}
	}
	rows, err = s.pool.Query(ctx, `SELECT level, count(*) FROM alerts_lead WHERE state = ANY($1) GROUP BY level`, s.open)
	if err != nil {
		return nil, wrap(err)
	}
	byLevel, err := pgx.CollectRows(rows, scanKV)
	if err != nil {
		return nil, wrap(err)
	}
	for _, p := range byLevel {
		st.ByLevel[p.k] = p.n
	}
	now := s.now()
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM alerts_lead WHERE state = ANY($1) AND due_at < $2`, s.open, now).Scan(&st.Overdue); err != nil {
		return nil, wrap(err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE due_at IS NULL OR closed_at <= due_at)
		FROM alerts_lead WHERE state = 'closed'`).Scan(&st.Closed, &st.ClosedOnTime); err != nil {
		return nil, wrap(err)
	}
	if st.Closed > 0 {
		st.OnTimeRate = float64(st.ClosedOnTime) / float64(st.Closed)
	}
	rows, err = s.pool.Query(ctx, `SELECT ll.code, max(ll.name), count(*) AS n FROM alerts_lead_location ll
		JOIN alerts_lead l ON l.id = ll.lead_id WHERE l.state = ANY($1)
		GROUP BY ll.code ORDER BY n DESC, ll.code LIMIT 10`, s.open)
	if err != nil {
		return nil, wrap(err)
	}
	st.TopLocations, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.LocationCount, error) {
		var lc alerts.LocationCount
		return lc, r.Scan(&lc.Code, &lc.Name, &lc.Leads)
	})
	if err != nil {
		return nil, wrap(err)
	}
	if st.TopLocations == nil {
		st.TopLocations = []alerts.LocationCount{}
	}
	// Counted in quarter hours (every zone's offset is a multiple of 15
	// minutes) and folded into days of the store's zone here, as SQLite's
	// store does.
	rows, err = s.pool.Query(ctx, `SELECT floor(extract(epoch FROM seen_at) / 900)::bigint AS q, category, count(*) FROM alerts_source
		WHERE seen_at >= $1 GROUP BY q, category`, now.Add(-30*24*time.Hour))
	if err != nil {
		return nil, wrap(err)
	}
	type dayCat struct{ day, cat string }
	counts := map[dayCat]int{}
	type qc struct {
		q   int64
		cat string
		n   int
	}
	qs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (qc, error) {
		var v qc
		return v, r.Scan(&v.q, &v.cat, &v.n)
	})
	if err != nil {
		return nil, wrap(err)
	}
	for _, v := range qs {
		counts[dayCat{time.Unix(v.q*900, 0).In(s.loc()).Format("2006-01-02"), v.cat}] += v.n
	}
	for k, n := range counts {
		st.MentionsPerDay = append(st.MentionsPerDay, alerts.DayCount{Day: k.day, Category: k.cat, Count: n})
	}
	slices.SortFunc(st.MentionsPerDay, func(a, b alerts.DayCount) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.Category, b.Category))
	})
	return st, nil
}

// RuleStats returns, per lexicon rule, its leads, how many were confirmed
// (or went further) and how many dismissed; most used rules first.
func (s *Store) RuleStats(ctx context.Context) ([]alerts.RuleStat, error) {
	rows, err := s.pool.Query(ctx, `SELECT r.rule, count(*),
		count(*) FILTER (WHERE l.state = ANY($1)), count(*) FILTER (WHERE l.state = 'dismissed')
		FROM alerts_lead_rule r JOIN alerts_lead l ON l.id = r.lead_id
		GROUP BY r.rule ORDER BY count(*) DESC, r.rule`, alerts.PositiveStates())
	if err != nil {
		return nil, fmt.Errorf("alerts: rule stats: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.RuleStat, error) {
		var rs alerts.RuleStat
		if err := r.Scan(&rs.Rule, &rs.Leads, &rs.Confirmed, &rs.Dismissed); err != nil {
			return rs, err
		}
		rs.Precision = -1
		if rs.Confirmed+rs.Dismissed > 0 {
			rs.Precision = float64(rs.Confirmed) / float64(rs.Confirmed+rs.Dismissed)
		}
		return rs, nil
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: rule stats: %w", err)
	}
	if out == nil {
		out = []alerts.RuleStat{}
	}
	return out, nil
}

// Verdicts lists the reviewed leads as training examples (see
// alerts.DismissalIsNegative), oldest review first.
func (s *Store) Verdicts(ctx context.Context) ([]alerts.Verdict, error) {
	states := append(alerts.PositiveStates(), alerts.StateDismissed)
	rows, err := s.pool.Query(ctx, `SELECT l.id, l.top_category, l.state, l.resolution, l.updated_at, s.title, s.snippet
		FROM alerts_lead l JOIN LATERAL (SELECT title, snippet FROM alerts_source WHERE lead_id = l.id ORDER BY id LIMIT 1) s ON true
		WHERE l.state = ANY($1) ORDER BY l.updated_at, l.id`, states)
	if err != nil {
		return nil, fmt.Errorf("alerts: verdicts: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.Verdict, error) {
		var v alerts.Verdict
		err := r.Scan(&v.LeadID, &v.Category, &v.State, &v.Reason, &v.At, &v.Title, &v.Text)
		v.At = s.at(v.At)
		v.Positive = v.State != alerts.StateDismissed
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: verdicts: %w", err)
	}
	var out []alerts.Verdict
	for _, v := range all {
		if v.Positive || alerts.DismissalIsNegative(v.Reason) {
			out = append(out, v)
		}
	}
	return out, nil
}
