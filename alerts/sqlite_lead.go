package alerts

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"time"
)

// GetLead returns a lead with all its sources (newest first) and notes.
func (s *SQLStore) GetLead(ctx context.Context, id string) (*Lead, error) {
	l, _, err := s.GetLeadWindow(ctx, id, SourceWindow{})
	return l, err
}

// GetLeadWindow implements Store.
func (s *SQLStore) GetLeadWindow(ctx context.Context, id string, w SourceWindow) (*Lead, int, error) {
	l, err := s.scanLead(s.r.QueryRowContext(ctx, `SELECT `+leadCols+` FROM alerts_lead WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("alerts: lead %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: load lead %s: %w", id, err)
	}
	// A burst's counted posts, and the posts of leads merged into it.
	var total int
	l.Sources, total, err = ReadSourceWindow(w, l.Kind == KindBurst, func(burst bool) (n int, err error) {
		table := "alerts_source"
		if burst {
			table = "alerts_burst_post"
		}
		err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE lead_id = ?`, id).Scan(&n)
		return n, err
	}, func(burst bool, w SourceWindow) ([]Source, error) {
		if burst {
			return s.burstSources(ctx, s.r.QueryContext, id, w)
		}
		return s.sources(ctx, s.r.QueryContext, id, w)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: load sources of lead %s: %w", id, err)
	}
	if l.Notes, err = s.notes(ctx, id); err != nil {
		return nil, 0, err
	}
	return l, total, nil
}

// notes loads a lead's notes, oldest first.
func (s *SQLStore) notes(ctx context.Context, id string) ([]Note, error) {
	var out []Note
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, actor, text FROM alerts_note WHERE lead_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("alerts: load notes of lead %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var n Note
		var at int64
		if err := rows.Scan(&n.ID, &at, &n.Actor, &n.Text); err != nil {
			return nil, fmt.Errorf("alerts: load notes of lead %s: %w", id, err)
		}
		n.At = s.at(at)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: load notes of lead %s: %w", id, err)
	}
	return out, nil
}

var leadSorts = map[string]string{
	"":           "last_seen DESC, id DESC",
	"last_seen":  "last_seen DESC, id DESC",
	"first_seen": "first_seen DESC, id DESC",
	"level":      "level_rank DESC, last_seen DESC, id DESC",
	"score":      "score DESC, id DESC",
	"due":        "CASE WHEN due_at = 0 THEN 1 ELSE 0 END, due_at ASC, id",
	"sources":    "source_count DESC, id DESC",
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// ListLeads returns one page of the leads matching f and the total count.
func (s *SQLStore) ListLeads(ctx context.Context, f LeadFilter) ([]Lead, int, error) {
	order, ok := leadSorts[f.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("alerts: list leads: unknown sort %q, expected last_seen, first_seen, level, score, due or sources: %w", f.Sort, ErrInvalid)
	}
	var where []string
	var args []any
	in := func(col string, vals []string) {
		where = append(where, col+" IN ("+placeholders(len(vals))+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(f.States) > 0 {
		in("state", f.States)
	}
	if len(f.Levels) > 0 {
		in("level", f.Levels)
	}
	if len(f.Categories) > 0 {
		where = append(where, "id IN (SELECT lead_id FROM alerts_lead_category WHERE code IN ("+placeholders(len(f.Categories))+"))")
		for _, v := range f.Categories {
			args = append(args, v)
		}
	}
	if f.LocationPrefix != "" {
		where = append(where, "id IN (SELECT lead_id FROM alerts_lead_location WHERE code >= ? AND code < ?)")
		args = append(args, f.LocationPrefix, f.LocationPrefix+"\xff")
	}
	if f.Assignee != "" {
		where = append(where, "assignee = ?")
		args = append(args, f.Assignee)
	}
	if f.Overdue {
		where = append(where, "state IN "+openStatesSQL+" AND due_at > 0 AND due_at < ?")
		args = append(args, ms(s.now()))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		where = append(where, "(instr(title, ?) > 0 OR instr(summary, ?) > 0)")
		args = append(args, q, q)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM alerts_lead`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("alerts: count leads: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 1000 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+leadCols+` FROM alerts_lead`+cond+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: list leads: %w", err)
	}
	defer rows.Close()
	out := []Lead{}
	for rows.Next() {
		l, err := s.scanLead(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("alerts: list leads: %w", err)
		}
		out = append(out, *l)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("alerts: list leads: %w", err)
	}
	return out, total, nil
}

// SimilarLeads returns other leads (any state) that look like the same
// incident: a simhash sharing a band within twice the join distance, or
// the same top category and county within ten cluster windows. Closest
// simhash first, then most recent.
func (s *SQLStore) SimilarLeads(ctx context.Context, id string, limit int) ([]Lead, error) {
	l, err := s.GetLead(ctx, id)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 10
	}
	type cand struct {
		lead *Lead
		dist int
	}
	found := map[string]*cand{}
	if l.SimHash != 0 {
		for b, v := range s.bandValues(l.SimHash) {
			rows, err := s.r.QueryContext(ctx, `SELECT `+prefixCols("l.")+` FROM alerts_band b JOIN alerts_lead l ON l.id = b.lead_id
				WHERE b.band = ? AND b.value = ? AND l.id != ? LIMIT 200`, b, v, id)
			if err != nil {
				return nil, fmt.Errorf("alerts: similar leads of %s: %w", id, err)
			}
			for rows.Next() {
				o, err := s.scanLead(rows)
				if err != nil {
					rows.Close()
					return nil, fmt.Errorf("alerts: similar leads of %s: %w", id, err)
				}
				d := bits.OnesCount64(o.SimHash ^ l.SimHash)
				if d <= 2*s.opts.SimhashDistance+2 {
					if c, ok := found[o.ID]; !ok || d < c.dist {
						found[o.ID] = &cand{o, d}
					}
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("alerts: similar leads of %s: %w", id, err)
			}
		}
	}
	if county := leadCounty(l); county != "" && l.TopCategory() != "" {
		w := 10 * s.opts.ClusterWindow
		rows, err := s.r.QueryContext(ctx, `SELECT `+leadCols+` FROM alerts_lead WHERE top_category = ? AND county = ?
			AND last_seen >= ? AND first_seen <= ? AND id != ? ORDER BY last_seen DESC LIMIT 50`,
			l.TopCategory(), county, ms(l.FirstSeen.Add(-w)), ms(l.LastSeen.Add(w)), id)
		if err != nil {
			return nil, fmt.Errorf("alerts: similar leads of %s: %w", id, err)
		}
		for rows.Next() {
			o, err := s.scanLead(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("alerts: similar leads of %s: %w", id, err)
			}
			if _, ok := found[o.ID]; !ok {
				found[o.ID] = &cand{o, 65}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("alerts: similar leads of %s: %w", id, err)
		}
	}
	list := make([]*cand, 0, len(found))
	for _, c := range found {
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].dist != list[j].dist {
			return list[i].dist < list[j].dist
		}
		return list[i].lead.LastSeen.After(list[j].lead.LastSeen)
	})
	out := []Lead{}
	for i := 0; i < len(list) && i < limit; i++ {
		out = append(out, *list[i].lead)
	}
	return out, nil
}

func prefixCols(p string) string {
	parts := strings.Split(leadCols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// Transition moves a lead to another state, checking the version the actor
// saw (0 skips the check), recording the audit entry and queueing the
// state-changed webhooks in one transaction. Merging moves the lead's
// sources to the target lead. The decisions are Transit and Merge.
func (s *SQLStore) Transition(ctx context.Context, id string, req TransitionRequest) (*Lead, error) {
	var out *Lead
	err := s.inLeadTx(ctx, "transition", id, func(tx LeadTx) (n int, err error) {
		out, n, err = transitionIn(ctx, tx, id, req, s.now(), s.opts.SLA)
		return n, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Assign sets a lead's assignee (a version-checked, audited change; the
// decision is Reassign).
func (s *SQLStore) Assign(ctx context.Context, id string, req AssignRequest) (*Lead, error) {
	var out *Lead
	err := s.inLeadTx(ctx, "assign", id, func(tx LeadTx) (n int, err error) {
		out, n, err = assignIn(ctx, tx, id, req, s.now())
		return n, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AddNote adds an analyst's note (audited). Notes do not bump the version:
// they never conflict with a review.
func (s *SQLStore) AddNote(ctx context.Context, id, actor, text string) (*Lead, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, fmt.Errorf("alerts: note on lead %s is empty: %w", id, ErrInvalid)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("alerts: note on lead %s: %w", id, err)
	}
	defer tx.Rollback()
	if _, err := s.loadLeadTx(ctx, tx, id); err != nil {
		return nil, err
	}
	now := s.now()
	actor = actorOr(actor)
	if _, err := s.exec(ctx, tx, `INSERT INTO alerts_note(lead_id, at, actor, text) VALUES (?,?,?,?)`, id, ms(now), actor, text); err != nil {
		return nil, fmt.Errorf("alerts: note on lead %s: %w", id, err)
	}
	if err := s.audit(ctx, tx, id, now, actor, "note", "", "", text); err != nil {
		return nil, fmt.Errorf("alerts: note on lead %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("alerts: note on lead %s: %w", id, err)
	}
	return s.GetLead(ctx, id)
}

// Stats summarises leads for the dashboard.
func (s *SQLStore) Stats(ctx context.Context) (*Stats, error) {
	st := &Stats{ByState: map[string]int{}, ByLevel: map[string]int{}, TopLocations: []LocationCount{}, MentionsPerDay: []DayCount{}}
	wrap := func(err error) error { return fmt.Errorf("alerts: stats: %w", err) }
	rows, err := s.r.QueryContext(ctx, `SELECT state, count(*) FROM alerts_lead GROUP BY state`)
	if err != nil {
		return nil, wrap(err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			return nil, wrap(err)
		}
		st.ByState[k] = n
		if IsOpen(k) {
			st.Open += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	rows, err = s.r.QueryContext(ctx, `SELECT level, count(*) FROM alerts_lead WHERE state IN `+openStatesSQL+` GROUP BY level`)
	if err != nil {
		return nil, wrap(err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			rows.Close()
			return nil, wrap(err)
		}
		st.ByLevel[k] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	now := s.now()
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM alerts_lead WHERE state IN `+openStatesSQL+` AND due_at > 0 AND due_at < ?`, ms(now)).Scan(&st.Overdue); err != nil {
		return nil, wrap(err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(due_at = 0 OR closed_at <= due_at), 0) FROM alerts_lead WHERE state = 'closed'`).Scan(&st.Closed, &st.ClosedOnTime); err != nil {
		return nil, wrap(err)
	}
	if st.Closed > 0 {
		st.OnTimeRate = float64(st.ClosedOnTime) / float64(st.Closed)
	}
	rows, err = s.r.QueryContext(ctx, `SELECT ll.code, max(ll.name), count(*) AS n FROM alerts_lead_location ll
		JOIN alerts_lead l ON l.id = ll.lead_id WHERE l.state IN `+openStatesSQL+`
		GROUP BY ll.code ORDER BY n DESC, ll.code LIMIT 10`)
	if err != nil {
		return nil, wrap(err)
	}
	for rows.Next() {
		var lc LocationCount
		if err := rows.Scan(&lc.Code, &lc.Name, &lc.Leads); err != nil {
			rows.Close()
			return nil, wrap(err)
		}
		st.TopLocations = append(st.TopLocations, lc)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	// Count in quarter hours (every zone's offset is a multiple of 15
	// minutes) and fold them into days of the store's zone here, so a post
	// seen at 23:30 local time counts on its local day.
	const quarter = 15 * 60 * 1000
	rows, err = s.r.QueryContext(ctx, `SELECT seen_at / ? AS q, category, count(*) FROM alerts_source
		WHERE seen_at >= ? GROUP BY q, category ORDER BY q, category`, quarter, ms(now.Add(-30*24*time.Hour)))
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	type dayCat struct{ day, cat string }
	counts := map[dayCat]int{}
	for rows.Next() {
		var q int64
		var cat string
		var n int
		if err := rows.Scan(&q, &cat, &n); err != nil {
			return nil, wrap(err)
		}
		counts[dayCat{s.at(q * quarter).Format("2006-01-02"), cat}] += n
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	for k, n := range counts {
		st.MentionsPerDay = append(st.MentionsPerDay, DayCount{Day: k.day, Category: k.cat, Count: n})
	}
	slices.SortFunc(st.MentionsPerDay, func(a, b DayCount) int {
		return cmp.Or(strings.Compare(a.Day, b.Day), strings.Compare(a.Category, b.Category))
	})
	return st, nil
}

// RuleStats returns, for each lexicon rule that contributed evidence to a
// lead, how many of its leads were confirmed (or went further) and how
// many were dismissed; most used rules first.
func (s *SQLStore) RuleStats(ctx context.Context) ([]RuleStat, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT r.rule, count(*),
		coalesce(sum(l.state IN ('confirmed','dispatched','handled','verified','closed')), 0),
		coalesce(sum(l.state = 'dismissed'), 0)
		FROM alerts_lead_rule r JOIN alerts_lead l ON l.id = r.lead_id
		GROUP BY r.rule ORDER BY count(*) DESC, r.rule`)
	if err != nil {
		return nil, fmt.Errorf("alerts: rule stats: %w", err)
	}
	defer rows.Close()
	out := []RuleStat{}
	for rows.Next() {
		var r RuleStat
		if err := rows.Scan(&r.Rule, &r.Leads, &r.Confirmed, &r.Dismissed); err != nil {
			return nil, fmt.Errorf("alerts: rule stats: %w", err)
		}
		r.Precision = -1
		if r.Confirmed+r.Dismissed > 0 {
			r.Precision = float64(r.Confirmed) / float64(r.Confirmed+r.Dismissed)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
