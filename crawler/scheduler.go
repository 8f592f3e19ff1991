package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// ErrRunning is returned by Trigger when the source is already running: a
// manual trigger during a run is refused, not queued. A cron tick that finds
// its source still running is skipped the same way. Crawler.Run returns it
// (wrapped) when another process sharing the database runs the source.
var ErrRunning = errors.New("crawler: source is already running")

// ErrUnknownSource is returned for a source name that is not configured.
var ErrUnknownSource = errors.New("crawler: unknown source")

// ErrStopped is returned by Trigger after Stop.
var ErrStopped = errors.New("crawler: scheduler stopped")

// SchedulerOptions configure a Scheduler.
type SchedulerOptions struct {
	// Jitter is the largest random delay added before a scheduled run, so
	// sources on the same spec do not all start at once.
	Jitter time.Duration
	// Logger receives run errors (the scheduler is where they stop).
	Logger *slog.Logger
	// Location is the time zone of cron specs (default time.Local).
	Location *time.Location
}

// Scheduler runs sources on their cron specs and on demand, never two runs
// of one source at once, and keeps their progress for the UI.
type Scheduler struct {
	c       *Crawler
	emit    EmitFunc
	opts    SchedulerOptions
	log     *slog.Logger
	cron    *cron.Cron
	sources map[string]Source
	entries map[string]cron.EntryID

	ctx    context.Context // parent of every run; cancelled by Stop's deadline
	cancel context.CancelFunc

	stopCh chan struct{} // closed by Stop: ends jitter pauses

	mu      sync.Mutex
	running map[string]*Progress
	stopped bool
	wg      sync.WaitGroup
}

// cronParser accepts the 5-field specs and descriptors (@hourly, @every 10m)
// that config validation accepts.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// NewScheduler prepares a scheduler over sources; emit receives every page
// of every run. Sources with an empty Schedule run only when triggered.
func NewScheduler(c *Crawler, sources []Source, emit EmitFunc, opts SchedulerOptions) (*Scheduler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		c: c, emit: emit, opts: opts, log: opts.Logger,
		cron:    cron.New(cron.WithParser(cronParser), cron.WithLocation(opts.Location)),
		sources: map[string]Source{}, entries: map[string]cron.EntryID{},
		ctx: ctx, cancel: cancel, running: map[string]*Progress{}, stopCh: make(chan struct{}),
	}
	for _, src := range sources {
		src, err := src.withDefaults()
		if err != nil {
			cancel()
			return nil, err
		}
		if _, dup := s.sources[src.Name]; dup {
			cancel()
			return nil, fmt.Errorf("crawler: source %s configured twice", src.Name)
		}
		s.sources[src.Name] = src
		if src.Schedule == "" {
			continue
		}
		name := src.Name
		id, err := s.cron.AddFunc(src.Schedule, func() { s.scheduled(name) })
		if err != nil {
			cancel()
			return nil, fmt.Errorf("crawler: source %s: schedule %q: %w", name, src.Schedule, err)
		}
		s.entries[name] = id
	}
	return s, nil
}

// Start starts the cron clock.
func (s *Scheduler) Start() { s.cron.Start() }

// scheduled is the cron job of one source: a random pause, then the run.
func (s *Scheduler) scheduled(name string) {
	p, err := s.claim(name)
	if err != nil {
		s.log.Info("scheduled crawl skipped", "source", name, "error", err)
		return
	}
	var wait time.Duration
	if s.opts.Jitter > 0 {
		wait = time.Duration(rand.Int64N(int64(s.opts.Jitter)))
	}
	// The cron job returns at once so that Stop need not wait for it.
	go s.runClaimed(name, p, wait, nil)
}

// Trigger starts a run of name now, in the background. It returns
// ErrRunning when the source is running here, or a *LeaseHeldError (also
// ErrRunning) naming the holder when another process holds its lease: the
// trigger is refused, not queued. It returns ErrUnknownSource for a name
// not configured and ErrStopped after Stop.
func (s *Scheduler) Trigger(name string) error {
	p, err := s.claim(name)
	if err != nil {
		return err
	}
	// Take the lease now, so a refusal reaches the caller rather than the
	// log of a run that never starts.
	lease, err := s.c.store.AcquireLease(s.ctx, name, s.c.opts.Now)
	if err != nil {
		s.unclaim(name)
		return err
	}
	go s.runClaimed(name, p, 0, lease)
	return nil
}

// claim marks name as running.
func (s *Scheduler) claim(name string) (*Progress, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, ErrStopped
	}
	if _, ok := s.sources[name]; !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSource, name)
	}
	if _, busy := s.running[name]; busy {
		return nil, fmt.Errorf("%w: %s", ErrRunning, name)
	}
	p := &Progress{}
	s.running[name] = p
	s.wg.Add(1)
	return p, nil
}

// unclaim undoes claim for a run that does not start.
func (s *Scheduler) unclaim(name string) {
	s.mu.Lock()
	delete(s.running, name)
	s.mu.Unlock()
	s.wg.Done()
}

// runClaimed runs a claimed source after wait and releases it. lease, when
// not nil, is the source's lease already taken; otherwise the run takes it.
func (s *Scheduler) runClaimed(name string, p *Progress, wait time.Duration, lease *Lease) {
	defer s.unclaim(name)
	if wait > 0 {
		tm := time.NewTimer(wait)
		select {
		case <-tm.C:
		case <-s.stopCh:
			tm.Stop()
			return
		}
	}
	var run Run
	var err error
	if lease != nil {
		run, err = s.c.runHeld(s.ctx, s.sources[name], s.emit, p, lease)
	} else {
		run, err = s.c.Run(s.ctx, s.sources[name], s.emit, p)
	}
	switch {
	case errors.Is(err, ErrRunning):
		// Another process holds the lease: the tick is skipped, as the
		// in-process check skips it.
		s.log.Info("scheduled crawl skipped", "source", name, "error", err)
	case err != nil:
		s.log.Error("crawl run failed", "source", name, "run_id", run.ID, "error", err)
	}
}

// Progress returns the counts so far of a running source; ok is false when
// it is not running.
func (s *Scheduler) Progress(name string) (Stats, bool) {
	s.mu.Lock()
	p, ok := s.running[name]
	s.mu.Unlock()
	if !ok {
		return Stats{}, false
	}
	return p.Snapshot(), true
}

// Running returns the names of the sources running now, sorted.
func (s *Scheduler) Running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.running))
	for n := range s.running {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Sources returns the configured sources (defaults filled in), by name.
func (s *Scheduler) Sources() []Source {
	out := make([]Source, 0, len(s.sources))
	for _, src := range s.sources {
		out = append(out, src)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// NextRun returns when name is next scheduled (before jitter); ok is false
// for a manual-only source or before Start.
func (s *Scheduler) NextRun(name string) (time.Time, bool) {
	id, ok := s.entries[name]
	if !ok {
		return time.Time{}, false
	}
	next := s.cron.Entry(id).Next
	return next, !next.IsZero()
}

// Runs returns the latest runs of source ("" for all), newest first.
func (s *Scheduler) Runs(ctx context.Context, source string, limit int) ([]Run, error) {
	return s.c.store.Runs(ctx, source, limit)
}

// LastRun returns the latest run of source; ok is false when it never ran.
func (s *Scheduler) LastRun(ctx context.Context, source string) (Run, bool, error) {
	return s.c.store.LastRun(ctx, source)
}

// Stop stops the cron clock, refuses new triggers and waits for running
// scans to finish. When ctx ends first, the runs are cancelled (pages not
// yet emitted are fetched again next time) and Stop waits for them to
// record their end, returning ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.stopCh)
	}
	s.mu.Unlock()
	<-s.cron.Stop().Done()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return ctx.Err()
	}
}
