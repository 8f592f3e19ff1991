package crawler

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"riskmine/internal/sqlitedb"
)

// The lease contract. A lease is the right of one holder to run one job
// (today a crawl run of one source) while other processes share the
// database: serve and a manual `riskmine crawl` on one data folder today,
// several nodes on one database later. It is defined here once:
//
//   - A lease lasts LeaseTTL from its last renewal. A holder renews it every
//     LeaseRenewInterval (a heartbeat); when a renewal finds the lease gone
//     to someone else, the holder's work is cancelled.
//   - A holder is named "<instance>/<token>": the instance is the process
//     (see Instance), the token one run of it.
//   - The data folder records its running instances (table crawl_instances)
//     and each instance holds a lock file, <database>-instances/<id>.lock,
//     for its whole life; the kernel drops the lock when the process dies,
//     kill -9 included.
//   - Release: a holder deletes its lease when its job ends. When a process
//     opens the store, every instance on this host whose lock file is no
//     longer held is dead: its leases are released at once and its
//     unfinished runs marked abandoned. A dead holder this cannot see (an
//     older binary, another host) loses its lease LeaseTTL after its last
//     heartbeat.
//   - Refusal: asking for a lease someone else holds fails with a
//     *LeaseHeldError, which is ErrRunning and names the holder.
const (
	// LeaseTTL is how long a lease lasts without renewal.
	LeaseTTL = 30 * time.Second
	// LeaseRenewInterval is the heartbeat of a held lease: three renewals
	// per TTL, so one slow write does not lose it.
	LeaseRenewInterval = LeaseTTL / 3
)

// Instance describes one process that opened the store.
type Instance struct {
	// ID is unique per process and open store.
	ID string `json:"id"`
	// Command is the program and subcommand, e.g. "riskmine serve".
	Command string `json:"command"`
	// PID and Host identify the process.
	PID  int    `json:"pid"`
	Host string `json:"host"`
	// Started is when the process opened the store.
	Started time.Time `json:"started"`
}

func (in Instance) String() string {
	s := in.Command
	if s == "" {
		s = "a process"
	}
	return fmt.Sprintf("%s (pid %d on %s, instance %s)", s, in.PID, in.Host, in.ID)
}

// LeaseHeldError is returned when a lease is held by someone else.
type LeaseHeldError struct {
	// Name is what the lease is on (a source name).
	Name string
	// Holder is the holder id; Instance describes its process when the data
	// folder knows it.
	Holder   string
	Instance *Instance
	// Since and Until are when the holder took the lease and when it runs
	// out unless renewed.
	Since, Until time.Time
}

func (e *LeaseHeldError) Error() string {
	who := "holder " + e.Holder
	if e.Instance != nil {
		who = e.Instance.String()
	}
	s := fmt.Sprintf("crawler: source %s is already running: held by %s", e.Name, who)
	if !e.Since.IsZero() {
		s += " since " + e.Since.UTC().Format(time.RFC3339)
	}
	if !e.Until.IsZero() {
		s += ", lease renewed until " + e.Until.UTC().Format(time.RFC3339)
	}
	return s
}

// Is makes a LeaseHeldError match ErrRunning.
func (e *LeaseHeldError) Is(target error) bool { return target == ErrRunning }

// errLeaseLost cancels a run whose lease was taken by another holder.
var errLeaseLost = errors.New("crawler: lease lost: another process took over the source after missed heartbeats")

// Lease is a held lease; its heartbeat runs until Release.
type Lease struct {
	state  State
	every  time.Duration
	name   string
	holder string
	ttl    time.Duration
	now    func() time.Time

	once sync.Once
	kept bool
	stop chan struct{}
	done chan struct{}
}

// Holder returns the lease's holder id.
func (l *Lease) Holder() string { return l.holder }

// AcquireLease takes the lease on name for this store's instance, or
// returns a *LeaseHeldError naming the current holder. now is the clock
// (nil: time.Now). The caller must Release it.
func (s *Store) AcquireLease(ctx context.Context, name string, now func() time.Time) (*Lease, error) {
	return acquireLease(ctx, s, name, now, LeaseTTL)
}

// acquireLease takes the lease on name in st for st's instance for ttl
// (see AcquireLease); its heartbeat comes every ttl/3.
func acquireLease(ctx context.Context, st State, name string, now func() time.Time, ttl time.Duration) (*Lease, error) {
	if now == nil {
		now = time.Now
	}
	if ttl <= 0 {
		ttl = LeaseTTL
	}
	holder := st.Instance().ID + "/" + randomHex(6)
	ok, err := st.TryLease(ctx, name, holder, now(), ttl)
	if err != nil {
		return nil, err
	}
	if !ok {
		held, err := st.LeaseHolder(ctx, name)
		if err != nil {
			return nil, err
		}
		return nil, held
	}
	every := ttl / 3
	if r, ok := st.(interface{ leaseRenewEvery() time.Duration }); ok && r.leaseRenewEvery() > 0 {
		every = r.leaseRenewEvery()
	}
	return &Lease{state: st, every: every, name: name, holder: holder, ttl: ttl, now: now, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// leaseRenewEvery is the heartbeat tests set in place of LeaseRenewInterval.
func (s *Store) leaseRenewEvery() time.Duration { return s.renewEvery }

// LeaseHolder describes the current holder of name's lease, as the error
// AcquireLease returns. A lease released in the meantime is described as
// held by "(released just now)": the caller may try again.
func (s *Store) LeaseHolder(ctx context.Context, name string) (*LeaseHeldError, error) {
	e := &LeaseHeldError{Name: name}
	var inst, cmd, host sql.NullString
	var pid, started sql.NullInt64
	var since, until int64
	err := s.db.QueryRowContext(ctx, `SELECT l.holder, l.acquired_at, l.expires_at, i.id, i.command, i.pid, i.host, i.started_at
		FROM crawl_leases l LEFT JOIN crawl_instances i ON i.id = l.instance WHERE l.source = ?`, name).
		Scan(&e.Holder, &since, &until, &inst, &cmd, &pid, &host, &started)
	if errors.Is(err, sql.ErrNoRows) {
		// Released between the two statements: the caller may try again.
		e.Holder = "(released just now)"
		return e, nil
	}
	if err != nil {
		return nil, fmt.Errorf("crawler: lease on %s: %w", name, err)
	}
	e.Since, e.Until = fromMillis(since), fromMillis(until)
	if inst.Valid {
		e.Instance = &Instance{ID: inst.String, Command: cmd.String, PID: int(pid.Int64), Host: host.String, Started: fromMillis(started.Int64)}
	}
	return e, nil
}

// keep renews the lease every ttl/3 until Release; when a
// renewal finds it taken, lost is called.
func (l *Lease) keep(lost func(error), logf func(msg string, args ...any)) {
	l.kept = true
	go func() {
		defer close(l.done)
		tick := time.NewTicker(l.every)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
				ok, err := l.state.TryLease(context.Background(), l.name, l.holder, l.now(), l.ttl)
				if err != nil {
					logf("crawl lease not renewed", "source", l.name, "error", err)
					continue
				}
				if !ok {
					lost(errLeaseLost)
					return
				}
			}
		}
	}()
}

// Release stops the heartbeat and gives the lease up.
func (l *Lease) Release(ctx context.Context) error {
	l.once.Do(func() { close(l.stop) })
	if l.kept {
		<-l.done
	}
	return l.state.ReleaseLease(ctx, l.name, l.holder)
}

// TryLease takes (or renews, for the same holder) the lease on name
// until now+ttl; false when another holder has an unexpired lease.
func (s *Store) TryLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	inst, _, _ := strings.Cut(holder, "/")
	s.wmu.Lock()
	res, err := s.db.ExecContext(ctx, `INSERT INTO crawl_leases(source, holder, expires_at, instance, acquired_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(source) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
			instance = excluded.instance,
			acquired_at = CASE WHEN crawl_leases.holder = excluded.holder THEN crawl_leases.acquired_at ELSE excluded.acquired_at END
		WHERE crawl_leases.expires_at < ? OR crawl_leases.holder = excluded.holder`,
		name, holder, millis(now.Add(ttl)), inst, millis(now), millis(now))
	s.wmu.Unlock()
	if err != nil {
		return false, fmt.Errorf("crawler: lease on %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("crawler: lease on %s: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease gives the lease up (nothing when holder no longer has it).
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	s.wmu.Lock()
	_, err := s.db.ExecContext(ctx, `DELETE FROM crawl_leases WHERE source = ? AND holder = ?`, name, holder)
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("crawler: release lease on %s: %w", name, err)
	}
	return nil
}

// Instance returns this store's process instance.
func (s *Store) Instance() Instance { return s.inst }

// NewInstance describes this process, opening a store at now, with a new
// instance id: the start time and a random suffix.
func NewInstance(now time.Time) Instance {
	host, _ := os.Hostname()
	cmd := filepath.Base(os.Args[0])
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		cmd += " " + os.Args[1]
	}
	return Instance{ID: now.UTC().Format("20060102T150405") + "-" + randomHex(4), Command: cmd, PID: os.Getpid(), Host: host, Started: now.UTC()}
}

// register records this process as a running instance of the data folder,
// holding its lock file, then releases what dead instances left behind.
func (s *Store) register(ctx context.Context, dbPath string, now time.Time) error {
	s.inst = NewInstance(now)
	s.lockDir = dbPath + "-instances"
	if err := os.MkdirAll(s.lockDir, 0o755); err != nil {
		return fmt.Errorf("instance lock folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.lockDir, s.inst.ID+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("instance lock: %w", err)
	}
	if held, err := tryLock(f); errors.Is(err, errors.ErrUnsupported) {
		// No file locks here: dead instances are left to the TTL.
	} else if err != nil || !held {
		f.Close()
		return fmt.Errorf("instance lock %s: not taken: %v", f.Name(), err)
	}
	fmt.Fprintf(f, "%s\n", s.inst)
	s.lock = f
	s.wmu.Lock()
	_, err = s.db.ExecContext(ctx, `INSERT INTO crawl_instances(id, command, pid, host, started_at) VALUES (?, ?, ?, ?, ?)`,
		s.inst.ID, s.inst.Command, s.inst.PID, s.inst.Host, millis(now))
	s.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("record instance: %w", err)
	}
	_, err = s.recoverDead(ctx, now)
	return err
}

// RecoverDead releases the leases of this host's dead instances and marks
// their unfinished runs abandoned at now; it returns the dead instances. A
// worker calls it when a job's claim expired: its holder may be dead.
func (s *Store) RecoverDead(ctx context.Context, now time.Time) ([]Instance, error) {
	dead, err := s.recoverDead(ctx, now)
	if err != nil {
		return dead, fmt.Errorf("crawler: %w", err)
	}
	return dead, nil
}

// recoverDead releases the leases of this host's dead instances and marks
// their unfinished runs abandoned; it returns the dead instances. Runs left
// unfinished by a binary that recorded no instance are abandoned when no
// live lease covers their source.
func (s *Store) recoverDead(ctx context.Context, now time.Time) ([]Instance, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, command, pid, host, started_at FROM crawl_instances WHERE id <> ? AND host = ?`, s.inst.ID, s.inst.Host)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	others, err := sqlitedb.Collect(rows, func(rows *sql.Rows) (Instance, error) {
		var in Instance
		var started int64
		err := rows.Scan(&in.ID, &in.Command, &in.PID, &in.Host, &started)
		in.Started = fromMillis(started)
		return in, err
	})
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	var dead []Instance
	for _, in := range others {
		if s.instanceAlive(in.ID) {
			continue
		}
		msg := fmt.Sprintf("abandoned: %s stopped before the run ended", in)
		s.wmu.Lock()
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `DELETE FROM crawl_leases WHERE instance = ?`, in.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE crawl_runs SET ended_at = ?, abandoned = 1, error = ? WHERE instance = ? AND ended_at = 0`,
				millis(now), msg, in.ID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM crawl_instances WHERE id = ?`, in.ID)
			return err
		})
		s.wmu.Unlock()
		if err != nil {
			return dead, fmt.Errorf("release instance %s: %w", in.ID, err)
		}
		os.Remove(filepath.Join(s.lockDir, in.ID+".lock"))
		dead = append(dead, in)
	}
	s.wmu.Lock()
	_, err = s.db.ExecContext(ctx, `UPDATE crawl_runs SET ended_at = ?, abandoned = 1,
			error = 'abandoned: the process that ran it stopped before the run ended'
		WHERE instance = '' AND ended_at = 0
			AND NOT EXISTS (SELECT 1 FROM crawl_leases l WHERE l.source = crawl_runs.source AND l.expires_at >= ?)`,
		millis(now), millis(now))
	s.wmu.Unlock()
	if err != nil {
		return dead, fmt.Errorf("abandon old runs: %w", err)
	}
	return dead, nil
}

// instanceAlive reports whether the instance's lock file is held. A missing
// file is a dead instance (it is created before the instance is recorded).
func (s *Store) instanceAlive(id string) bool {
	f, err := os.OpenFile(filepath.Join(s.lockDir, id+".lock"), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return true // cannot tell: leave it to the TTL
	}
	defer f.Close()
	held, err := tryLock(f)
	if err != nil {
		return true
	}
	if held {
		unlock(f)
		return false
	}
	return true
}

// unregister removes this instance from the data folder.
func (s *Store) unregister() {
	if s.lock == nil {
		return
	}
	s.wmu.Lock()
	s.db.Exec(`DELETE FROM crawl_instances WHERE id = ?`, s.inst.ID)
	s.wmu.Unlock()
	os.Remove(s.lock.Name())
	unlock(s.lock)
	s.lock.Close()
	s.lock = nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func randomHex(n int) string {
	b := make([]byte, n)
	crand.Read(b)
	return hex.EncodeToString(b)
}
