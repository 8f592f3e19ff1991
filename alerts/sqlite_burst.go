package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// burstMigration adds burst leads: a lead's kind and burst explanation,
// and the posts counted per category and county (one row per post and
// series; a burst lead's posts point at it).
const burstMigration = `ALTER TABLE alerts_lead ADD COLUMN kind TEXT NOT NULL DEFAULT '';
	ALTER TABLE alerts_lead ADD COLUMN burst TEXT NOT NULL DEFAULT '';
	CREATE INDEX alerts_lead_burst ON alerts_lead(kind, top_category, county, last_seen) WHERE kind != '';
	CREATE TABLE alerts_burst_post (
		id INTEGER PRIMARY KEY,
		category TEXT NOT NULL,
		county TEXT NOT NULL,
		county_name TEXT NOT NULL,
		at INTEGER NOT NULL,
		canonical_url TEXT NOT NULL,
		url TEXT NOT NULL,
		site TEXT NOT NULL,
		source TEXT NOT NULL,
		title TEXT NOT NULL,
		snippet TEXT NOT NULL,
		seen_at INTEGER NOT NULL,
		level TEXT NOT NULL,
		score REAL NOT NULL,
		lead_id TEXT NOT NULL DEFAULT '',
		UNIQUE (category, county, canonical_url)
	);
	CREATE INDEX alerts_burst_post_series ON alerts_burst_post(category, county, at);
	CREATE INDEX alerts_burst_post_at ON alerts_burst_post(at);
	CREATE INDEX alerts_burst_post_lead ON alerts_burst_post(lead_id) WHERE lead_id != '';`

// burstSnippetRunes is how much text a counted post keeps: enough for a
// burst lead's list of posts.
const burstSnippetRunes = 300

// RecordBurstPost counts a post in each of its category × county series.
// A post already counted in a series (by canonical URL) is not counted
// again. The first post recorded starts the burst history (BurstSince).
func (s *SQLStore) RecordBurstPost(ctx context.Context, p BurstPost) error {
	p, err := PrepareBurstPost(p, s.now())
	if err != nil {
		return err
	}
	if len(p.Categories) == 0 || len(p.Counties) == 0 {
		return nil
	}
	canon := p.CanonicalURL
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alerts: burst post %s: %w", canon, err)
	}
	defer tx.Rollback()
	for _, cat := range p.Categories {
		for i, county := range p.Counties {
			name := ""
			if i < len(p.CountyNames) {
				name = p.CountyNames[i]
			}
			if _, err := s.exec(ctx, tx, `INSERT OR IGNORE INTO alerts_burst_post(category, county, county_name, at, canonical_url, url,
				site, source, title, snippet, seen_at, level, score) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
				cat, county, name, ms(p.At), canon, p.URL, p.Site, p.Source, p.Title, p.Snippet,
				ms(p.SeenAt), p.Level, p.Score); err != nil {
				return fmt.Errorf("alerts: burst post %s: %w", canon, err)
			}
		}
	}
	if _, err := s.exec(ctx, tx, `INSERT OR IGNORE INTO alerts_meta(key, value) VALUES ('burst_since', ?)`, strconv.FormatInt(ms(s.now()), 10)); err != nil {
		return fmt.Errorf("alerts: burst post %s: %w", canon, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("alerts: burst post %s: %w", canon, err)
	}
	return nil
}

// BurstSince returns when the first burst post was recorded: the start of
// every series' history (zero when none was).
func (s *SQLStore) BurstSince(ctx context.Context) (time.Time, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM alerts_meta WHERE key = 'burst_since'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("alerts: burst history start: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("alerts: burst history start %q: %w", v, err)
	}
	return fromMS(n), nil
}

// BurstSeriesSince lists the series with at least minPosts posts in
// (from, to], busiest first.
func (s *SQLStore) BurstSeriesSince(ctx context.Context, from, to time.Time, minPosts int) ([]BurstSeries, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT category, county, max(county_name), count(*) AS n FROM alerts_burst_post
		WHERE at > ? AND at <= ? GROUP BY category, county HAVING n >= ? ORDER BY n DESC, category, county`, ms(from), ms(to), max(minPosts, 1))
	if err != nil {
		return nil, fmt.Errorf("alerts: burst series: %w", err)
	}
	defer rows.Close()
	var out []BurstSeries
	for rows.Next() {
		var b BurstSeries
		if err := rows.Scan(&b.Category, &b.County, &b.CountyName, &b.Posts); err != nil {
			return nil, fmt.Errorf("alerts: burst series: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: burst series: %w", err)
	}
	return out, nil
}

// BurstHistory returns the times of a series' posts in [from, to], oldest
// first.
func (s *SQLStore) BurstHistory(ctx context.Context, category, county string, from, to time.Time) ([]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT at FROM alerts_burst_post WHERE category = ? AND county = ? AND at >= ? AND at <= ? ORDER BY at`,
		category, county, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("alerts: burst history %s/%s: %w", category, county, err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, fmt.Errorf("alerts: burst history %s/%s: %w", category, county, err)
		}
		out = append(out, fromMS(at))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: burst history %s/%s: %w", category, county, err)
	}
	return out, nil
}

// LastBurst returns the series' latest burst lead and the time of its
// newest post ("" and zero when the series never burst).
func (s *SQLStore) LastBurst(ctx context.Context, category, county string) (string, time.Time, error) {
	var id string
	var last int64
	err := s.r.QueryRowContext(ctx, `SELECT id, last_seen FROM alerts_lead WHERE kind = ? AND top_category = ? AND county = ?
		ORDER BY last_seen DESC LIMIT 1`, KindBurst, category, county).Scan(&id, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("alerts: last burst %s/%s: %w", category, county, err)
	}
	return id, fromMS(last), nil
}

// PruneBurstPosts deletes the counted posts from before cutoff that are
// on no burst lead (a burst lead keeps its posts). It returns how many.
func (s *SQLStore) PruneBurstPosts(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM alerts_burst_post WHERE at < ? AND lead_id = ''`, ms(cutoff))
	if err != nil {
		return 0, fmt.Errorf("alerts: prune burst posts: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// FileBurst files a burst a scan found: a new burst lead with the window's
// posts, or (f.New false) the window's posts not yet on a burst lead added
// to the series' latest one. The lead, its posts, the audit entry and the
// webhook outbox rows (for endpoints that opt in to bursts) commit
// together. A scan that finds no new post for an existing burst changes
// nothing and returns OutcomeDuplicate.
func (s *SQLStore) FileBurst(ctx context.Context, f BurstFiling) (FileResult, error) {
	f, err := CheckBurst(f, s.opts)
	if err != nil {
		return FileResult{}, err
	}
	info := f.Info
	name := "burst " + info.Category + "/" + info.County
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return FileResult{}, fmt.Errorf("alerts: file %s: %w", name, err)
	}
	defer tx.Rollback()
	res, queued, err := s.fileBurstTx(ctx, tx, f)
	if err != nil {
		return FileResult{}, fmt.Errorf("alerts: file %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return FileResult{}, fmt.Errorf("alerts: file %s: %w", name, err)
	}
	if queued > 0 {
		s.notify()
	}
	if res.Outcome == OutcomeCreated {
		// The notice is a courtesy: a lead that cannot be read back
		// now is still filed.
		if l, err := s.GetLead(ctx, res.LeadID); err == nil {
			s.leadEvents.Publish(LeadEventOf(l))
		}
	}
	return res, nil
}

func (s *SQLStore) fileBurstTx(ctx context.Context, tx *sql.Tx, f BurstFiling) (FileResult, int, error) {
	info := f.Info
	now := s.now()
	var l *Lead
	if !f.New {
		var id string
		err := s.queryRow(ctx, tx, `SELECT id FROM alerts_lead WHERE kind = ? AND top_category = ? AND county = ?
			ORDER BY last_seen DESC LIMIT 1`, KindBurst, info.Category, info.County).Scan(&id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return FileResult{}, 0, err
		}
		if id != "" {
			if l, err = s.loadLeadTx(ctx, tx, id); err != nil {
				return FileResult{}, 0, err
			}
		}
	}
	// The window's posts on no burst lead yet, oldest first.
	rows, err := s.query(ctx, tx, `SELECT id, at FROM alerts_burst_post
		WHERE category = ? AND county = ? AND at > ? AND at <= ? AND lead_id = '' ORDER BY at, id`,
		info.Category, info.County, ms(info.From), ms(info.To))
	if err != nil {
		return FileResult{}, 0, err
	}
	type post struct {
		id int64
		at time.Time
	}
	var posts []post
	for rows.Next() {
		var p post
		var at int64
		if err := rows.Scan(&p.id, &at); err != nil {
			rows.Close()
			return FileResult{}, 0, err
		}
		p.at = fromMS(at)
		posts = append(posts, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return FileResult{}, 0, err
	}
	if len(posts) == 0 {
		id := ""
		if l != nil {
			id = l.ID
		}
		return FileResult{LeadID: id, Outcome: OutcomeDuplicate}, 0, nil
	}
	event := EventLeadUpdated
	res := FileResult{Outcome: OutcomeJoined}
	if l == nil {
		l = s.newBurstLead(f, now)
		if err := s.insertLead(ctx, tx, l); err != nil {
			return FileResult{}, 0, err
		}
		if err := s.audit(ctx, tx, l.ID, now, "riskmine", "created", "", StateNew, burstNote(info)); err != nil {
			return FileResult{}, 0, err
		}
		event, res.Outcome = EventLeadCreated, OutcomeCreated
		l.SourceCount = 0
	} else {
		StrengthenBurst(l, info)
		if err := s.audit(ctx, tx, l.ID, now, "riskmine", "joined", "", "", burstNote(info)); err != nil {
			return FileResult{}, 0, err
		}
		l.UpdatedAt = now.UTC()
	}
	res.LeadID = l.ID
	for _, p := range posts {
		if _, err := s.exec(ctx, tx, `UPDATE alerts_burst_post SET lead_id = ? WHERE id = ?`, l.ID, p.id); err != nil {
			return FileResult{}, 0, err
		}
		l.SourceCount++
		if p.at.Before(l.FirstSeen) {
			l.FirstSeen = p.at
		}
		if p.at.After(l.LastSeen) {
			l.LastSeen = p.at
		}
	}
	if _, err := s.exec(ctx, tx, `UPDATE alerts_lead SET kind = ?, burst = ?, summary = ?, score = ?, first_seen = ?, last_seen = ?,
		source_count = ?, updated_at = ? WHERE id = ?`, KindBurst, jsonText(l.Burst), l.Summary, l.Score, ms(l.FirstSeen), ms(l.LastSeen),
		l.SourceCount, ms(l.UpdatedAt), l.ID); err != nil {
		return FileResult{}, 0, err
	}
	if _, err := s.exec(ctx, tx, `INSERT OR IGNORE INTO alerts_lead_category(lead_id, code) VALUES (?,?)`, l.ID, info.Category); err != nil {
		return FileResult{}, 0, err
	}
	if _, err := s.exec(ctx, tx, `INSERT OR IGNORE INTO alerts_lead_location(lead_id, code, name) VALUES (?,?,?)`, l.ID, info.County, info.CountyName); err != nil {
		return FileResult{}, 0, err
	}
	s.setOverdue(l)
	n, err := s.enqueue(ctx, tx, event, l, nil)
	if err != nil {
		return FileResult{}, 0, err
	}
	return res, n, nil
}

// newBurstLead builds a burst lead before its posts are added.
func (s *SQLStore) newBurstLead(f BurstFiling, now time.Time) *Lead {
	return NewBurstLead(f, s.opts, now)
}

// burstScore maps the tail probability to 0–10 (10 for one in 10¹⁰).
func burstScore(tail float64) float64 {
	if tail <= 0 {
		return 10
	}
	return math.Round(math.Min(10, -math.Log10(tail))*10) / 10
}

// countyLabel is the county's own name (the last part of its path), else
// its code.
func countyLabel(info BurstInfo) string {
	if info.CountyName == "" {
		return info.County
	}
	parts := strings.Split(info.CountyName, "/")
	return parts[len(parts)-1]
}

// categoryLabel is the category's name, else its code.
func categoryLabel(info BurstInfo) string {
	if info.CategoryName != "" {
		return info.CategoryName
	}
	return info.Category
}

// burstTitle is the lead's title, in the language of the posts.
func burstTitle(info BurstInfo) string {
	return fmt.Sprintf("%s%s类帖文突增", countyLabel(info), categoryLabel(info))
}

func burstSummary(info BurstInfo) string {
	return fmt.Sprintf("%s%s类帖文：%s内 %d 条，基线预期 %.2f 条，阈值 %d 条。", countyLabel(info), categoryLabel(info),
		zhDuration(info.To.Sub(info.From)), info.Seen, info.Expected, info.Threshold)
}

// zhDuration writes a window length in Chinese: 6小时, 90分钟.
func zhDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d小时", d/time.Hour)
	}
	return fmt.Sprintf("%d分钟", d/time.Minute)
}

func burstNote(info BurstInfo) string {
	return fmt.Sprintf("burst %s/%s: %d posts in %s, expected %.2f, threshold %d", info.Category, info.County, info.Seen,
		info.To.Sub(info.From), info.Expected, info.Threshold)
}

// burstSources loads the window w of a burst lead's posts as sources,
// newest first.
func (s *SQLStore) burstSources(ctx context.Context, q queryFunc, leadID string, w SourceWindow) ([]Source, error) {
	query, args := windowed(`SELECT id, url, canonical_url, site, source, title, snippet, at, seen_at, level, score, category
		FROM alerts_burst_post WHERE lead_id = ? ORDER BY at DESC, id DESC`, w, leadID)
	rows, err := q(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Source
	for rows.Next() {
		var src Source
		var at, seen int64
		if err := rows.Scan(&src.ID, &src.URL, &src.CanonicalURL, &src.Site, &src.Source, &src.Title, &src.Snippet,
			&at, &seen, &src.Level, &src.Score, &src.Category); err != nil {
			return nil, err
		}
		src.PublishedAt = s.atPtr(at)
		src.SeenAt = s.at(seen)
		src.Evidence, src.LevelCues = []Evidence{}, []LevelCue{}
		out = append(out, src)
	}
	return out, rows.Err()
}
