package crawler

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"riskmine/internal/sqlitedb"
)

// Health problems of a source, judged after each run.
const (
	// HealthNoItems: the source's list pages, feeds or sitemaps yielded no
	// item (link, entry, URL) for Options.HealthEmptyRuns runs in a row,
	// for a reason other than the two below (the site down, timeouts, …).
	HealthNoItems = "no_items"
	// HealthSelectors: list pages answered 2xx but list.items matched
	// nothing on them (the site changed its layout).
	HealthSelectors = "selectors"
	// HealthRobots: robots.txt refused the source's list pages, feeds or
	// sitemaps and none could be read.
	HealthRobots = "robots"
)

// HealthProblems lists the problems in the order they are shown.
var HealthProblems = []string{HealthRobots, HealthSelectors, HealthNoItems}

// DefaultHealthEmptyRuns is Options.HealthEmptyRuns when not set.
const DefaultHealthEmptyRuns = 3

// runSignals are what a run saw of its source's health; Progress holds
// them and the run's list, feed and sitemap steps count into them.
type runSignals struct {
	// listOK counts list pages, feeds and sitemaps that answered 2xx.
	listOK atomic.Int64
	// emptyLists counts HTML list pages that answered 2xx with no
	// list.items match.
	emptyLists atomic.Int64
	// items counts item links, feed entries and sitemap URLs found.
	items atomic.Int64
	// robotsLists counts list pages, feeds and sitemaps refused by
	// robots.txt.
	robotsLists atomic.Int64
}

// listRead counts a list page, feed or sitemap read with n items.
func (s *runSignals) listRead(n int, html bool) {
	s.listOK.Add(1)
	s.items.Add(int64(n))
	if html && n == 0 {
		s.emptyLists.Add(1)
	}
}

// HealthChange is a source's problem beginning (Failing) or ending.
type HealthChange struct {
	Source  string `json:"source"`
	Site    string `json:"site,omitempty"`
	Problem string `json:"problem"`
	Failing bool   `json:"failing"`
	// Since is when the problem began (the first run that showed it).
	Since time.Time `json:"since"`
	// At is the end of the run that changed the state.
	At time.Time `json:"at"`
	// Runs is how many runs in a row showed the problem (for a recovery:
	// how many did before this one).
	Runs int `json:"runs"`
	// ListPages, EmptyLists, Items and RobotsRefused are the run's counts.
	ListPages     int64 `json:"list_pages"`
	EmptyLists    int64 `json:"empty_lists"`
	Items         int64 `json:"items"`
	RobotsRefused int64 `json:"robots_refused"`
}

// HealthState is one problem's state for one source.
type HealthState struct {
	Problem string    `json:"problem"`
	Failing bool      `json:"failing"`
	Runs    int       `json:"runs"` // runs in a row that showed it
	Since   time.Time `json:"since,omitzero"`
	Checked time.Time `json:"checked"`
}

// SourceHealth is a source's health as the sources page shows it.
type SourceHealth struct {
	Source string `json:"source"`
	// Failing lists the problems going on, in HealthProblems order.
	Failing []HealthState `json:"failing"`
	// EmptyRuns counts the latest runs in a row without any item.
	EmptyRuns int       `json:"empty_runs"`
	Checked   time.Time `json:"checked"`
}

// OK reports whether no problem is going on.
func (h SourceHealth) OK() bool { return len(h.Failing) == 0 }

// healthTable is a step of the crawl schema; earlier releases created the
// table on first use, so it says IF NOT EXISTS to adopt theirs.
const healthTable = `CREATE TABLE IF NOT EXISTS crawl_source_health (
	source  TEXT NOT NULL,
	problem TEXT NOT NULL,
	failing INTEGER NOT NULL DEFAULT 0,
	runs    INTEGER NOT NULL DEFAULT 0,
	since   INTEGER NOT NULL DEFAULT 0,
	checked INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (source, problem)
)`

// runVerdict is which problems one run showed; the no-items problem
// only counts a run that neither robots.txt nor the selectors explain, so
// one cause is told once.
func runVerdict(src Source, s *runSignals) map[string]bool {
	listOK, items := s.listOK.Load(), s.items.Load()
	v := map[string]bool{
		HealthRobots:    s.robotsLists.Load() > 0 && listOK == 0,
		HealthSelectors: src.Kind == KindHTML && s.emptyLists.Load() > 0 && items == 0,
	}
	v[HealthNoItems] = items == 0 && !v[HealthRobots] && !v[HealthSelectors]
	return v
}

// judgeHealth updates the source's health after a run that ended without
// an error and returns the changes: a problem begins when a run shows it
// (no_items: the HealthEmptyRuns-th run in a row), ends when a run does
// not. Each change is handed to Options.OnHealth once; when that fails the
// change is not recorded, so the next run hands it on again.
func (c *Crawler) judgeHealth(ctx context.Context, src Source, run Run, s *runSignals) ([]HealthChange, error) {
	verdict := runVerdict(src, s)
	states, err := c.store.HealthStates(ctx, src.Name)
	if err != nil {
		return nil, err
	}
	limit := c.opts.HealthEmptyRuns
	if limit <= 0 {
		limit = DefaultHealthEmptyRuns
	}
	var changes []HealthChange
	for _, p := range HealthProblems {
		st := states[p]
		st.Problem, st.Checked = p, run.Ended
		wasFailing := st.Failing
		explained := p == HealthNoItems && !verdict[p] && s.items.Load() == 0
		switch {
		case verdict[p]:
			if st.Runs == 0 {
				st.Since = run.Started
			}
			st.Runs++
			need := 1
			if p == HealthNoItems {
				need = limit
			}
			st.Failing = st.Runs >= need
		case explained:
			// No items, but robots.txt or the selectors say why: the
			// streak neither grows nor ends.
		default:
			st.Failing = false
		}
		if st.Failing != wasFailing {
			ch := HealthChange{Source: src.Name, Site: src.Site, Problem: p, Failing: st.Failing, Since: st.Since,
				At: run.Ended, Runs: st.Runs, ListPages: s.listOK.Load(), EmptyLists: s.emptyLists.Load(),
				Items: s.items.Load(), RobotsRefused: s.robotsLists.Load()}
			if c.opts.OnHealth != nil {
				if err := c.opts.OnHealth(ctx, ch); err != nil {
					c.log.Warn("source health change not handed on; tried again after the next run",
						"source", src.Name, "problem", p, "failing", st.Failing, "error", err)
					st.Failing = wasFailing
					if err := c.store.SaveHealth(ctx, src.Name, st); err != nil {
						return changes, err
					}
					continue
				}
			}
			c.log.Info("source health changed", "source", src.Name, "problem", p, "failing", st.Failing, "runs", st.Runs)
			changes = append(changes, ch)
		}
		if !verdict[p] && !explained {
			st.Runs, st.Since = 0, time.Time{}
		}
		if err := c.store.SaveHealth(ctx, src.Name, st); err != nil {
			return changes, err
		}
	}
	return changes, nil
}

// observeHealth judges the health after a finished run; a run that
// stopped with an error (shutdown, a lost lease, a bad source) says
// nothing about the site and is left out.
func (c *Crawler) observeHealth(ctx context.Context, src Source, run Run, p *Progress, runErr error) {
	if runErr != nil || p == nil {
		return
	}
	if _, err := c.judgeHealth(context.WithoutCancel(ctx), src, run, &p.health); err != nil {
		c.log.Warn("source health not recorded", "source", src.Name, "error", err)
	}
}

// HealthStates returns source's health by problem.
func (s *Store) HealthStates(ctx context.Context, source string) (map[string]HealthState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT problem, failing, runs, since, checked FROM crawl_source_health WHERE source = ?`, source)
	if err != nil {
		return nil, fmt.Errorf("crawler: health of %s: %w", source, err)
	}
	out := map[string]HealthState{}
	err = sqlitedb.Each(rows, func(rows *sql.Rows) error {
		var st HealthState
		var since, checked int64
		if err := rows.Scan(&st.Problem, &st.Failing, &st.Runs, &since, &checked); err != nil {
			return err
		}
		st.Since, st.Checked = fromMillis(since), fromMillis(checked)
		out[st.Problem] = st
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("crawler: health of %s: %w", source, err)
	}
	return out, nil
}

// SaveHealth records source's state of problem st.Problem.
func (s *Store) SaveHealth(ctx context.Context, source string, st HealthState) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO crawl_source_health(source, problem, failing, runs, since, checked) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(source, problem) DO UPDATE SET failing = excluded.failing, runs = excluded.runs, since = excluded.since, checked = excluded.checked`,
		source, st.Problem, st.Failing, st.Runs, millis(st.Since), millis(st.Checked))
	if err != nil {
		return fmt.Errorf("crawler: save health of %s: %w", source, err)
	}
	return nil
}

// Health returns the health of every source that has been judged, by name.
func (s *Store) Health(ctx context.Context) (map[string]SourceHealth, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, problem, failing, runs, since, checked FROM crawl_source_health ORDER BY source`)
	if err != nil {
		return nil, fmt.Errorf("crawler: health: %w", err)
	}
	states := map[string][]HealthState{}
	err = sqlitedb.Each(rows, func(rows *sql.Rows) error {
		var src string
		var st HealthState
		var since, checked int64
		if err := rows.Scan(&src, &st.Problem, &st.Failing, &st.Runs, &since, &checked); err != nil {
			return err
		}
		st.Since, st.Checked = fromMillis(since), fromMillis(checked)
		states[src] = append(states[src], st)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("crawler: health: %w", err)
	}
	out := make(map[string]SourceHealth, len(states))
	for src, sts := range states {
		out[src] = SummarizeHealth(src, sts)
	}
	return out, nil
}

// SummarizeHealth is a source's health from its state of each problem, as
// every State's Health reports it: the problems failing (in the order of
// HealthProblems), the streak of runs without items and the latest check.
func SummarizeHealth(source string, states []HealthState) SourceHealth {
	h := SourceHealth{Source: source}
	for _, st := range states {
		if st.Checked.After(h.Checked) {
			h.Checked = st.Checked
		}
		if st.Problem == HealthNoItems {
			h.EmptyRuns = st.Runs
		}
		if st.Failing {
			h.Failing = append(h.Failing, st)
		}
	}
	order := map[string]int{}
	for i, p := range HealthProblems {
		order[p] = i
	}
	sort.SliceStable(h.Failing, func(i, j int) bool { return order[h.Failing[i].Problem] < order[h.Failing[j].Problem] })
	return h
}

// SourceHealth returns the health of the scheduler's sources (see
// Store.Health).
func (s *Scheduler) SourceHealth(ctx context.Context) (map[string]SourceHealth, error) {
	return s.c.store.Health(ctx)
}
