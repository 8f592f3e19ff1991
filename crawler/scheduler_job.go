package crawler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// LeaderLease is the name of the lease whose holder leads: its cron
// enqueues the jobs of every scheduled source. It sits in the lease table
// beside the sources' leases; no source may take its name.
const LeaderLease = "crawler:leader"

// Defaults of the job options.
const (
	DefaultJobSlots     = 4
	DefaultJobPoll      = 2 * time.Second
	DefaultJobRetention = 7 * 24 * time.Hour
	// jobPurgeEvery is how often the leader purges finished jobs.
	jobPurgeEvery = time.Hour
)

// jobDefaults checks the job options and fills in their defaults.
func (o *SchedulerOptions) jobDefaults() error {
	if o.Jobs == nil {
		if o.Elect || o.Work {
			return errors.New("crawler: scheduler: Elect and Work need a job queue (SchedulerOptions.Jobs)")
		}
		return nil
	}
	if o.JobSlots <= 0 {
		o.JobSlots = DefaultJobSlots
	}
	if o.JobPoll <= 0 {
		o.JobPoll = DefaultJobPoll
	}
	if o.JobTTL <= 0 {
		o.JobTTL = LeaseTTL
	}
	if o.LeaderTTL <= 0 {
		o.LeaderTTL = LeaseTTL
	}
	if o.JobRetention <= 0 {
		o.JobRetention = DefaultJobRetention
	}
	return nil
}

// jobLoops is the state of a scheduler's leader and worker loops.
type jobLoops struct {
	leader atomic.Bool
	wg     sync.WaitGroup // the loops themselves, not the runs
	// holder is this node's name for the leader lease.
	holder string
}

// TriggerQueues reports whether Trigger enqueues a job rather than running
// the source here: on a node with Jobs that does not Work (an api node).
// The UI then answers "queued", not "running".
func (s *Scheduler) TriggerQueues() bool { return s.opts.Jobs != nil && !s.opts.Work }

// Leader reports whether this node leads now (its cron enqueues the jobs).
func (s *Scheduler) Leader() bool { return s.jobs.leader.Load() }

// Jobs returns the latest jobs of source ("" for all), newest first; none
// without a job queue.
func (s *Scheduler) Jobs(ctx context.Context, source string, limit int) ([]Job, error) {
	if s.opts.Jobs == nil {
		return nil, nil
	}
	return s.opts.Jobs.RecentJobs(ctx, source, limit)
}

func (s *Scheduler) now() time.Time { return s.c.opts.Now() }

func (s *Scheduler) startJobLoops() {
	if s.opts.Jobs == nil {
		return
	}
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return
	}
	if s.opts.Elect {
		s.jobs.holder = s.c.store.Instance().ID + "/leader-" + randomHex(4)
		s.jobs.wg.Go(s.leadLoop)
	}
	if s.opts.Work {
		s.jobs.wg.Go(s.workLoop)
	}
}

// stopJobLoops waits for the loops to end (Stop has closed stopCh) and
// gives leadership up, so another node takes it at once.
func (s *Scheduler) stopJobLoops() {
	s.jobs.wg.Wait()
	if s.jobs.leader.Swap(false) {
		if err := s.c.store.ReleaseLease(context.WithoutCancel(s.ctx), LeaderLease, s.jobs.holder); err != nil {
			s.log.Warn("leadership not released", "error", err)
		}
	}
}

// pause waits d or until Stop; false when stopped.
func (s *Scheduler) pause(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-s.stopCh:
		return false
	}
}

// leadLoop takes or renews the leader lease every third of LeaderTTL and,
// while it leads, purges old finished jobs.
func (s *Scheduler) leadLoop() {
	var lastPurge time.Time
	for {
		now := s.now()
		ok, err := s.c.store.TryLease(s.ctx, LeaderLease, s.jobs.holder, now, s.opts.LeaderTTL)
		if err != nil {
			// Not knowing is not leading: a tick missed is better than
			// two leaders, and the key of a tick makes one job of two.
			s.log.Warn("leadership not renewed", "error", err)
			ok = false
		}
		if was := s.jobs.leader.Swap(ok); was != ok {
			s.log.Info("crawl leadership changed", "leader", ok, "holder", s.jobs.holder)
		}
		if ok && now.Sub(lastPurge) >= jobPurgeEvery {
			lastPurge = now
			if n, err := s.opts.Jobs.PurgeJobs(s.ctx, now.Add(-s.opts.JobRetention)); err != nil {
				s.log.Warn("old crawl jobs not purged", "error", err)
			} else if n > 0 {
				s.log.Info("old crawl jobs purged", "jobs", n)
			}
		}
		if !s.pause(s.opts.LeaderTTL / 3) {
			return
		}
	}
}

// enqueueTick enqueues the job of name's cron tick when this node leads.
// The key names the tick's scheduled time, the same on every node for a
// cron spec, so a leader changing hands at a tick still makes one job.
func (s *Scheduler) enqueueTick(name string) {
	if !s.jobs.leader.Load() {
		return
	}
	tick := s.now()
	s.mu.Lock()
	id, ok := s.entries[name]
	s.mu.Unlock()
	if ok {
		if prev := s.cron.Entry(id).Prev; !prev.IsZero() {
			tick = prev
		}
	}
	key := name + "@" + tick.UTC().Truncate(time.Second).Format(time.RFC3339)
	j, added, err := s.opts.Jobs.EnqueueJob(s.ctx, name, key, JobScheduled, s.now())
	switch {
	case err != nil:
		s.log.Error("crawl job not enqueued", "source", name, "error", err)
	case added:
		s.log.Info("crawl job enqueued", "source", name, "job_id", j.ID, "key", key)
	default:
		s.log.Info("crawl job not enqueued: one is queued already", "source", name, "job_id", j.ID, "key", j.Key)
	}
}

// enqueueManual is Trigger on a node that does not Work: the source's run
// is queued for a worker. A source running now is refused as Trigger
// refuses it (a *LeaseHeldError); a source with a job queued already
// keeps that one.
func (s *Scheduler) enqueueManual(name string) error {
	s.mu.Lock()
	_, known := s.sources[name]
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return ErrStopped
	}
	if !known {
		return fmt.Errorf("%w: %q", ErrUnknownSource, name)
	}
	now := s.now()
	held, err := s.c.store.LeaseHolder(s.ctx, name)
	if err != nil {
		return err
	}
	if !held.Until.IsZero() && !held.Until.Before(now) {
		return held
	}
	key := fmt.Sprintf("%s@manual/%d-%s", name, now.UnixMilli(), randomHex(4))
	j, added, err := s.opts.Jobs.EnqueueJob(s.ctx, name, key, JobManual, now)
	if err != nil {
		return err
	}
	s.log.Info("crawl job enqueued", "source", name, "job_id", j.ID, "added", added, "reason", JobManual)
	return nil
}

// workLoop claims jobs while this node has a free slot: at once after a
// claim, after JobPoll when the queue had nothing for it.
func (s *Scheduler) workLoop() {
	slots := make(chan struct{}, s.opts.JobSlots)
	for {
		select {
		case slots <- struct{}{}:
		case <-s.stopCh:
			return
		}
		started, err := s.claimNext(func() { <-slots })
		if err != nil {
			s.log.Warn("crawl job not claimed", "error", err)
		}
		if !started {
			<-slots
			if !s.pause(s.opts.JobPoll) {
				return
			}
		}
	}
}

// claimNext requeues expired claims, claims a job and starts it; started
// is true when a run goroutine took the slot (it calls free at its end).
func (s *Scheduler) claimNext(free func()) (started bool, err error) {
	jobs := s.opts.Jobs
	now := s.now()
	if n, err := jobs.RequeueExpiredJobs(s.ctx, now); err != nil {
		return false, err
	} else if n > 0 {
		s.log.Info("crawl jobs queued again after their claims expired", "jobs", n)
		s.recoverDead(now)
	}
	holder := s.c.store.Instance().ID + "/job-" + randomHex(6)
	j, ok, err := jobs.ClaimJob(s.ctx, holder, now, s.opts.JobTTL)
	if err != nil || !ok {
		return false, err
	}
	log := s.log.With("source", j.Source, "job_id", j.ID)
	finish := func(state JobState, runID int64, msg string) {
		j.State, j.RunID, j.Error = state, runID, msg
		if ok, err := jobs.FinishJob(context.WithoutCancel(s.ctx), j, s.now()); err != nil {
			log.Error("crawl job end not recorded", "error", err)
		} else if !ok {
			log.Warn("crawl job ended after its claim was taken over")
		}
	}
	p, src, err := s.claim(j.Source)
	switch {
	case errors.Is(err, ErrStopped):
		// Left to expire: another worker takes it after JobTTL.
		return false, nil
	case errors.Is(err, ErrUnknownSource):
		finish(JobFailed, 0, err.Error()+" on this node")
		return false, nil
	case err != nil:
		finish(JobSkipped, 0, err.Error())
		return false, nil
	}
	log.Info("crawl job claimed", "attempt", j.Attempts, "reason", j.Reason)
	go func() {
		defer free()
		defer s.unclaim(j.Source)
		stop := s.keepJob(j, log)
		run, err := s.c.Run(s.ctx, src, s.emit, p)
		stop()
		switch {
		case s.ctx.Err() != nil:
			// Cut by Stop's deadline: the claim expires and another
			// worker runs the source again, from its crawl state.
			log.Info("crawl job left to another worker: this node stopped during the run")
		case errors.Is(err, ErrRunning):
			log.Info("crawl job skipped", "error", err)
			finish(JobSkipped, run.ID, err.Error())
		case err != nil:
			log.Error("crawl run failed", "run_id", run.ID, "error", err)
			finish(JobFailed, run.ID, err.Error())
		default:
			finish(JobDone, run.ID, "")
		}
	}()
	return true, nil
}

// deadRecoverer is a State that can tell dead instances (both stores can):
// their leases are released and their runs marked abandoned at once.
type deadRecoverer interface {
	RecoverDead(ctx context.Context, now time.Time) ([]Instance, error)
}

// recoverDead releases what dead instances left when the state can tell
// them: a claim that expired is most often a dead worker's, whose source
// lease would otherwise keep its source from running until it expires too.
func (s *Scheduler) recoverDead(now time.Time) {
	r, ok := s.c.store.(deadRecoverer)
	if !ok {
		return
	}
	dead, err := r.RecoverDead(s.ctx, now)
	if err != nil {
		s.log.Warn("dead instances not recovered", "error", err)
	}
	for _, in := range dead {
		s.log.Info("a dead instance's leases released and runs abandoned", "instance", in.ID, "host", in.Host, "pid", in.PID)
	}
}

// keepJob renews j's claim every third of JobTTL until the returned stop
// is called. A claim found lost is not renewed again; the run goes on
// under its lease, which alone keeps a second run of the source out.
func (s *Scheduler) keepJob(j Job, log *slog.Logger) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(s.opts.JobTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				ok, err := s.opts.Jobs.HeartbeatJob(s.ctx, j.ID, j.Holder, s.now(), s.opts.JobTTL)
				if err != nil {
					log.Warn("crawl job claim not renewed", "error", err)
					continue
				}
				if !ok {
					log.Warn("crawl job claim lost: it expired and was queued again")
					return
				}
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
