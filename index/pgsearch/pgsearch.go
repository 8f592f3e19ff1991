// Package pgsearch keeps the posts for search in PostgreSQL and answers
// index.Query with index.Result, as index.Index does, so the web pages can
// use either (web.Searcher). The text is analysed by package index (the
// same normalisation, gse words and character bigrams as the Bleve index)
// into a core tsvector column; no PostgreSQL extension is needed.
//
// Posts live in one table partitioned by month of their time (published,
// else fetched); a month's partition is created when its first post
// arrives, and DropBefore removes whole months for retention. Beside them,
// triggers keep exact facet totals per day (counts.go), from which a
// search without text or filters (the UI's default page) takes its total
// and facets whatever the length of its window.
package pgsearch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/index"
	"riskmine/internal/pgdb"
	"riskmine/level"
)

// Options configures Open.
type Options struct {
	// Tokenize and Normalize are the analysis, as in index.Options; nil
	// Tokenize takes what the process installed (an open Bleve index's), or
	// the built-in fallback.
	Tokenize  func(string) []index.Token
	Normalize func(string) string
	// SearchTimeout is the statement timeout of a search (default 10 s).
	SearchTimeout time.Duration
	// Location is the zone of the days facet (default UTC).
	Location *time.Location
}

// Store is the search table of one PostgreSQL schema.
type Store struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	loc     *time.Location

	mu    sync.Mutex
	parts map[string]bool // partitions known to exist

	// dayCounts: the day counts are in this store's zone, so searches
	// without text or filters may read them (counts.go).
	dayCounts bool
	// direct turns the day counts off, for tests that compare both ways.
	direct bool
}

// name is the store name in pgdb.Migrate.
const name = "search"

var migrations = []string{
	`CREATE TABLE search_posts (
		key text NOT NULL,
		at timestamptz NOT NULL,
		id text NOT NULL,
		url text NOT NULL DEFAULT '',
		title text NOT NULL DEFAULT '',
		body text NOT NULL DEFAULT '',
		source text NOT NULL DEFAULT '',
		site text NOT NULL DEFAULT '',
		level text NOT NULL DEFAULT '',
		level_rank int NOT NULL DEFAULT 0,
		score double precision NOT NULL DEFAULT 0,
		categories text[] NOT NULL DEFAULT '{}',
		location_codes text[] NOT NULL DEFAULT '{}',
		location_names text[] NOT NULL DEFAULT '{}',
		lead_id text NOT NULL DEFAULT '',
		published_at timestamptz,
		tsv tsvector NOT NULL,
		PRIMARY KEY (key, at)
	) PARTITION BY RANGE (at);
	CREATE INDEX search_posts_tsv ON search_posts USING gin (tsv);
	CREATE INDEX search_posts_at ON search_posts (at);
	CREATE INDEX search_posts_source ON search_posts (source, at);
	CREATE INDEX search_posts_level ON search_posts (level_rank, at);
	CREATE INDEX search_posts_categories ON search_posts USING gin (categories);
	CREATE INDEX search_posts_locations ON search_posts USING gin (location_codes);`,
	dayCountsStep,
}

// Open brings the schema of pool's database up to date and returns the
// store.
func Open(ctx context.Context, pool *pgxpool.Pool, o Options) (*Store, error) {
	if err := index.InstallAnalysis(o.Tokenize, o.Normalize); err != nil {
		return nil, fmt.Errorf("pgsearch: %w", err)
	}
	if err := pgdb.Migrate(ctx, pool, name, migrations); err != nil {
		return nil, fmt.Errorf("pgsearch: %w", err)
	}
	s := &Store{pool: pool, timeout: o.SearchTimeout, loc: o.Location, parts: map[string]bool{}}
	if s.timeout <= 0 {
		s.timeout = 10 * time.Second
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	// The zone names the days in SQL: PostgreSQL must know it by name.
	if _, err := pool.Exec(ctx, `SELECT now() AT TIME ZONE $1`, s.loc.String()); err != nil {
		return nil, fmt.Errorf("pgsearch: location %q is not a time zone PostgreSQL knows: expected an IANA name such as Asia/Shanghai or UTC", s.loc.String())
	}
	zone, err := s.fillDayCounts(ctx)
	if err != nil {
		return nil, err
	}
	s.dayCounts = zone == s.loc.String()
	return s, nil
}

// partition returns the name and bounds of the month partition of t.
func partition(t time.Time) (string, time.Time, time.Time) {
	t = t.UTC()
	from := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return fmt.Sprintf("search_posts_%04d_%02d", from.Year(), from.Month()), from, from.AddDate(0, 1, 0)
}

// ensurePartitions creates the month partitions of ats that are missing.
func (s *Store) ensurePartitions(ctx context.Context, ats []time.Time) error {
	for _, at := range ats {
		part, from, to := partition(at)
		s.mu.Lock()
		known := s.parts[part]
		s.mu.Unlock()
		if known {
			continue
		}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := lockPartitions(ctx, tx); err != nil {
				return err
			}
			return createPartition(ctx, tx, part, from, to)
		})
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.parts[part] = true
		s.mu.Unlock()
	}
	return nil
}

// lockPartitions makes nodes creating the same month in tx take turns.
func lockPartitions(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('riskmine search partitions'))`)
	return err
}

// createPartition makes the month partition part, [from, to), in tx
// unless it exists.
func createPartition(ctx context.Context, tx pgx.Tx, part string, from, to time.Time) error {
	_, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF search_posts FOR VALUES FROM ('%s') TO ('%s')`,
		part, from.Format(time.RFC3339), to.Format(time.RFC3339)))
	if err != nil {
		return fmt.Errorf("pgsearch: create partition %s: %w", part, err)
	}
	return nil
}

// postRow is the row of d in loadColumns' order, its text analysed (the
// tsvector as text).
func postRow(d *index.Doc) []any {
	rank, _ := index.LevelRank(d.Level)
	var published *time.Time
	if !d.PublishedAt.IsZero() {
		p := d.PublishedAt.UTC()
		published = &p
	}
	return []any{d.Key(), d.At().UTC(), cmp.Or(d.ID, d.Key()), d.URL, d.Title, d.Body, d.Source, d.Site, d.Level, rank, d.Score,
		nonNil(d.Categories), nonNil(index.WithParents(d.LocationCodes)), nonNil(d.LocationNames), d.LeadID, published,
		index.TSVector(d)}
}

// Add stores docs, each replacing an earlier version with the same key
// (index.Doc.Key); of docs with the same key the last is kept. A post needs
// a published or fetched time. The text is analysed on every core, the
// rows are sent with COPY into a temporary table and moved from there
// into search_posts in one statement, in one transaction with the deletion
// of the earlier versions and with the day counts.
func (s *Store) Add(ctx context.Context, docs ...index.Doc) error {
	keep := make([]int, 0, len(docs))
	seen := make(map[string]int, len(docs))
	ats := make([]time.Time, 0, len(docs))
	for i := range docs {
		if docs[i].At().IsZero() {
			return fmt.Errorf("pgsearch: add %q: the post has neither a published nor a fetched time", docs[i].Key())
		}
		if j, ok := seen[docs[i].Key()]; ok {
			keep[j] = i
			continue
		}
		seen[docs[i].Key()] = len(keep)
		keep = append(keep, i)
	}
	if len(keep) == 0 {
		return nil
	}
	for _, i := range keep {
		ats = append(ats, docs[i].At())
	}
	if err := s.ensurePartitions(ctx, ats); err != nil {
		return err
	}
	rows := make([][]any, len(keep))
	keys := make([]string, len(keep))
	analyse := func(k int) {
		d := &docs[keep[k]]
		keys[k] = d.Key()
		rows[k] = postRow(d)
	}
	workers := min(runtime.GOMAXPROCS(0), (len(keep)+31)/32)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < len(keep); k += workers {
				analyse(k)
			}
		})
	}
	wg.Wait()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, countLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS search_load (key text, at timestamptz, id text, url text,
			title text, body text, source text, site text, level text, level_rank int, score double precision,
			categories text[], location_codes text[], location_names text[], lead_id text, published_at timestamptz,
			tsv text) ON COMMIT DELETE ROWS`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"search_load"}, loadColumns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM search_posts WHERE key = ANY($1)`, keys); err != nil {
			return err
		}
		// The tsvector text is parsed here, as the INSERT of one post did.
		cols := strings.Join(loadColumns, ", ")
		_, err := tx.Exec(ctx, `INSERT INTO search_posts (`+cols+`)
			SELECT `+strings.TrimSuffix(cols, "tsv")+`tsv::tsvector FROM search_load`)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgsearch: add %d posts: %w", len(keep), err)
	}
	return nil
}

// loadColumns are the columns Add writes, in the order of its rows; tsv
// comes last.
var loadColumns = []string{"key", "at", "id", "url", "title", "body", "source", "site", "level", "level_rank", "score",
	"categories", "location_codes", "location_names", "lead_id", "published_at", "tsv"}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Delete removes the post with this key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, countLock); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM search_posts WHERE key = $1`, key)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgsearch: delete %q: %w", key, err)
	}
	return nil
}

// Count returns the number of posts.
func (s *Store) Count(ctx context.Context) (uint64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM search_posts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgsearch: count: %w", err)
	}
	return uint64(n), nil
}

// DropBefore drops every month partition that ends at or before t, with
// its posts, and returns the names of the partitions dropped. Posts of the
// month holding t stay until that whole month is older than t.
func (s *Store) DropBefore(ctx context.Context, t time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = 'search_posts' AND p.relnamespace = current_schema()::regnamespace
		ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("pgsearch: list partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgsearch: list partitions: %w", err)
	}
	var dropped []string
	for _, n := range names {
		var y, m int
		if _, err := fmt.Sscanf(n, "search_posts_%04d_%02d", &y, &m); err != nil {
			continue // not one of ours
		}
		end := time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC)
		if end.After(t) {
			continue
		}
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// The day counts lose the month's posts in the same
			// transaction (dropping a table fires no delete trigger).
			if _, err := tx.Exec(ctx, countLock); err != nil {
				return err
			}
			var zone string
			err := tx.QueryRow(ctx, `SELECT zone FROM search_count_zone`).Scan(&zone)
			if err == nil {
				_, err = tx.Exec(ctx, countRows(pgx.Identifier{n}.Sanitize()), zone, -1)
			}
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			_, err = tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{n}.Sanitize())
			return err
		})
		if err != nil {
			return dropped, fmt.Errorf("pgsearch: drop partition %s: %w", n, err)
		}
		s.mu.Lock()
		delete(s.parts, n)
		s.mu.Unlock()
		dropped = append(dropped, n)
	}
	return dropped, nil
}

// facet sizes as in package index.
const maxDays = 1000

// Search runs q: the query string through index.TSQuery, the filters as
// conditions, the facets grouped over the matching posts, highlights by
// index.Highlight. Errors caused by the query wrap index.ErrBadQuery; a
// search stopped by the statement timeout wraps index.ErrTimeout.
func (s *Store) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	start := time.Now()
	if q.From < 0 {
		return nil, bad(q, "from must not be negative, got %d", q.From)
	}
	if q.From > 100000 {
		return nil, bad(q, "from must be at most 100000, got %d", q.From)
	}
	if q.Size < 0 || q.Size > index.MaxSize {
		return nil, bad(q, "size must be between 1 and %d, got %d", index.MaxSize, q.Size)
	}
	size := cmp.Or(q.Size, 10)
	tsq, err := index.TSQuery(q.Text)
	if err != nil {
		return nil, fmt.Errorf("pgsearch: search %q: %w", q.Text, err)
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if tsq != "" {
		where = append(where, "tsv @@ "+arg(tsq)+"::tsquery")
	}
	if len(q.Categories) > 0 {
		where = append(where, "categories && "+arg(q.Categories))
	}
	if len(q.Sources) > 0 {
		where = append(where, "source = ANY("+arg(q.Sources)+")")
	}
	if len(q.Sites) > 0 {
		where = append(where, "site = ANY("+arg(q.Sites)+")")
	}
	if len(q.Locations) > 0 {
		where = append(where, "location_codes && "+arg(q.Locations))
	}
	if q.MinLevel != "" {
		rank, ok := index.LevelRank(q.MinLevel)
		if !ok {
			return nil, bad(q, "level %q is not one of %s", q.MinLevel, strings.Join(level.All(), ", "))
		}
		where = append(where, "level <> '' AND level_rank >= "+arg(rank))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return nil, bad(q, "since (%s) must be before until (%s)", q.Since.Format(time.RFC3339), q.Until.Format(time.RFC3339))
	}
	if !q.Since.IsZero() {
		where = append(where, "at >= "+arg(q.Since.UTC()))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < "+arg(q.Until.UTC()))
	}
	cond := "true"
	if len(where) > 0 {
		cond = strings.Join(where, " AND ")
	}
	rank := "0::real"
	if tsq != "" {
		rank = "ts_rank(tsv, " + "$1::tsquery)"
	}
	var order string
	switch q.Sort {
	case "", index.SortRelevance:
		order = "rank DESC, at DESC, key"
		if tsq == "" {
			order = "at DESC, key" // every rank is 0: the same order, and the index on at gives it
		}
	case index.SortTime:
		order = "at DESC, key"
	case index.SortScore:
		order = "score DESC, at DESC, key"
	default:
		return nil, bad(q, "sort must be %s, %s or %s, got %q", index.SortRelevance, index.SortTime, index.SortScore, q.Sort)
	}
	hitsSQL := fmt.Sprintf(`SELECT key, id, url, title, body, source, site, level, score, categories, location_names,
		lead_id, published_at, %s AS rank FROM search_posts WHERE %s ORDER BY %s LIMIT %d OFFSET %d`, rank, cond, order, size, q.From)

	res := &index.Result{Hits: []index.Hit{}}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", max(1, s.timeout.Milliseconds()))); err != nil {
			return err
		}
		if tsq != "" && !q.NoFacets {
			return s.searchOnePass(ctx, tx, q, rank, cond, order, size, args, res)
		}
		rows, err := tx.Query(ctx, hitsSQL, args...)
		if err != nil {
			return err
		}
		if res.Hits, err = scanHits(rows, q.Text, nil); err != nil {
			return err
		}
		return s.counts(ctx, tx, q, tsq, cond, args, res)
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "57014" {
			return nil, fmt.Errorf("pgsearch: search %q: %w: it ran longer than %s; narrow it with a field, a filter or a shorter time range", q.Text, index.ErrTimeout, s.timeout)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pgsearch: search %q: %w", q.Text, ctx.Err())
		}
		return nil, fmt.Errorf("pgsearch: search %q: %w", q.Text, err)
	}
	res.Took = time.Since(start)
	res.TookMS = math.Round(float64(res.Took.Microseconds())/10) / 100
	return res, nil
}

// scanHits reads the hits of rows (the columns of Search's hits query)
// with their highlights for text; ranks, when given, replaces the rank
// column by key.
func scanHits(rows pgx.Rows, text string, ranks map[string]float32) ([]index.Hit, error) {
	defer rows.Close()
	hits := []index.Hit{}
	for rows.Next() {
		var h index.Hit
		var body string
		var published *time.Time
		var score float32
		if err := rows.Scan(&h.Key, &h.ID, &h.URL, &h.Title, &body, &h.Source, &h.Site, &h.Level, &h.RiskScore,
			&h.Categories, &h.LocationNames, &h.LeadID, &published, &score); err != nil {
			return nil, err
		}
		if published != nil {
			h.PublishedAt = published.UTC()
		}
		if ranks != nil {
			score = ranks[h.Key]
		}
		h.Score = float64(score)
		h.Fragments = map[string][]string{}
		title, frags := index.Highlight(h.Title, body, text)
		if title != "" {
			h.Fragments["title"] = []string{title}
		}
		if len(frags) > 0 {
			h.Fragments["body"] = frags
		}
		if len(h.LocationNames) == 0 {
			h.LocationNames = nil
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// searchOnePass answers a text search with facets in one pass over the
// matching posts: their keys, times, ranks and facet values are gathered
// once (where the time goes: ts_rank reads each match's tsvector, most of
// them stored out of line), the page and the counts are taken from them,
// and the page's posts are then read by key. A search without text takes
// its page from the index on at and needs no rank.
func (s *Store) searchOnePass(ctx context.Context, tx pgx.Tx, q index.Query, rank, cond, order string, size int, args []any, res *index.Result) error {
	args = append(slices.Clip(args), s.loc.String())
	tz := fmt.Sprintf("$%d", len(args))
	rows, err := tx.Query(ctx, fmt.Sprintf(`WITH m AS MATERIALIZED (
			SELECT key, at, %s AS rank, score, categories, level, source, location_codes FROM search_posts WHERE %s)
		SELECT -1 AS g, key AS term, row_number() OVER (ORDER BY %[3]s) AS n, at, rank
			FROM (SELECT key, at, rank, score FROM m ORDER BY %[3]s LIMIT %d OFFSET %d) page
		UNION ALL SELECT 0, '', count(*), NULL, NULL FROM m
		UNION ALL SELECT 1, c, count(*), NULL, NULL FROM m, unnest(categories) c GROUP BY c
		UNION ALL SELECT 2, level, count(*), NULL, NULL FROM m WHERE level <> '' GROUP BY level
		UNION ALL SELECT 3, source, count(*), NULL, NULL FROM m WHERE source <> '' GROUP BY source
		UNION ALL SELECT 4, l, count(*), NULL, NULL FROM m, unnest(location_codes) l GROUP BY l
		UNION ALL SELECT 5, to_char(at AT TIME ZONE %s, 'YYYY-MM-DD'), count(*), NULL, NULL FROM m GROUP BY 2`,
		rank, cond, order, size, q.From, tz), args...)
	if err != nil {
		return err
	}
	type pageRow struct {
		key string
		n   int64
		at  time.Time
	}
	var page []pageRow
	ranks := map[string]float32{}
	groups := make([][]index.FacetCount, 6)
	for rows.Next() {
		var g int
		var term string
		var n int64
		var at *time.Time
		var r *float32
		if err := rows.Scan(&g, &term, &n, &at, &r); err != nil {
			rows.Close()
			return err
		}
		switch {
		case g < 0 && at != nil && r != nil:
			page = append(page, pageRow{term, n, *at})
			ranks[term] = *r
		case g == 0:
			res.Total = uint64(n)
		case g > 0:
			groups[g] = append(groups[g], index.FacetCount{Term: term, Count: int(n)})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	res.Facets = facets(groups, q.FacetSize)
	if len(page) == 0 {
		return nil
	}
	slices.SortFunc(page, func(a, b pageRow) int { return cmp.Compare(a.n, b.n) })
	keys := make([]string, len(page))
	from, to := page[0].at, page[0].at
	for i, p := range page {
		keys[i] = p.key
		from, to = minTime(from, p.at), maxTime(to, p.at)
	}
	rows, err = tx.Query(ctx, `SELECT key, id, url, title, body, source, site, level, score, categories, location_names,
		lead_id, published_at, 0::real FROM search_posts WHERE key = ANY($1) AND at >= $2 AND at <= $3`, keys, from, to)
	if err != nil {
		return err
	}
	hits, err := scanHits(rows, q.Text, ranks)
	if err != nil {
		return err
	}
	byKey := make(map[string]index.Hit, len(hits))
	for _, h := range hits {
		byKey[h.Key] = h
	}
	for _, k := range keys {
		if h, ok := byKey[k]; ok {
			res.Hits = append(res.Hits, h)
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// counts fills the total and, unless q.NoFacets, the facets of res: from
// the day counts when fastCounts allows, else one pass over the matching
// posts, grouped per facet.
func (s *Store) counts(ctx context.Context, tx pgx.Tx, q index.Query, tsq, cond string, args []any, res *index.Result) error {
	var groups [][]index.FacetCount
	var err error
	switch {
	case s.fastCounts(q, tsq) && !s.direct:
		res.Total, groups, err = s.countsByDay(ctx, tx, q)
	case q.NoFacets:
		var n int64
		err = tx.QueryRow(ctx, `SELECT count(*) FROM search_posts WHERE `+cond, args...).Scan(&n)
		res.Total = uint64(n)
	default:
		res.Total, groups, err = s.groupCounts(ctx, tx, cond, args)
	}
	if err != nil || q.NoFacets {
		return err
	}
	res.Facets = facets(groups, q.FacetSize)
	return nil
}

// facets sorts groups (as groupCounts returns them) and keeps the first
// size terms of each (10 when size is 0) and every level and day.
func facets(groups [][]index.FacetCount, size int) *index.Facets {
	n := size
	if n <= 0 {
		n = 10
	}
	sizes := []int{0, n, len(level.All()), n, n, maxDays}
	for g := 1; g < len(groups); g++ {
		slices.SortFunc(groups[g], func(a, b index.FacetCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Term, b.Term))
		})
		groups[g] = groups[g][:min(len(groups[g]), sizes[g])]
		if groups[g] == nil {
			groups[g] = []index.FacetCount{}
		}
	}
	f := &index.Facets{Categories: groups[1], Levels: groups[2], Sources: groups[3], Locations: groups[4], Days: groups[5]}
	slices.SortFunc(f.Days, func(a, b index.FacetCount) int { return cmp.Compare(a.Term, b.Term) })
	return f
}

// groupCounts counts the posts matching cond and every term of each facet
// among them, in one pass: groups[1] categories, [2] levels, [3] sources,
// [4] places, [5] days in the store's zone, unsorted.
func (s *Store) groupCounts(ctx context.Context, tx pgx.Tx, cond string, args []any) (uint64, [][]index.FacetCount, error) {
	args = append(slices.Clip(args), s.loc.String())
	tz := fmt.Sprintf("$%d", len(args))
	rows, err := tx.Query(ctx, `WITH m AS MATERIALIZED (
			SELECT categories, level, source, location_codes, at FROM search_posts WHERE `+cond+`)
		SELECT 0, '', count(*) FROM m
		UNION ALL SELECT 1, c, count(*) FROM m, unnest(categories) c GROUP BY c
		UNION ALL SELECT 2, level, count(*) FROM m WHERE level <> '' GROUP BY level
		UNION ALL SELECT 3, source, count(*) FROM m WHERE source <> '' GROUP BY source
		UNION ALL SELECT 4, l, count(*) FROM m, unnest(location_codes) l GROUP BY l
		UNION ALL SELECT 5, to_char(at AT TIME ZONE `+tz+`, 'YYYY-MM-DD'), count(*) FROM m GROUP BY 2`, args...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var total uint64
	groups := make([][]index.FacetCount, 6)
	for rows.Next() {
		var g int
		var term string
		var n int64
		if err := rows.Scan(&g, &term, &n); err != nil {
			return 0, nil, err
		}
		if g == 0 {
			total = uint64(n)
			continue
		}
		groups[g] = append(groups[g], index.FacetCount{Term: term, Count: int(n)})
	}
	return total, groups, rows.Err()
}

func bad(q index.Query, format string, args ...any) error {
	return fmt.Errorf("pgsearch: search %q: %w: %s", q.Text, index.ErrBadQuery, fmt.Sprintf(format, args...))
}
