package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"riskmine/index"
	"riskmine/nlp"
	"riskmine/service"
)

func init() {
	register(&command{
		name:    "search",
		summary: "search the index (Chinese query syntax, filters, facets)",
		run:     runSearch,
	})
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

func runSearch(ctx context.Context, env *cmdEnv, args []string) error {
	fs, cf := newFlagSet(env, "search", "search QUERY [flags]",
		`Searches the index of the data folder. QUERY uses the query-string syntax:
words (火灾), "exact phrases or fragments" ("基站起火"), +must -mustnot,
field:value (title:爆炸, category:fire, source:news), ranges (score:>=6,
published_at:>"2026-05-01"). Matches are shown in [brackets] (bold on a
terminal); --json prints {"total","hits":[...],"facets":{...}} with <mark> in
the fragments.`)
	var categories, sources, sites, locations listFlag
	fs.Var(&categories, "category", "keep posts of this category code (repeatable, or comma-separated)")
	fs.Var(&sources, "source", "keep posts of this source (repeatable)")
	fs.Var(&sites, "site", "keep posts of this site (repeatable)")
	fs.Var(&locations, "location", "keep posts naming this division code or a place inside it (35, 3501, 350105…)")
	level := fs.String("level", "", "minimum level: low, medium, high or critical")
	since := fs.String("since", "", "published at or after: 2026-05-01, 2026-05-01T08:00:00+08:00, or 7d / 24h ago")
	until := fs.String("until", "", "published before (same forms as --since)")
	sortBy := fs.String("sort", "relevance", "relevance, time (newest first) or score (risk score)")
	limit := fs.Int("limit", 10, "number of hits to show (at most 1000)")
	from := fs.Int("from", 0, "skip this many hits (pagination)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	// Load the segmenter while the config and the index are opened.
	go nlp.WarmUp()
	q := index.Query{
		Text:       strings.Join(pos, " "),
		Categories: categories,
		Sources:    sources,
		Sites:      sites,
		Locations:  locations,
		MinLevel:   *level,
		Sort:       *sortBy,
		Size:       *limit,
		From:       *from,
	}
	if *limit < 1 {
		return fmt.Errorf("--limit must be at least 1, got %d", *limit)
	}
	cfg, err := loadEmbeddedConfig(cf)
	if err != nil {
		return err
	}
	q.Location = cfg.Location()
	now := time.Now().In(cfg.Location())
	if q.Since, err = parseWhen(*since, now); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if q.Until, err = parseWhen(*until, now); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	log, err := newLogger(env.stderr, cfg.Log)
	if err != nil {
		return err
	}
	if !index.Exists(service.IndexPath(cfg)) {
		return fmt.Errorf("no index in %s: run 'riskmine index import FILE.jsonl' or 'riskmine serve' first", service.IndexPath(cfg))
	}
	ix, err := service.OpenIndex(cfg, log)
	if err != nil {
		return err
	}
	defer ix.Close()
	res, err := ix.Search(ctx, q)
	if err != nil {
		if errors.Is(err, index.ErrBadQuery) {
			return fmt.Errorf("%w (see 'Search syntax' in the README)", err)
		}
		return err
	}
	for i := range res.Hits {
		if !res.Hits[i].PublishedAt.IsZero() {
			res.Hits[i].PublishedAt = res.Hits[i].PublishedAt.In(q.Location)
		}
	}
	if *asJSON {
		return res.WriteJSON(env.stdout)
	}
	printResult(env.stdout, res, q.From, isTerminal(env.stdout))
	return nil
}

// parseWhen reads --since/--until: an age before now, or a date or
// date-time, taken in now's zone when it names none.
func parseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-05-01), a date-time (2026-05-01T08:00:00+08:00) or an age (7d, 36h)", s)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// plain turns an HTML fragment into terminal text: marks become bold (on a
// terminal) or brackets, entities are unescaped.
func plain(frag string, tty bool) string {
	open, close := "[", "]"
	if tty {
		open, close = "\x1b[1m", "\x1b[0m"
	}
	frag = strings.ReplaceAll(frag, "<mark>", open)
	frag = strings.ReplaceAll(frag, "</mark>", close)
	return html.UnescapeString(frag)
}

func printResult(w io.Writer, res *index.Result, from int, tty bool) {
	fmt.Fprintf(w, "%d results (%.1f ms)\n", res.Total, res.TookMS)
	for i, h := range res.Hits {
		title := h.Title
		if f := h.Fragments["title"]; len(f) > 0 {
			title = plain(f[0], tty)
		}
		fmt.Fprintf(w, "\n%d. [%s %.1f] %s\n", from+i+1, h.Level, h.RiskScore, title)
		var meta []string
		if !h.PublishedAt.IsZero() {
			meta = append(meta, h.PublishedAt.Format("2006-01-02 15:04 -07:00"))
		}
		if h.Source != "" {
			meta = append(meta, h.Source)
		}
		if len(h.Categories) > 0 {
			meta = append(meta, strings.Join(h.Categories, ","))
		}
		if h.URL != "" {
			meta = append(meta, h.URL)
		}
		if len(meta) > 0 {
			fmt.Fprintf(w, "   %s\n", strings.Join(meta, "  "))
		}
		for _, f := range h.Fragments["body"] {
			fmt.Fprintf(w, "   %s\n", strings.ReplaceAll(plain(f, tty), "\n", " "))
		}
	}
	if res.Facets == nil || res.Total == 0 {
		return
	}
	fmt.Fprintln(w)
	facet := func(name string, fc []index.FacetCount) {
		if len(fc) == 0 {
			return
		}
		parts := make([]string, 0, len(fc))
		for _, c := range fc {
			parts = append(parts, fmt.Sprintf("%s %d", c.Term, c.Count))
		}
		fmt.Fprintf(w, "%-11s %s\n", name+":", strings.Join(parts, ", "))
	}
	facet("categories", res.Facets.Categories)
	facet("levels", res.Facets.Levels)
	facet("sources", res.Facets.Sources)
	facet("locations", res.Facets.Locations)
	if d := res.Facets.Days; len(d) > 0 {
		// The most recent two weeks of the histogram.
		facet("days", d[max(0, len(d)-14):])
	}
}
