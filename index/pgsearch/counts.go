package pgsearch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"riskmine/index"
)

// Day counts: the totals of every facet per day, kept beside the
// partitions so that a search without text and without filters (the UI's
// default page: the last 30 days) reads a few rows per day instead of
// counting every post of its window.
//
// search_day_counts holds, per day (in the zone recorded in
// search_count_zone) and term, how many posts there are: dim 0 all posts
// (term ''), 1 per category, 2 per level, 3 per source, 4 per place code
// with its parents; exactly what the facet query counts. Statement
// triggers on search_posts keep it in the transaction of every insert,
// delete and update (the rows of the statement, through transition
// tables), so Add and Delete need nothing more; DropBefore subtracts a
// month's rows before it drops the partition. Rows whose count fell to
// zero stay and are skipped when read.
//
// Every change of the counts first takes a transaction-scoped advisory
// lock (countLock), so two writers never update the same count rows in
// opposite orders: writes of posts are serialised at that point, which the
// counts of the current day would do anyway.

// countRowsSQL adds sign times the counts of the posts in {rows} to
// search_day_counts; $1 is the zone of the days, $2 the sign. The
// migration embeds it in the trigger function: changing it needs a new
// migration step.
const countRowsSQL = `INSERT INTO search_day_counts AS c (day, dim, term, n)
	SELECT day, dim, term, $2 * count(*) FROM (
		SELECT (at AT TIME ZONE $1)::date AS day, 0::smallint AS dim, ''::text AS term FROM {rows}
		UNION ALL SELECT (at AT TIME ZONE $1)::date, 1, u FROM {rows}, unnest(categories) u
		UNION ALL SELECT (at AT TIME ZONE $1)::date, 2, level FROM {rows} WHERE level <> ''
		UNION ALL SELECT (at AT TIME ZONE $1)::date, 3, source FROM {rows} WHERE source <> ''
		UNION ALL SELECT (at AT TIME ZONE $1)::date, 4, u FROM {rows}, unnest(location_codes) u
	) r GROUP BY day, dim, term ORDER BY day, dim, term
	ON CONFLICT (day, dim, term) DO UPDATE SET n = c.n + excluded.n`

// countLock is the advisory lock every change of the counts takes first.
const countLock = `SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.riskmine search counts'))`

func countRows(rows string) string { return strings.ReplaceAll(countRowsSQL, "{rows}", rows) }

// dayCountsStep is migration step 2: the counts table, the zone, the
// triggers. The counts are filled by the first Open (fillDayCounts), which
// knows the zone.
var dayCountsStep = `CREATE TABLE search_day_counts (
		day date NOT NULL,
		dim smallint NOT NULL,
		term text NOT NULL,
		n bigint NOT NULL,
		PRIMARY KEY (day, dim, term)
	);
	CREATE TABLE search_count_zone (
		one boolean PRIMARY KEY DEFAULT true CHECK (one),
		zone text NOT NULL
	);
	CREATE FUNCTION search_count_rows() RETURNS trigger LANGUAGE plpgsql AS $f$
	DECLARE z text;
	BEGIN
		SELECT zone INTO z FROM search_count_zone;
		IF z IS NULL THEN
			RETURN NULL;
		END IF;
		EXECUTE $q$` + countLock + `$q$;
		IF TG_OP IN ('DELETE', 'UPDATE') THEN
			EXECUTE $q$` + countRows("old_rows") + `$q$ USING z, -1;
		END IF;
		IF TG_OP IN ('INSERT', 'UPDATE') THEN
			EXECUTE $q$` + countRows("new_rows") + `$q$ USING z, 1;
		END IF;
		RETURN NULL;
	END $f$;
	CREATE TRIGGER search_posts_count_insert AFTER INSERT ON search_posts
		REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_count_rows();
	CREATE TRIGGER search_posts_count_delete AFTER DELETE ON search_posts
		REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_count_rows();
	CREATE TRIGGER search_posts_count_update AFTER UPDATE ON search_posts
		REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_count_rows();
	CREATE FUNCTION search_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $f$
	BEGIN
		DELETE FROM search_day_counts;
		RETURN NULL;
	END $f$;
	CREATE TRIGGER search_posts_count_truncate AFTER TRUNCATE ON search_posts
		FOR EACH STATEMENT EXECUTE FUNCTION search_count_truncate();`

// fillDayCounts records the zone of the days and counts the posts already
// stored, once per schema (the first Open after migration step 2). It
// returns the recorded zone: another node's, if it came first.
func (s *Store) fillDayCounts(ctx context.Context) (string, error) {
	var zone string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, countLock); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT zone FROM search_count_zone`).Scan(&zone)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Writers wait until the counts of what they see are in.
		if _, err := tx.Exec(ctx, `LOCK TABLE search_posts IN SHARE MODE`); err != nil {
			return err
		}
		zone = s.loc.String()
		if _, err := tx.Exec(ctx, `INSERT INTO search_count_zone (zone) VALUES ($1)`, zone); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, countRows("search_posts"), zone, 1)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("pgsearch: count the posts per day: %w", err)
	}
	return zone, nil
}

// fastCounts reports whether q's total and facets can come from the day
// counts: no text, no filter but the time window, and the days counted in
// this store's zone.
func (s *Store) fastCounts(q index.Query, tsq string) bool {
	return s.dayCounts && tsq == "" && len(q.Categories) == 0 && len(q.Sources) == 0 && len(q.Sites) == 0 &&
		len(q.Locations) == 0 && q.MinLevel == ""
}

// countsByDay fills what counts fills, for a query fastCounts accepts: the
// whole days inside the window from search_day_counts, the posts of the
// first and the last day of the window (which it may hold only in part)
// counted one by one, and both added up.
func (s *Store) countsByDay(ctx context.Context, tx pgx.Tx, q index.Query) (uint64, [][]index.FacetCount, error) {
	zone := s.loc.String()
	// The window's first and last days, as PostgreSQL sees them in zone.
	var edges []string
	args := []any{zone}
	days := []string{}
	if !q.Since.IsZero() {
		args = append(args, q.Since.UTC())
		days = append(days, fmt.Sprintf("day > ($%d::timestamptz AT TIME ZONE $1)::date", len(args)))
		edges = append(edges, fmt.Sprintf("(at >= $%[1]d AND at < $%[1]d::timestamptz + interval '26 hours' AND (at AT TIME ZONE $1)::date = ($%[1]d::timestamptz AT TIME ZONE $1)::date", len(args)))
	}
	if !q.Until.IsZero() {
		args = append(args, q.Until.UTC())
		days = append(days, fmt.Sprintf("day < ($%d::timestamptz AT TIME ZONE $1)::date", len(args)))
		edge := fmt.Sprintf("(at < $%[1]d AND at >= $%[1]d::timestamptz - interval '26 hours' AND (at AT TIME ZONE $1)::date = ($%[1]d::timestamptz AT TIME ZONE $1)::date", len(args))
		if !q.Since.IsZero() {
			edge += " AND at >= $2"
		}
		edges = append(edges, edge+")")
		if !q.Since.IsZero() {
			edges[0] += " AND at < " + fmt.Sprintf("$%d", len(args))
		}
	}
	if !q.Since.IsZero() {
		edges[0] += ")"
	}
	dayCond, dayArgs := "true", []any(nil)
	if len(days) > 0 {
		dayCond, dayArgs = strings.Join(days, " AND "), args
	}
	type key struct {
		g    int
		term string
	}
	sums := map[key]int64{}
	var total int64
	rows, err := tx.Query(ctx, `SELECT dim, CASE WHEN dim = 0 THEN to_char(day, 'YYYY-MM-DD') ELSE term END, sum(n)
		FROM search_day_counts WHERE `+dayCond+` GROUP BY 1, 2`, dayArgs...)
	if err != nil {
		return 0, nil, err
	}
	for rows.Next() {
		var g int
		var term string
		var n int64
		if err := rows.Scan(&g, &term, &n); err != nil {
			rows.Close()
			return 0, nil, err
		}
		if g == 0 {
			total += n
			g = 5 // the days facet
		}
		sums[key{g, term}] += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	if len(edges) > 0 {
		// One OR: a post on both edge days (a window within two days) is
		// counted once.
		n, edgeGroups, err := s.groupCounts(ctx, tx, "("+strings.Join(edges, " OR ")+")", args)
		if err != nil {
			return 0, nil, err
		}
		total += int64(n)
		for g, fcs := range edgeGroups {
			for _, fc := range fcs {
				sums[key{g, fc.Term}] += int64(fc.Count)
			}
		}
	}
	groups := make([][]index.FacetCount, 6)
	for k, n := range sums {
		if n > 0 {
			groups[k.g] = append(groups[k.g], index.FacetCount{Term: k.term, Count: int(n)})
		}
	}
	return uint64(total), groups, nil
}
