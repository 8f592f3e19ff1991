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

	// Jobs, when set, is the queue that runs go through on a cluster
	// (job.go, scheduler_job.go): the leader's cron enqueues a job per
	// tick and the Work nodes claim and run them. nil keeps today's
	// behaviour: each tick runs here. Jitter does not apply to jobs.
	Jobs Jobs
	// Elect lets this node become the leader whose cron enqueues the jobs:
	// the holder of the lease LeaderLease, renewed every third of
	// LeaderTTL. Needs Jobs.
	Elect bool
	// Work makes this node claim jobs and run them. Without it, Trigger
	// enqueues a job for a worker. Needs Jobs.
	Work bool
	// JobSlots is how many jobs this node runs at once (default 4).
	JobSlots int
	// JobPoll is the pause between looks at an empty queue (default 2s).
	JobPoll time.Duration
	// JobTTL is how long a job's claim lasts without renewal (default
	// LeaseTTL): a dead worker's job is queued again after it.
	JobTTL time.Duration
	// LeaderTTL is how long leadership lasts without renewal (default
	// LeaseTTL): a dead leader's ticks are taken over after it.
	LeaderTTL time.Duration
	// JobRetention is how long finished jobs are kept; the leader purges
	// older ones (default 7 days).
	JobRetention time.Duration
}

// Scheduler runs sources on their cron specs and on demand, never two runs
// of one source at once, and keeps their progress for the UI.
type Scheduler struct {
	c    *Crawler
	emit EmitFunc
	opts SchedulerOptions
	log  *slog.Logger
	cron *cron.Cron
	base map[string]bool // the sources given to NewScheduler (the config file's)

	ctx    context.Context // parent of every run; cancelled by Stop's deadline
	cancel context.CancelFunc

	stopCh chan struct{} // closed by Stop: ends jitter pauses

	// jobs is the state of the job queue's loops (scheduler_job.go).
	jobs jobLoops

	mu      sync.Mutex
	sources map[string]Source       // guarded by mu
	entries map[string]cron.EntryID // guarded by mu
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
	if err := opts.jobDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		c: c, emit: emit, opts: opts, log: opts.Logger,
		cron:    cron.New(cron.WithParser(cronParser), cron.WithLocation(opts.Location)),
		sources: map[string]Source{}, entries: map[string]cron.EntryID{}, base: map[string]bool{},
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
		s.base[src.Name] = true
		if err := s.addLocked(src); err != nil {
			cancel()
			return nil, err
		}
	}
	return s, nil
}

// addLocked adds src and its cron entry; s.mu is held (or s not shared yet).
func (s *Scheduler) addLocked(src Source) error {
	s.sources[src.Name] = src
	if src.Schedule == "" {
		return nil
	}
	name := src.Name
	id, err := s.cron.AddFunc(src.Schedule, func() { s.scheduled(name) })
	if err != nil {
		delete(s.sources, name)
		return fmt.Errorf("crawler: source %s: schedule %q: %w", name, src.Schedule, err)
	}
	s.entries[name] = id
	return nil
}

// BaseSources returns the sources given to NewScheduler (the config
// file's), by name.
func (s *Scheduler) BaseSources() []Source {
	var out []Source
	for _, src := range s.Sources() {
		if s.base[src.Name] {
			out = append(out, src)
		}
	}
	return out
}

// SetExtraSources replaces the sources added at run time (those of the
// UI) with srcs. A name of a base source is skipped: the config file wins.
// A run in progress of a source removed or replaced finishes with the
// source it started with. On an error nothing changes.
func (s *Scheduler) SetExtraSources(srcs []Source) error {
	next := map[string]Source{}
	for _, src := range srcs {
		src, err := src.withDefaults()
		if err != nil {
			return err
		}
		if s.base[src.Name] {
			continue
		}
		if _, dup := next[src.Name]; dup {
			return fmt.Errorf("crawler: source %s given twice", src.Name)
		}
		if src.Schedule != "" {
			if _, err := cronParser.Parse(src.Schedule); err != nil {
				return fmt.Errorf("crawler: source %s: schedule %q: %w", src.Name, src.Schedule, err)
			}
		}
		next[src.Name] = src
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.sources {
		if s.base[name] {
			continue
		}
		if id, ok := s.entries[name]; ok {
			s.cron.Remove(id)
			delete(s.entries, name)
		}
		delete(s.sources, name)
	}
	for _, src := range next {
		if err := s.addLocked(src); err != nil {
			return err // not reached: the spec was parsed above
		}
	}
	return nil
}

// Start starts the cron clock and, with Jobs, the leader election (Elect)
// and the claiming of jobs (Work).
func (s *Scheduler) Start() {
	s.cron.Start()
	s.startJobLoops()
}

// scheduled is the cron job of one source: a random pause, then the run;
// with Jobs, a job enqueued when this node leads.
func (s *Scheduler) scheduled(name string) {
	if s.opts.Jobs != nil {
		s.enqueueTick(name)
		return
	}
	p, src, err := s.claim(name)
	if err != nil {
		s.log.Info("scheduled crawl skipped", "source", name, "error", err)
		return
	}
	var wait time.Duration
	if s.opts.Jitter > 0 {
		wait = time.Duration(rand.Int64N(int64(s.opts.Jitter)))
	}
	// The cron job returns at once so that Stop need not wait for it.
	go s.runClaimed(src, p, wait, nil)
}

// Trigger starts a run of name now, in the background; on a node with
// Jobs that does not Work it enqueues a job instead (TriggerQueues), and a
// worker runs it. It returns
// ErrRunning when the source is running here, or a *LeaseHeldError (also
// ErrRunning) naming the holder when another process holds its lease: the
// trigger is refused, not queued. It returns ErrUnknownSource for a name
// not configured and ErrStopped after Stop.
func (s *Scheduler) Trigger(name string) error {
	if s.TriggerQueues() {
		return s.enqueueManual(name)
	}
	p, src, err := s.claim(name)
	if err != nil {
		return err
	}
	// Take the lease now, so a refusal reaches the caller rather than the
	// log of a run that never starts.
	lease, err := acquireLease(s.ctx, s.c.store, name, s.c.opts.Now, s.c.opts.LeaseTTL)
	if err != nil {
		s.unclaim(name)
		return err
	}
	go s.runClaimed(src, p, 0, lease)
	return nil
}

// claim marks name as running.
func (s *Scheduler) claim(name string) (*Progress, Source, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, Source{}, ErrStopped
	}
	src, ok := s.sources[name]
	if !ok {
		return nil, Source{}, fmt.Errorf("%w: %q", ErrUnknownSource, name)
	}
	if _, busy := s.running[name]; busy {
		return nil, Source{}, fmt.Errorf("%w: %s", ErrRunning, name)
	}
	p := &Progress{}
	s.running[name] = p
	s.wg.Add(1)
	return p, src, nil
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
func (s *Scheduler) runClaimed(src Source, p *Progress, wait time.Duration, lease *Lease) {
	name := src.Name
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
		run, err = s.c.runHeld(s.ctx, src, s.emit, p, lease)
	} else {
		run, err = s.c.Run(s.ctx, src, s.emit, p)
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
		if s.TriggerQueues() {
			return s.elsewhere(name)
		}
		return Stats{}, false
	}
	return p.Snapshot(), true
}

// elsewhere is Progress on a node that does not crawl (an api node of a
// cluster): a source whose lease a worker holds is running there. Its
// counts live on that worker; Elsewhere names it.
func (s *Scheduler) elsewhere(name string) (Stats, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	h, err := s.c.Store().LeaseHolder(ctx, name)
	if err != nil || h == nil || !h.Until.After(s.now()) {
		return Stats{}, false
	}
	where := h.Holder
	if h.Instance != nil {
		where = h.Instance.String()
	}
	return Stats{Elsewhere: where}, true
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
	s.mu.Lock()
	out := make([]Source, 0, len(s.sources))
	for _, src := range s.sources {
		out = append(out, src)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// NextRun returns when name is next scheduled (before jitter); ok is false
// for a manual-only source or before Start.
func (s *Scheduler) NextRun(name string) (time.Time, bool) {
	s.mu.Lock()
	id, ok := s.entries[name]
	s.mu.Unlock()
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
	s.stopJobLoops()
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
