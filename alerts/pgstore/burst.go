package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmine/alerts"
)

// The burst counts and burst leads: what pipeline.BurstRecorder and
// pipeline.BurstStore ask of the lead store. The counts are state (the
// baselines every scan reads), so they live here with the leads, and any
// node may count a post or run a scan.

// RecordBurstPost counts a post in each of its category × county series,
// once per series and canonical URL (another node counting the same post
// changes nothing). The first post recorded starts the burst history.
func (s *Store) RecordBurstPost(ctx context.Context, p alerts.BurstPost) error {
	p, err := alerts.PrepareBurstPost(p, s.now())
	if err != nil {
		return err
	}
	if len(p.Categories) == 0 || len(p.Counties) == 0 {
		return nil
	}
	var cats, counties, names []string
	for _, cat := range p.Categories {
		for i, county := range p.Counties {
			name := ""
			if i < len(p.CountyNames) {
				name = p.CountyNames[i]
			}
			cats, counties, names = append(cats, cat), append(counties, county), append(names, name)
		}
	}
	// One statement (so one round trip, and atomic): the rows, and the
	// history's start if this is the first post.
	_, err = s.pool.Exec(ctx, `WITH counted AS (
			INSERT INTO alerts_burst_post(category, county, county_name, at, canonical_url, url,
				site, source, title, snippet, seen_at, level, score)
			SELECT c, k, n, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM unnest($1::text[], $2::text[], $3::text[]) AS t(c, k, n)
			ON CONFLICT (category, county, canonical_url) DO NOTHING)
		INSERT INTO alerts_meta(key, value) VALUES ('burst_since', $14) ON CONFLICT (key) DO NOTHING`,
		cats, counties, names, p.At, p.CanonicalURL, p.URL, p.Site, p.Source, p.Title, p.Snippet, p.SeenAt, p.Level, p.Score,
		s.now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("alerts: burst post %s: %w", p.CanonicalURL, err)
	}
	return nil
}

// BurstSince returns when the first burst post was recorded: the start of
// every series' history (zero when none was).
func (s *Store) BurstSince(ctx context.Context) (time.Time, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM alerts_meta WHERE key = 'burst_since'`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("alerts: burst history start: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("alerts: burst history start %q in alerts_meta: expected an RFC 3339 time: %w", v, err)
	}
	return t.UTC(), nil
}

// BurstSeriesSince lists the series with at least minPosts posts in
// (from, to], busiest first.
func (s *Store) BurstSeriesSince(ctx context.Context, from, to time.Time, minPosts int) ([]alerts.BurstSeries, error) {
	rows, err := s.pool.Query(ctx, `SELECT category, county, max(county_name), count(*) AS n FROM alerts_burst_post
		WHERE at > $1 AND at <= $2 GROUP BY category, county HAVING count(*) >= $3
		ORDER BY n DESC, category COLLATE "C", county COLLATE "C"`, from, to, max(minPosts, 1))
	if err != nil {
		return nil, fmt.Errorf("alerts: burst series: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.BurstSeries, error) {
		var b alerts.BurstSeries
		return b, r.Scan(&b.Category, &b.County, &b.CountyName, &b.Posts)
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: burst series: %w", err)
	}
	return out, nil
}

// BurstHistory returns the times of a series' posts in [from, to], oldest
// first.
func (s *Store) BurstHistory(ctx context.Context, category, county string, from, to time.Time) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT at FROM alerts_burst_post WHERE category = $1 AND county = $2 AND at >= $3 AND at <= $4
		ORDER BY at`, category, county, from, to)
	if err != nil {
		return nil, fmt.Errorf("alerts: burst history %s/%s: %w", category, county, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (time.Time, error) {
		var at time.Time
		err := r.Scan(&at)
		return at.UTC(), err
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: burst history %s/%s: %w", category, county, err)
	}
	return out, nil
}

// LastBurst returns the series' latest burst lead and the time of its
// newest post ("" and zero when the series never burst).
func (s *Store) LastBurst(ctx context.Context, category, county string) (string, time.Time, error) {
	var id string
	var last time.Time
	err := s.pool.QueryRow(ctx, `SELECT id, last_seen FROM alerts_lead WHERE kind = $1 AND top_category = $2 AND county = $3
		ORDER BY last_seen DESC LIMIT 1`, alerts.KindBurst, category, county).Scan(&id, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("alerts: last burst %s/%s: %w", category, county, err)
	}
	return id, last.UTC(), nil
}

// PruneBurstPosts deletes the counted posts from before cutoff that are
// on no burst lead (a burst lead keeps its posts). It returns how many.
func (s *Store) PruneBurstPosts(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM alerts_burst_post WHERE at < $1 AND lead_id = ''`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("alerts: prune burst posts: %w", err)
	}
	return tag.RowsAffected(), nil
}

// FileBurst files a burst a scan found (see alerts.SQLStore.FileBurst): a
// new burst lead with the window's posts, or the window's posts not yet on
// a burst lead added to the series' latest one; the lead, its posts, the
// audit entry and the outbox rows commit together. It takes the filing
// lock, so two nodes scanning at once file each post on one lead; a scan
// that finds no new post changes nothing (OutcomeDuplicate).
func (s *Store) FileBurst(ctx context.Context, f alerts.BurstFiling) (alerts.FileResult, error) {
	f, err := alerts.CheckBurst(f, s.opts)
	if err != nil {
		return alerts.FileResult{}, err
	}
	var res alerts.FileResult
	err = s.inTx(ctx, func(tx pgx.Tx) (int, error) {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/alerts_file', 0))`); err != nil {
			return 0, err
		}
		var n int
		var err error
		if res, n, err = s.fileBurstTx(ctx, tx, f); err != nil {
			return 0, err
		}
		if res.Outcome == alerts.OutcomeCreated {
			err = notifyLead(ctx, tx, res.LeadID)
		}
		return n, err
	})
	if err != nil {
		return alerts.FileResult{}, fmt.Errorf("alerts: file burst %s/%s: %w", f.Info.Category, f.Info.County, err)
	}
	return res, nil
}

func (s *Store) fileBurstTx(ctx context.Context, tx pgx.Tx, f alerts.BurstFiling) (alerts.FileResult, int, error) {
	info := f.Info
	now := s.now()
	lt := s.leadTx(tx)
	var l *alerts.Lead
	if !f.New {
		var id string
		err := tx.QueryRow(ctx, `SELECT id FROM alerts_lead WHERE kind = $1 AND top_category = $2 AND county = $3
			ORDER BY last_seen DESC LIMIT 1`, alerts.KindBurst, info.Category, info.County).Scan(&id)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return alerts.FileResult{}, 0, err
		}
		if id != "" {
			if l, err = lt.Load(ctx, id); err != nil {
				return alerts.FileResult{}, 0, err
			}
		}
	}
	// The window's posts on no burst lead yet, oldest first.
	rows, err := tx.Query(ctx, `SELECT id, at FROM alerts_burst_post
		WHERE category = $1 AND county = $2 AND at > $3 AND at <= $4 AND lead_id = '' ORDER BY at, id`,
		info.Category, info.County, info.From, info.To)
	if err != nil {
		return alerts.FileResult{}, 0, err
	}
	type post struct {
		id int64
		at time.Time
	}
	posts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (post, error) {
		var p post
		return p, r.Scan(&p.id, &p.at)
	})
	if err != nil {
		return alerts.FileResult{}, 0, err
	}
	if len(posts) == 0 {
		res := alerts.FileResult{Outcome: alerts.OutcomeDuplicate}
		if l != nil {
			res.LeadID = l.ID
		}
		return res, 0, nil
	}
	event := alerts.EventLeadUpdated
	res := alerts.FileResult{Outcome: alerts.OutcomeJoined}
	if l == nil {
		l = alerts.NewBurstLead(f, s.opts, now)
		if err := lt.Insert(ctx, l); err != nil {
			return alerts.FileResult{}, 0, err
		}
		if err := lt.AppendAudit(ctx, alerts.AuditEntry{LeadID: l.ID, At: now, Actor: "riskmine", Action: "created",
			To: alerts.StateNew, Note: alerts.BurstNote(info)}); err != nil {
			return alerts.FileResult{}, 0, err
		}
		event, res.Outcome = alerts.EventLeadCreated, alerts.OutcomeCreated
	} else {
		alerts.StrengthenBurst(l, info)
		if err := lt.AppendAudit(ctx, alerts.AuditEntry{LeadID: l.ID, At: now, Actor: "riskmine", Action: "joined",
			Note: alerts.BurstNote(info)}); err != nil {
			return alerts.FileResult{}, 0, err
		}
		l.UpdatedAt = now.UTC()
	}
	res.LeadID = l.ID
	ids := make([]int64, len(posts))
	for i, p := range posts {
		ids[i] = p.id
		l.SourceCount++
		if p.at.Before(l.FirstSeen) {
			l.FirstSeen = p.at
		}
		if p.at.After(l.LastSeen) {
			l.LastSeen = p.at
		}
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE alerts_burst_post SET lead_id = $1 WHERE id = ANY($2)`, []any{l.ID, ids}},
		{`UPDATE alerts_lead SET kind = $1, burst = $2, summary = $3, score = $4, first_seen = $5, last_seen = $6,
			source_count = $7, updated_at = $8 WHERE id = $9`,
			[]any{alerts.KindBurst, jsonText(l.Burst), l.Summary, l.Score, l.FirstSeen, l.LastSeen, l.SourceCount, l.UpdatedAt, l.ID}},
		{`INSERT INTO alerts_lead_category(lead_id, code) VALUES ($1, $2) ON CONFLICT DO NOTHING`, []any{l.ID, info.Category}},
		{`INSERT INTO alerts_lead_location(lead_id, code, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			[]any{l.ID, info.County, info.CountyName}},
	} {
		if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
			return alerts.FileResult{}, 0, err
		}
	}
	n, err := lt.Enqueue(ctx, event, l, nil)
	if err != nil {
		return alerts.FileResult{}, 0, err
	}
	return res, n, nil
}

// burstSources loads the window w of a burst lead's counted posts as
// sources, newest first.
func (s *Store) burstSources(ctx context.Context, q querier, leadID string, w alerts.SourceWindow) ([]alerts.Source, error) {
	query, args := windowed(`SELECT id, url, canonical_url, site, source, title, snippet, at, seen_at, level, score, category
		FROM alerts_burst_post WHERE lead_id = $1 ORDER BY at DESC, id DESC`, w, leadID)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.Source, error) {
		var src alerts.Source
		var at time.Time
		if err := r.Scan(&src.ID, &src.URL, &src.CanonicalURL, &src.Site, &src.Source, &src.Title, &src.Snippet,
			&at, &src.SeenAt, &src.Level, &src.Score, &src.Category); err != nil {
			return src, err
		}
		src.PublishedAt = s.atPtr(&at)
		src.SeenAt = s.at(src.SeenAt)
		src.Evidence, src.LevelCues = []alerts.Evidence{}, []alerts.LevelCue{}
		return src, nil
	})
}
