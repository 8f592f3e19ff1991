package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"riskmine/internal/pgdb"
	"riskmine/service"
	"riskmine/storemigrate"
)

func init() {
	register(&command{
		name:    "migrate",
		summary: "move an embedded installation (riskmine.db and the index) into PostgreSQL",
		run:     runMigrate,
	})
}

func runMigrate(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "migrate", "migrate --to postgres://… [--data DIR] [--config FILE] [--force]", `
Copies the embedded installation of the data folder into the PostgreSQL
schema of --to (its search_path, else the user's default schema): leads with
their sources, audit trail and notes, the webhook outbox (undelivered rows
stay due, delivered ones stay delivered) and its attempts, inbound claims,
burst counts, users, sessions, API tokens (as hashes: passwords and tokens
keep working), saved searches, alert rules, the crawl state (every URL
seen, run history, source health) and every post of the search index,
analysed as the Bleve index analyses it. Ids and times are kept.

Not copied: crawl leases and the list of running processes (transient),
the evidence index (it stays in riskmine.db beside the WARC files of
data_dir/evidence: copy that folder to storage every node reaches), and
any table this riskmine has no PostgreSQL table for yet (listed as NOT
COPIED in the summary; its rows stay in riskmine.db).

Everything is written in one transaction: on an error nothing is left in
the target, and the error names the table and row. The data folder is not
written. Stop serve first: a data folder in use is refused. A target that
already holds riskmine data is refused unless --force.

Progress goes to stderr, the summary to stdout.`)
	to := fs.String("to", "", "PostgreSQL address to move into, e.g. postgres://riskmine@127.0.0.1:5432/riskmine (required)")
	force := fs.Bool("force", false, "empty riskmine's tables in the target first (TRUNCATE, in the copy's transaction) when it already holds data")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		fs.Usage()
		return errUsage
	}
	if *to == "" {
		return errors.New("--to is required: the PostgreSQL address to move into, e.g. postgres://riskmine@127.0.0.1:5432/riskmine")
	}
	cfg, err := loadConfig(cf)
	if err != nil {
		return err
	}
	lastPosts := time.Now()
	res, err := storemigrate.Run(ctx, storemigrate.Options{
		DataDir:  cfg.DataDir,
		DSN:      *to,
		Force:    *force,
		Alerts:   service.AlertsOptions(cfg, slog.New(slog.DiscardHandler)),
		Location: cfg.Location(),
		OnTable:  func(tr storemigrate.TableResult) { printTable(env.stderr, tr) },
		OnPosts: func(done, total uint64) {
			if done == total || time.Since(lastPosts) >= 2*time.Second {
				lastPosts = time.Now()
				fmt.Fprintf(env.stderr, "  search_posts: %d of %d posts\n", done, total)
			}
		},
	})
	if err != nil {
		return err
	}
	printMigrateSummary(env.stdout, res, cfg.DataDir, pgdb.Redact(*to))
	return nil
}

// printTable is one line of progress: a table copied, or not and why.
func printTable(w io.Writer, tr storemigrate.TableResult) {
	switch {
	case tr.Copied:
		fmt.Fprintf(w, "  %-22s %9d rows copied (%s)\n", tr.Name, tr.Rows, tr.Elapsed.Round(time.Millisecond))
	default:
		fmt.Fprintf(w, "  %-22s %9d rows not copied: %s\n", tr.Name, tr.Rows, tr.Why)
	}
}

// printMigrateSummary prints the rows of each table, the posts and the
// time, then the tables left behind.
func printMigrateSummary(w io.Writer, res *storemigrate.Result, from, to string) {
	fmt.Fprintf(w, "%-22s %9s\n", "table", "rows")
	var left []storemigrate.TableResult
	for _, tr := range res.Tables {
		if !tr.Copied {
			if tr.Rows > 0 {
				left = append(left, tr)
			}
			continue
		}
		fmt.Fprintf(w, "%-22s %9d\n", tr.Name, tr.Rows)
	}
	for _, tr := range left {
		fmt.Fprintf(w, "not copied: %s (%d rows): %s\n", tr.Name, tr.Rows, tr.Why)
	}
	forced := ""
	if res.Forced {
		forced = " (--force: what the target held was replaced)"
	}
	fmt.Fprintf(w, "moved %d rows and %d posts from %s into %s in %s%s\n", res.Rows(), res.Posts, from, to, res.Elapsed.Round(time.Millisecond), forced)
}
