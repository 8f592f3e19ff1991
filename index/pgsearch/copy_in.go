package pgsearch

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmine/index"
)

// CopyIn writes docs into the posts table inside tx, creating their month
// partitions in tx too, so a rollback leaves nothing behind: the bulk load
// of moving an installation (riskmine migrate). Unlike Add it does not
// replace posts of the same key; the table is expected not to hold them
// (a key already there fails the copy on its primary key when the time is
// the same). The analysis must be installed (Open does it), as Add needs.
func CopyIn(ctx context.Context, tx pgx.Tx, docs []index.Doc) error {
	months := map[string][2]time.Time{}
	for i := range docs {
		at := docs[i].At()
		if at.IsZero() {
			return fmt.Errorf("pgsearch: copy %q: the post has neither a published nor a fetched time", docs[i].Key())
		}
		part, from, to := partition(at)
		months[part] = [2]time.Time{from, to}
	}
	names := make([]string, 0, len(months))
	for n := range months {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) > 0 {
		// As ensurePartitions: nodes creating the same month take turns.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('riskmine search partitions'))`); err != nil {
			return fmt.Errorf("pgsearch: copy: %w", err)
		}
	}
	for _, n := range names {
		b := months[n]
		if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s PARTITION OF search_posts FOR VALUES FROM ('%s') TO ('%s')`,
			n, b[0].Format(time.RFC3339), b[1].Format(time.RFC3339))); err != nil {
			return fmt.Errorf("pgsearch: create partition %s: %w", n, err)
		}
	}
	rows := make([][]any, len(docs))
	for i := range docs {
		d := &docs[i]
		rank, _ := index.LevelRank(d.Level)
		var published *time.Time
		if !d.PublishedAt.IsZero() {
			p := d.PublishedAt.UTC()
			published = &p
		}
		rows[i] = []any{d.Key(), d.At().UTC(), cmp.Or(d.ID, d.Key()), d.URL, d.Title, d.Body, d.Source, d.Site, d.Level, rank, d.Score,
			nonNil(d.Categories), nonNil(index.WithParents(d.LocationCodes)), nonNil(d.LocationNames), d.LeadID, published,
			index.TSVector(d)}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"search_posts"}, []string{"key", "at", "id", "url", "title", "body", "source", "site",
		"level", "level_rank", "score", "categories", "location_codes", "location_names", "lead_id", "published_at", "tsv"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("pgsearch: copy %d posts: %w", len(docs), err)
	}
	return nil
}
