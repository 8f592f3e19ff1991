package pgsearch

import (
	"context"
	"fmt"
)

// DirectCounts makes s count the total and facets of every search over
// its posts, never from the day counts, for tests that compare both ways.
func DirectCounts(s *Store) { s.direct = true }

// UsesDayCounts reports whether s reads the day counts for searches
// without text or filters.
func UsesDayCounts(s *Store) bool { return s.dayCounts && !s.direct }

// CheckDayCounts compares search_day_counts with the posts counted afresh
// and describes the first few differences.
func CheckDayCounts(ctx context.Context, s *Store) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE search_day_counts_kept ON COMMIT DROP AS SELECT * FROM search_day_counts WHERE n <> 0;
		DELETE FROM search_day_counts`); err != nil {
		return err
	}
	var zone string
	if err := tx.QueryRow(ctx, `SELECT zone FROM search_count_zone`).Scan(&zone); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, countRows("search_posts"), zone, 1); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `(SELECT 'kept', day::text, dim, term, n FROM search_day_counts_kept EXCEPT SELECT 'kept', day::text, dim, term, n FROM search_day_counts)
		UNION ALL (SELECT 'fresh', day::text, dim, term, n FROM search_day_counts EXCEPT SELECT 'fresh', day::text, dim, term, n FROM search_day_counts_kept)
		ORDER BY 2, 3, 4, 1 LIMIT 6`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var diff []string
	for rows.Next() {
		var side, day, term string
		var dim int
		var n int64
		if err := rows.Scan(&side, &day, &dim, &term, &n); err != nil {
			return err
		}
		diff = append(diff, fmt.Sprintf("%s %s/%d/%q=%d", side, day, dim, term, n))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(diff) > 0 {
		return fmt.Errorf("day counts differ from the posts: %v", diff)
	}
	return nil
}
