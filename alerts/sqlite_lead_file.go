package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
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
	c, canon, seen, at, now := r.c, r.canon, r.seen, r.at, r.now
	var existing string
	err := s.queryRow(ctx, tx, `SELECT lead_id FROM alerts_source WHERE canonical_url = ?`, canon).Scan(&existing)
	if err == nil {
		return FileResult{LeadID: existing, Outcome: OutcomeDuplicate}, 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return FileResult{}, 0, err
	}
	l, err := s.findCluster(ctx, tx, &c, at)
	if err != nil {
		return FileResult{}, 0, err
	}
	var res FileResult
	event := EventLeadUpdated
	if l == nil {
		l = s.newLead(&c, at, now)
		if err := s.insertLead(ctx, tx, l); err != nil {
			return FileResult{}, 0, err
		}
		if err := s.audit(ctx, tx, l.ID, now, "riskmine", "created", "", StateNew, canon); err != nil {
			return FileResult{}, 0, err
		}
		res = FileResult{LeadID: l.ID, Outcome: OutcomeCreated}
		event = EventLeadCreated
		ev := leadEventOf(l)
		r.created = &ev
	} else {
		s.applyCandidate(l, &c, at, now)
		if err := s.updateLeadFiling(ctx, tx, l); err != nil {
			return FileResult{}, 0, err
		}
		if err := s.audit(ctx, tx, l.ID, now, "riskmine", "joined", "", "", canon); err != nil {
			return FileResult{}, 0, err
		}
		res = FileResult{LeadID: l.ID, Outcome: OutcomeJoined}
	}
	if err := s.insertSource(ctx, tx, l.ID, &c, canon, seen, event == EventLeadCreated); err != nil {
		return FileResult{}, 0, err
	}
	if err := s.insertLeadFacets(ctx, tx, l.ID, &c); err != nil {
		return FileResult{}, 0, err
	}
	var first []Source
	if event == EventLeadCreated {
		// The new lead's only source is this post: no need to read it back.
		src := Source{URL: c.URL, CanonicalURL: canon, Site: c.Site, Source: c.Source, Title: c.Title,
			Snippet: truncateRunes(c.Snippet, SourceTextRunes), SeenAt: seen.UTC(), Level: c.Level, Score: c.Score,
			Category: topCategory(c.Categories), Evidence: c.Evidence}
		if !c.PublishedAt.IsZero() {
			p := c.PublishedAt.UTC()
			src.PublishedAt = &p
		}
		if src.Evidence == nil {
			src.Evidence = []Evidence{}
		}
		first = []Source{src}
	}
	n, err := s.enqueue(ctx, tx, event, l, first)
	if err != nil {
		return FileResult{}, 0, err
	}
	return res, n, nil
}

// counties returns the distinct county-level prefixes (6 digits) of codes.
func counties(codes []string) []string {
	var out []string
	for _, c := range codes {
		if len(c) >= 6 {
			k := c[:6]
			if !contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// sharedTerms counts terms present in both lists.
func sharedTerms(a, b []string) int {
	set := make(map[string]bool, len(a))
	for _, t := range a {
		set[t] = true
	}
	n := 0
	for _, t := range b {
		if set[t] {
			n++
			delete(set, t)
		}
	}
	return n
}

// findCluster returns the open lead c belongs to, or nil. A near-duplicate
// simhash wins; otherwise the lead of the same top category and county
// within the window sharing the most salient terms.
func (s *SQLStore) findCluster(ctx context.Context, tx *sql.Tx, c *Candidate, at time.Time) (*Lead, error) {
	if c.SimHash != 0 {
		bestID, bestD := "", 65
		vals := s.bandValues(c.SimHash)
		args := make([]any, 0, 2*len(vals))
		for b, v := range vals {
			args = append(args, b, v)
		}
		// One statement for all bands: SQLite answers the OR with one index
		// lookup per band.
		rows, err := s.query(ctx, tx, `SELECT b.lead_id, b.simhash FROM alerts_band b JOIN alerts_lead l ON l.id = b.lead_id
			WHERE (`+s.bandMatch+`) AND l.state IN `+openStatesSQL, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			var h int64
			if err := rows.Scan(&id, &h); err != nil {
				rows.Close()
				return nil, err
			}
			if d := bits.OnesCount64(uint64(h) ^ c.SimHash); d <= s.opts.SimhashDistance && (d < bestD || d == bestD && id > bestID) {
				bestID, bestD = id, d
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if bestID != "" {
			return s.loadLeadTx(ctx, tx, bestID)
		}
	}
	top := topCategory(c.Categories)
	cs := counties(c.LocationCodes)
	if top == "" || len(cs) == 0 || len(c.Terms) == 0 {
		return nil, nil
	}
	w := s.opts.ClusterWindow
	bestID, bestShared := "", 0
	for _, county := range cs {
		rows, err := s.query(ctx, tx, `SELECT id, first_seen, terms FROM alerts_lead
			WHERE top_category = ? AND county = ? AND last_seen >= ? AND state IN `+openStatesSQL+`
			ORDER BY last_seen DESC LIMIT 50`, top, county, ms(at.Add(-w)))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, termsJSON string
			var first int64
			if err := rows.Scan(&id, &first, &termsJSON); err != nil {
				rows.Close()
				return nil, err
			}
			if at.Before(fromMS(first).Add(-w)) {
				continue
			}
			var terms []string
			if err := json.Unmarshal([]byte(termsJSON), &terms); err != nil {
				rows.Close()
				return nil, fmt.Errorf("decode terms of lead %s: %w", id, err)
			}
			need := min(s.opts.MinSharedTerms, len(terms), len(c.Terms))
			if n := sharedTerms(terms, c.Terms); need > 0 && n >= need && n > bestShared {
				bestID, bestShared = id, n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if bestID == "" {
		return nil, nil
	}
	return s.loadLeadTx(ctx, tx, bestID)
}

// SourceTextRunes is how much of a post's text a lead keeps on its source
// entry: enough for the evidence of a typical post to be shown in place.
const SourceTextRunes = 4000

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

const (
	maxLeadTerms     = 64
	maxLeadLocations = 20
)

func (s *SQLStore) newLead(c *Candidate, at, now time.Time) *Lead {
	title := strings.TrimSpace(c.Title)
	if title == "" {
		title = truncateRunes(strings.TrimSpace(c.Snippet), 60)
	}
	l := &Lead{
		ID:          newID(now),
		Title:       title,
		Summary:     truncateRunes(strings.TrimSpace(c.Snippet), 300),
		Level:       c.Level,
		Score:       c.Score,
		SimHash:     c.SimHash,
		FirstSeen:   at.UTC(),
		LastSeen:    at.UTC(),
		SourceCount: 1,
		State:       StateNew,
		CreatedAt:   now.UTC(),
		UpdatedAt:   now.UTC(),
		Version:     1,
		Categories:  []CategoryScore{},
		Locations:   []Location{},
		Terms:       []string{},
	}
	l.Categories = mergeCategories(l.Categories, c.Categories)
	l.Locations = mergeLocations(l.Locations, c.LocationCodes, c.LocationNames)
	l.Place, l.PlaceCode = c.Place, c.PlaceCode
	l.Terms = mergeTerms(l.Terms, c.Terms)
	if d, ok := s.opts.SLA[l.Level]; ok {
		due := now.Add(d).UTC()
		l.DueAt = &due
	}
	return l
}

func mergeCategories(have, add []CategoryScore) []CategoryScore {
	for _, a := range add {
		found := false
		for i := range have {
			if have[i].Code == a.Code {
				found = true
				if a.Score > have[i].Score {
					have[i].Score = a.Score
				}
			}
		}
		if !found && a.Code != "" {
			have = append(have, a)
		}
	}
	sort.SliceStable(have, func(i, j int) bool { return have[i].Score > have[j].Score })
	return have
}

func mergeLocations(have []Location, codes, names []string) []Location {
	for i, code := range codes {
		if code == "" || len(have) >= maxLeadLocations {
			continue
		}
		found := false
		for _, h := range have {
			if h.Code == code {
				found = true
			}
		}
		if !found {
			name := ""
			if i < len(names) {
				name = names[i]
			}
			have = append(have, Location{Code: code, Name: name})
		}
	}
	return have
}

// mergePlace keeps a lead's place: the first post that names the spot is
// the report of the scene; a later post replaces it only when none was
// named or when it writes the same spot more fully (…交叉口东侧 →
// …交叉口东侧25米), whatever order the posts were filed in.
func mergePlace(have, haveCode, add, addCode string) (string, string) {
	if add != "" && (have == "" || add != have && strings.Contains(add, have)) {
		if addCode == "" {
			addCode = haveCode
		}
		return add, addCode
	}
	return have, haveCode
}

func mergeTerms(have, add []string) []string {
	for _, t := range add {
		if t != "" && len(have) < maxLeadTerms && !contains(have, t) {
			have = append(have, t)
		}
	}
	return have
}

// applyCandidate folds a joining post into its lead: never lowers the level.
func (s *SQLStore) applyCandidate(l *Lead, c *Candidate, at, now time.Time) {
	l.SourceCount++
	l.Level = maxLevel(l.Level, c.Level)
	if c.Score > l.Score {
		l.Score = c.Score
	}
	if at.Before(l.FirstSeen) {
		l.FirstSeen = at.UTC()
	}
	if at.After(l.LastSeen) {
		l.LastSeen = at.UTC()
	}
	l.Categories = mergeCategories(l.Categories, c.Categories)
	l.Locations = mergeLocations(l.Locations, c.LocationCodes, c.LocationNames)
	l.Place, l.PlaceCode = mergePlace(l.Place, l.PlaceCode, c.Place, c.PlaceCode)
	l.Terms = mergeTerms(l.Terms, c.Terms)
	s.tightenDue(l)
	l.UpdatedAt = now.UTC()
}

// tightenDue moves the due time earlier when the level rose.
func (s *SQLStore) tightenDue(l *Lead) {
	if d, ok := s.opts.SLA[l.Level]; ok {
		due := l.CreatedAt.Add(d)
		if l.DueAt == nil || due.Before(*l.DueAt) {
			l.DueAt = &due
		}
	}
}

func leadCounty(l *Lead) string {
	codes := make([]string, len(l.Locations))
	for i, loc := range l.Locations {
		codes[i] = loc.Code
	}
	if cs := counties(codes); len(cs) > 0 {
		return cs[0]
	}
	return ""
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
		published_at, seen_at, level, score, category, simhash, evidence) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		leadID, c.URL, canon, c.Site, c.Source, c.Title, truncateRunes(c.Snippet, SourceTextRunes), ms(c.PublishedAt), ms(seen),
		c.Level, c.Score, topCategory(c.Categories), int64(c.SimHash), jsonText(ev))
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
		}, l.ID, payloadSources)
		if err != nil {
			return 0, err
		}
	}
	if srcs == nil {
		srcs, err = s.sources(ctx, func(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
			return s.query(ctx, tx, q, args...)
		}, l.ID, payloadSources)
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

// sources loads a lead's sources, newest first; limit 0 means all.
// queryFunc runs a query on a pool or in a transaction.
type queryFunc func(ctx context.Context, query string, args ...any) (*sql.Rows, error)

func (s *SQLStore) sources(ctx context.Context, q queryFunc, leadID string, limit int) ([]Source, error) {
	query := `SELECT id, url, canonical_url, site, source, title, snippet, published_at, seen_at, level, score, category, evidence
		FROM alerts_source WHERE lead_id = ? ORDER BY seen_at DESC, id DESC`
	args := []any{leadID}
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := q(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		var src Source
		var pub, seen int64
		var ev string
		if err := rows.Scan(&src.ID, &src.URL, &src.CanonicalURL, &src.Site, &src.Source, &src.Title, &src.Snippet,
			&pub, &seen, &src.Level, &src.Score, &src.Category, &ev); err != nil {
			return nil, err
		}
		src.PublishedAt = s.atPtr(pub)
		src.SeenAt = s.at(seen)
		if err := json.Unmarshal([]byte(ev), &src.Evidence); err != nil {
			return nil, fmt.Errorf("decode evidence of source %d: %w", src.ID, err)
		}
		out = append(out, src)
	}
	return out, rows.Err()
}
