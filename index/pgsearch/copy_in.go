package pgsearch

import (
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
		if err := lockPartitions(ctx, tx); err != nil {
			return fmt.Errorf("pgsearch: copy: %w", err)
		}
	}
	for _, n := range names {
		if err := createPartition(ctx, tx, n, months[n][0], months[n][1]); err != nil {
			return err
		}
	}
	rows := make([][]any, len(docs))
	for i := range docs {
		rows[i] = postRow(&docs[i])
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"search_posts"}, loadColumns, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("pgsearch: copy %d posts: %w", len(docs), err)
	}
	return nil
}
