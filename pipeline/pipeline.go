// Package pipeline carries a crawled page to storage: it scores the page
// with nlp, files a lead in alerts when the page's level reaches the lead
// level, archives the page as evidence, counts it for burst detection and
// adds it to the index, and acknowledges it only once all that is durable.
// It depends on small interfaces for each store, so `riskmine crawl`,
// `riskmine serve` and other store backends run the same code.
package pipeline

// This file shows the whole path of a page: the crawler hands a crawler.Page
// to Pipeline.Emit; the analysis stage scores it with nlp; the store stage
// files it with alerts (when its level reaches the lead level) and adds it to
// the index with the lead's id; the commit stage waits until the index has
// the post on disk (in its journal: Bleve gets it in large batches in the
// background, and the journal is replayed after a crash). Only then does Emit return, and only then does the
// crawler record the page's state, so a crash never leaves a page marked as
// crawled whose post is not stored. Every stage is fed by a bounded queue, so
// a slow stage holds back the crawler instead of piling pages up in memory.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"riskmine/alerts"
	"riskmine/crawler"
	"riskmine/evidence"
	"riskmine/index"
	"riskmine/nlp"
)

// ErrClosed is returned by Emit after Close.
var ErrClosed = errors.New("pipeline: closed")

// Options are what the pipeline needs of the rest of the process.
type Options struct {
	Analyzer  Analyzer
	Index     Index
	Leads     Leads
	LeadLevel string
	// LeadLevels overrides LeadLevel for single categories.
	LeadLevels map[string]string
	// Workers is the number of analysis goroutines (default: one per core).
	Workers int
	// QueueSize bounds each queue between stages (default 64).
	QueueSize int
	Metrics   *Metrics
	Logger    *slog.Logger
	// Bursts, when set, counts each post in its category × county series
	// (alerts.burst) at BurstLevel or above.
	Bursts     BurstRecorder
	BurstLevel string
	// SpaceCheck, when set, refuses pages while it returns an error (the
	// data folder is short of space): the run stops with the reason
	// instead of fetching pages that cannot be kept.
	SpaceCheck func() error
	// Evidence, when set, archives the page of every post that files a
	// lead before the page is acknowledged. Unset, captures are dropped.
	Evidence Archiver
}

// Archiver keeps pages as evidence (*evidence.Archive).
type Archiver interface {
	Put(ctx context.Context, p evidence.Page) (evidence.Entry, bool, error)
	ForURLs(ctx context.Context, urls []string) ([]evidence.Entry, error)
}

// Analyzer scores posts (*nlp.Analyzer, or a service's LiveAnalyzer).
type Analyzer interface {
	Analyze(in nlp.Input) *nlp.Assessment
}

// Index is what the pipeline needs of the search index (*index.Index):
// adding a post, and waiting until the posts added are on disk.
type Index interface {
	Add(ctx context.Context, d index.Doc) error
	Sync(ctx context.Context) error
}

// Leads is what the pipeline needs of the lead store (alerts.Store):
// filing a candidate, and recording an archived capture in a lead's
// audit trail.
type Leads interface {
	File(ctx context.Context, c alerts.Candidate) (alerts.FileResult, error)
	RecordCapture(ctx context.Context, leadID string, c alerts.CaptureNote) (bool, error)
}

// BurstRecorder counts posts per category and county (an
// alerts.ServiceStore).
type BurstRecorder interface {
	RecordBurstPost(ctx context.Context, p alerts.BurstPost) error
}

// Pipeline runs pages through analysis and into the index and the lead store.
type Pipeline struct {
	opts      Options
	analyzed  chan *pageJob    // analysis stage → store stage
	queued    chan *pageJob    // Emit → analysis stage
	stored    chan *pageJob    // store stage → commit stage
	archiving chan archiveWork // store stage → archive workers

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

// pageJob is one page on its way through the stages.
type pageJob struct {
	ctx      context.Context
	page     crawler.Page
	as       *nlp.Assessment
	received time.Time
	done     chan error
	// archived, when the post's page is being archived, receives the
	// archive's outcome; the page is acknowledged only after it.
	archived chan error
}

// archiveWorkers is how many pages are archived at once, beside the store
// stage: archiving syncs a file per page, and the posts behind a filed
// one need not wait for that.
const archiveWorkers = 2

// New starts the stage goroutines; Close stops them.
func New(opts Options) *Pipeline {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{
		opts:      opts,
		queued:    make(chan *pageJob, opts.QueueSize),
		analyzed:  make(chan *pageJob, opts.QueueSize),
		stored:    make(chan *pageJob, opts.QueueSize),
		archiving: make(chan archiveWork, opts.QueueSize),
	}
	var analysts sync.WaitGroup
	for range opts.Workers {
		analysts.Add(1)
		go func() {
			defer analysts.Done()
			for j := range p.queued {
				p.analyze(j)
			}
		}()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		analysts.Wait()
		close(p.analyzed)
	}()
	for range archiveWorkers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for w := range p.archiving {
				w.done <- p.archive(w)
			}
		}()
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(p.stored)
		defer close(p.archiving)
		for j := range p.analyzed {
			if err := p.store(j); err != nil {
				j.done <- err
				continue
			}
			p.stored <- j
		}
	}()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.commit()
	}()
	if m := opts.Metrics; m != nil {
		m.queueDepth("analyze", func() float64 { return float64(len(p.queued)) })
		m.queueDepth("store", func() float64 { return float64(len(p.analyzed)) })
		m.queueDepth("commit", func() float64 { return float64(len(p.stored)) })
		m.queueDepth("archive", func() float64 { return float64(len(p.archiving)) })
	}
	return p
}

// Emit is the crawler's emit function. It returns nil only once the page is
// durable: filed in the lead store (a committed SQLite transaction) and on
// disk in the index. The crawler records a page's state only after that, so
// a page abandoned by shutdown, a crash or a failed write is fetched again
// next run. Both writes are idempotent (keyed by canonical URL), so a page
// stored just before its acknowledgement was lost does no harm when it
// comes again: it is still one document and one lead source.
func (p *Pipeline) Emit(ctx context.Context, page crawler.Page) error {
	if check := p.opts.SpaceCheck; check != nil {
		if err := check(); err != nil {
			return fmt.Errorf("%w: %w", crawler.ErrStopRun, err)
		}
	}
	if p.opts.Evidence == nil {
		page.Capture = nil // captures hold whole bodies: let go at once
	}
	j := &pageJob{ctx: ctx, page: page, received: time.Now(), done: make(chan error, 1)}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return ErrClosed
	}
	select {
	case p.queued <- j:
		p.mu.RUnlock()
	case <-ctx.Done():
		p.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-j.done:
		if m := p.opts.Metrics; m != nil {
			m.pipelineLatency.Observe(time.Since(j.received).Seconds())
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting pages and waits for the stages to drain.
func (p *Pipeline) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queued)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// analyze is the analysis stage: normalise, segment, score, extract places.
func (p *Pipeline) analyze(j *pageJob) {
	if j.ctx.Err() != nil {
		j.done <- j.ctx.Err()
		return
	}
	start := time.Now()
	ref := j.page.PublishedAt
	if ref.IsZero() {
		ref = j.page.FetchedAt
	}
	j.as = p.opts.Analyzer.Analyze(nlp.Input{ID: j.page.CanonicalURL, Title: j.page.Title, Text: j.page.Text, Ref: ref, Words: true})
	if !p.filesLead(j.as) {
		j.page.Capture = nil // only pages that file a lead are archived
	}
	if m := p.opts.Metrics; m != nil {
		m.ObserveStage("analyze", time.Since(start))
	}
	select {
	case p.analyzed <- j:
	case <-j.ctx.Done():
		j.done <- j.ctx.Err()
	}
}

// store is the store stage: a lead for a risky post, then the index entry
// that points at it.
func (p *Pipeline) store(j *pageJob) error {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	m := p.opts.Metrics
	var leadID string
	if p.filesLead(j.as) {
		start := time.Now()
		res, err := p.opts.Leads.File(j.ctx, leadCandidate(j.page, j.as))
		if err != nil {
			return fmt.Errorf("file %s: %w", j.page.CanonicalURL, err)
		}
		leadID = res.LeadID
		if m != nil {
			m.ObserveStage("file", time.Since(start))
			top := "none"
			if len(j.as.Categories) > 0 {
				top = j.as.Categories[0].Code
			}
			m.leadsFiled.WithLabelValues(top, j.as.Level, res.Outcome).Inc()
		}
		if w, ok := p.archiveWork(j, res); ok {
			j.archived = w.done
			select {
			case p.archiving <- w:
			case <-j.ctx.Done():
				return j.ctx.Err()
			}
		}
	}
	j.page.Capture = nil
	if p.opts.Bursts != nil {
		if bp, ok := BurstPost(j.page, j.as, p.opts.BurstLevel); ok {
			if err := p.opts.Bursts.RecordBurstPost(j.ctx, bp); err != nil {
				return fmt.Errorf("count %s: %w", j.page.CanonicalURL, err)
			}
		}
	}
	start := time.Now()
	if err := p.opts.Index.Add(j.ctx, IndexDoc(j.page, j.as, leadID)); err != nil {
		return fmt.Errorf("index %s: %w", j.page.CanonicalURL, err)
	}
	if m != nil {
		m.ObserveStage("index", time.Since(start))
		m.postsByLevel.WithLabelValues(j.as.Level).Inc()
	}
	return nil
}

// commitWait bounds how long the commit stage waits for the index to
// persist a group of posts; a disk that fails reports sooner.
const commitWait = 2 * time.Minute

// commit is the commit stage: it takes every post stored so far, waits
// until the index has them on disk with one Sync of its journal (a group
// commit, so the cost of an fsync is shared by the posts in flight) and
// acknowledges them, a post whose page is being archived once the archive
// holds it too. A failed sync or archive fails the post, and its page is
// fetched again next run.
func (p *Pipeline) commit() {
	var group []*pageJob
	for j := range p.stored {
		group = append(group[:0], j)
	drain:
		for len(group) < cap(p.stored) {
			select {
			case j, ok := <-p.stored:
				if !ok {
					break drain
				}
				group = append(group, j)
			default:
				break drain
			}
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), commitWait)
		err := p.opts.Index.Sync(ctx)
		cancel()
		if err != nil {
			err = fmt.Errorf("index %d posts: %w", len(group), err)
		}
		if m := p.opts.Metrics; m != nil {
			m.ObserveStage("commit", time.Since(start))
		}
		for _, j := range group {
			if j.archived == nil {
				j.done <- err
				continue
			}
			// A page still being archived is acknowledged when that ends,
			// without holding back the next group.
			go func() {
				jerr := err
				if aerr := <-j.archived; aerr != nil {
					jerr = errors.Join(jerr, fmt.Errorf("archive %s: %w", j.page.CanonicalURL, aerr))
				}
				j.done <- jerr
			}()
		}
	}
}

// IndexDoc maps a page and its assessment to an index document.
func IndexDoc(page crawler.Page, as *nlp.Assessment, leadID string) index.Doc {
	d := index.Doc{
		ID:           page.CanonicalURL,
		URL:          page.URL,
		CanonicalURL: page.CanonicalURL,
		Source:       page.Source,
		Site:         page.Site,
		Title:        page.Title,
		Body:         page.Text,
		PublishedAt:  page.PublishedAt,
		FetchedAt:    page.FetchedAt,
		Level:        as.Level,
		Score:        as.Score,
		LeadID:       leadID,
	}
	for _, c := range as.Categories {
		d.Categories = append(d.Categories, c.Code)
	}
	d.LocationCodes, d.LocationNames = resolvedLocations(as.Locations)
	for _, fw := range as.Words {
		w := &index.Words{Normalized: fw.Normalized, Orig: fw.Orig, Tokens: make([]index.Token, len(fw.Tokens))}
		for i, t := range fw.Tokens {
			w.Tokens[i] = index.Token{Text: t.Text, Start: t.Start, End: t.End}
		}
		switch fw.Field {
		case "title":
			d.TitleWords = w
		case "text":
			d.BodyWords = w
		}
	}
	return d
}

// resolvedLocations lists the distinct division codes of the locations and
// their names, in parallel.
func resolvedLocations(locs []nlp.Location) (codes, names []string) {
	seen := map[string]bool{}
	for _, l := range locs {
		if l.Code == "" || seen[l.Code] {
			continue
		}
		seen[l.Code] = true
		codes = append(codes, l.Code)
		names = append(names, l.Name)
	}
	return codes, names
}

// leadPlace returns the post's most precise road, place or place abroad
// and the code of the smallest division the post names (the division it
// lies in), or "" when it names no spot below its divisions.
func leadPlace(locs []nlp.Location) (text, code string) {
	best, ok := nlp.PreciseLocation(locs)
	if !ok || best.Kind == "admin" {
		return "", ""
	}
	if best.Kind == "foreign" {
		return best.Text, ""
	}
	for _, l := range locs {
		if len(l.Code) > len(code) {
			code = l.Code
		}
	}
	return best.Text, code
}

// leadCandidate maps a page and its assessment to a candidate for filing.
func leadCandidate(page crawler.Page, as *nlp.Assessment) alerts.Candidate {
	c := alerts.Candidate{
		URL:          page.URL,
		CanonicalURL: page.CanonicalURL,
		Site:         page.Site,
		Source:       page.Source,
		Title:        page.Title,
		Snippet:      clipRunes(page.Text, alerts.SourceTextRunes),
		PublishedAt:  page.PublishedAt,
		SeenAt:       page.FetchedAt,
		Level:        as.Level,
		Score:        as.Score,
		SimHash:      as.SimHash,
		Terms:        as.Keywords,
	}
	if c.Site == "" {
		if u, err := url.Parse(page.URL); err == nil {
			c.Site = u.Host
		}
	}
	for _, cs := range as.Categories {
		c.Categories = append(c.Categories, alerts.CategoryScore{Code: cs.Code, Score: cs.Score})
	}
	c.LocationCodes, c.LocationNames = resolvedLocations(as.Locations)
	c.Place, c.PlaceCode = leadPlace(as.Locations)
	for _, e := range as.Evidence {
		c.Evidence = append(c.Evidence, alerts.Evidence{Rule: e.Rule, Category: e.Category, Field: e.Field, Text: e.Text, Start: e.Start, End: e.End, Weight: e.Weight})
	}
	top := ""
	if len(as.Categories) > 0 {
		top = as.Categories[0].Code
	}
	var cues []nlp.SeverityCue
	for _, q := range as.Severity {
		if nlp.CueApplies(top, q) { // 买好了药 in a cold remedy post sets no level
			cues = append(cues, q)
		}
	}
	for _, q := range keptCues(cues) {
		c.LevelCues = append(c.LevelCues, alerts.LevelCue{Kind: q.Kind, Level: q.Level, Field: q.Field, Text: q.Text, Start: q.Start, End: q.End})
	}
	return c
}

// keptCues returns the severity cues a lead keeps for a post: all of them,
// or, past alerts.MaxLevelCues, the ones supporting the highest levels
// (modifiers last), each group in the post's order.
func keptCues(cues []nlp.SeverityCue) []nlp.SeverityCue {
	if len(cues) <= alerts.MaxLevelCues {
		return cues
	}
	cues = slices.Clone(cues)
	slices.SortStableFunc(cues, func(a, b nlp.SeverityCue) int {
		return cmp.Compare(nlp.LevelRank(b.Level), nlp.LevelRank(a.Level))
	})
	return cues[:alerts.MaxLevelCues]
}

func clipRunes(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// filesLead reports whether an assessment files a lead: a category at or
// above its lead level (alerts.lead_levels, else alerts.lead_level); with
// the lexicons alone, the post's level against alerts.lead_level.
func (p *Pipeline) filesLead(as *nlp.Assessment) bool {
	if len(as.Categories) == 0 || as.Categories[0].Level == "" {
		return alerts.LevelRank(as.Level) >= alerts.LevelRank(p.opts.LeadLevel)
	}
	for _, c := range as.Categories {
		lvl, ok := p.opts.LeadLevels[c.Code]
		if !ok {
			lvl = p.opts.LeadLevel
		}
		if alerts.LevelRank(c.Level) > 0 && alerts.LevelRank(c.Level) >= alerts.LevelRank(lvl) {
			return true
		}
	}
	return false
}

// An alerts.ServiceStore is everything the pipeline, the alert rules, the
// burst scanner and the crawler's health changes ask of the lead store.
var (
	_ Leads         = alerts.ServiceStore(nil)
	_ Filer         = alerts.ServiceStore(nil)
	_ BurstRecorder = alerts.ServiceStore(nil)
	_ BurstStore    = alerts.ServiceStore(nil)
	_ HealthSink    = alerts.ServiceStore(nil)
)
