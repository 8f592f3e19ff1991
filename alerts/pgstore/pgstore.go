// Package pgstore is alerts.ServiceStore on PostgreSQL: leads, their
// sources, audit trail and notes, the webhook outbox, inbound claims, the
// burst counts and burst leads, in tables prefixed alerts_ of the schema
// the connection's search_path selects. Several riskmine nodes may open
// one database at once.
//
// Filing, review and merge are alerts' own decisions and flow (FileIn,
// TransitionIn, AssignIn) over this package's alerts.LeadTx; the read
// side, notes, captures, inbound claims, bursts, places and the outbox
// are SQL here.
//
// What makes several nodes safe:
//   - filing takes a transaction-scoped advisory lock, so filings queue
//     one after another across nodes (as SQLite's single writer does), and
//     the unique canonical URL of a source is the backstop: a post filed
//     twice at once is one lead;
//   - review loads the lead FOR UPDATE and saves it only over the version
//     it loaded (UPDATE … WHERE version = $n), else alerts.ErrConflict;
//   - the outbox is claimed FOR UPDATE SKIP LOCKED with a lease, so any
//     node delivers and no row goes out twice at once; committed rows are
//     announced with NOTIFY, so every node's dispatcher wakes;
//   - created leads are announced with NOTIFY too, so SubscribeLeads on
//     every node (the UI's live notices) hears the leads any node files;
//   - a burst is filed under the filing lock, so two scans of one series
//     at once open one burst lead; a post is counted once per series
//     whichever nodes count it (ON CONFLICT DO NOTHING).
//
// It may import alerts and internal/pgdb; alerts does not import it.
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/alerts"
	"riskmine/internal/pgdb"
)

// Store is alerts.Store on a PostgreSQL pool.
type Store struct {
	pool      *pgxpool.Pool
	owned     bool
	opts      alerts.Options
	open      []string
	signal    chan struct{}
	closeOnce sync.Once
	// leads tells this process's subscribers of the leads any node
	// creates, as the listener hears of them.
	leads alerts.LeadHub
	// stopListen ends the listener of other nodes' outbox rows and leads;
	// listenDone is closed when it has returned its connection.
	stopListen context.CancelFunc
	listenDone chan struct{}
	// listenPID is the server process of the listening connection (0
	// while there is none).
	listenPID atomic.Uint32
}

var _ alerts.ServiceStore = (*Store)(nil)

// migrations are applied in order by pgdb.Migrate; alerts_schema records
// how many have run. A released step never changes.
var migrations = []string{
	`CREATE TABLE alerts_lead (
		id           text PRIMARY KEY,
		kind         text NOT NULL DEFAULT '',
		burst        jsonb,
		title        text NOT NULL,
		summary      text NOT NULL,
		level        text NOT NULL,
		level_rank   integer NOT NULL,
		score        double precision NOT NULL,
		top_category text NOT NULL,
		county       text NOT NULL,
		categories   jsonb NOT NULL,
		locations    jsonb NOT NULL,
		terms        jsonb NOT NULL,
		simhash      bigint NOT NULL,
		first_seen   timestamptz NOT NULL,
		last_seen    timestamptz NOT NULL,
		source_count integer NOT NULL,
		state        text NOT NULL,
		assignee     text NOT NULL DEFAULT '',
		unit         text NOT NULL DEFAULT '',
		due_at       timestamptz,
		resolution   text NOT NULL DEFAULT '',
		merged_into  text NOT NULL DEFAULT '',
		case_number  text NOT NULL DEFAULT '',
		place        text NOT NULL DEFAULT '',
		place_code   text NOT NULL DEFAULT '',
		created_at   timestamptz NOT NULL,
		updated_at   timestamptz NOT NULL,
		closed_at    timestamptz,
		version      integer NOT NULL DEFAULT 1
	);
	CREATE INDEX alerts_lead_place ON alerts_lead(top_category, county, last_seen);
	CREATE INDEX alerts_lead_state ON alerts_lead(state, due_at);
	CREATE INDEX alerts_lead_last_seen ON alerts_lead(last_seen);
	CREATE TABLE alerts_source (
		id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		lead_id       text NOT NULL REFERENCES alerts_lead(id),
		url           text NOT NULL,
		canonical_url text NOT NULL UNIQUE,
		site          text NOT NULL,
		source        text NOT NULL,
		title         text NOT NULL,
		snippet       text NOT NULL,
		published_at  timestamptz,
		seen_at       timestamptz NOT NULL,
		level         text NOT NULL,
		score         double precision NOT NULL,
		category      text NOT NULL,
		simhash       bigint NOT NULL,
		evidence      jsonb NOT NULL
	);
	CREATE INDEX alerts_source_lead ON alerts_source(lead_id, seen_at);
	CREATE INDEX alerts_source_seen ON alerts_source(seen_at);
	CREATE TABLE alerts_band (
		band    integer NOT NULL,
		value   bigint NOT NULL,
		lead_id text NOT NULL REFERENCES alerts_lead(id),
		simhash bigint NOT NULL,
		PRIMARY KEY (band, value, lead_id, simhash)
	);
	CREATE INDEX alerts_band_lead ON alerts_band(lead_id);
	CREATE TABLE alerts_lead_category (
		lead_id text NOT NULL REFERENCES alerts_lead(id),
		code    text NOT NULL,
		PRIMARY KEY (lead_id, code)
	);
	CREATE INDEX alerts_lead_category_code ON alerts_lead_category(code);
	CREATE TABLE alerts_lead_location (
		lead_id text NOT NULL REFERENCES alerts_lead(id),
		code    text NOT NULL,
		name    text NOT NULL,
		PRIMARY KEY (lead_id, code)
	);
	CREATE INDEX alerts_lead_location_code ON alerts_lead_location(code text_pattern_ops);
	CREATE TABLE alerts_lead_rule (
		lead_id text NOT NULL REFERENCES alerts_lead(id),
		rule    text NOT NULL,
		PRIMARY KEY (lead_id, rule)
	);
	CREATE TABLE alerts_audit (
		id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		lead_id    text NOT NULL REFERENCES alerts_lead(id),
		at         timestamptz NOT NULL,
		actor      text NOT NULL,
		action     text NOT NULL,
		from_state text NOT NULL,
		to_state   text NOT NULL,
		note       text NOT NULL,
		reason     text NOT NULL DEFAULT '',
		unit       text NOT NULL DEFAULT '',
		merge_into text NOT NULL DEFAULT ''
	);
	CREATE INDEX alerts_audit_lead ON alerts_audit(lead_id, id);
	CREATE TABLE alerts_note (
		id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		lead_id text NOT NULL REFERENCES alerts_lead(id),
		at      timestamptz NOT NULL,
		actor   text NOT NULL,
		text    text NOT NULL
	);
	CREATE INDEX alerts_note_lead ON alerts_note(lead_id, id);
	CREATE TABLE alerts_delivery (
		id              text PRIMARY KEY,
		endpoint        text NOT NULL,
		event           text NOT NULL,
		lead_id         text NOT NULL,
		body            bytea NOT NULL,
		state           text NOT NULL,
		attempts        integer NOT NULL DEFAULT 0,
		created_at      timestamptz NOT NULL,
		next_attempt_at timestamptz NOT NULL,
		lease_until     timestamptz NOT NULL DEFAULT '-infinity',
		last_status     integer NOT NULL DEFAULT 0,
		last_error      text NOT NULL DEFAULT '',
		delivered_at    timestamptz
	);
	CREATE INDEX alerts_delivery_due ON alerts_delivery(next_attempt_at) WHERE state = 'pending';
	CREATE INDEX alerts_delivery_lead ON alerts_delivery(lead_id);
	CREATE INDEX alerts_delivery_created ON alerts_delivery(created_at);
	CREATE TABLE alerts_attempt (
		id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		delivery_id text NOT NULL REFERENCES alerts_delivery(id),
		n           integer NOT NULL,
		at          timestamptz NOT NULL,
		status      integer NOT NULL,
		latency_ns  bigint NOT NULL,
		error       text NOT NULL,
		outcome     text NOT NULL
	);
	CREATE INDEX alerts_attempt_delivery ON alerts_attempt(delivery_id, id);
	CREATE TABLE alerts_endpoint (
		name        text PRIMARY KEY,
		disabled_at timestamptz NOT NULL,
		reason      text NOT NULL
	);
	CREATE TABLE alerts_inbound (
		platform   text NOT NULL,
		webhook_id text NOT NULL,
		status     integer NOT NULL,
		answer     bytea NOT NULL,
		at         timestamptz NOT NULL,
		PRIMARY KEY (platform, webhook_id)
	);
	CREATE TABLE alerts_meta (key text PRIMARY KEY, value text NOT NULL);`,
	// 2: burst counts (one row per post and category × county series; a
	// burst lead's posts point at it), the burst leads of a series, and
	// the places page's trend by first sighting.
	`CREATE TABLE alerts_burst_post (
		id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		category      text NOT NULL,
		county        text NOT NULL,
		county_name   text NOT NULL,
		at            timestamptz NOT NULL,
		canonical_url text NOT NULL,
		url           text NOT NULL,
		site          text NOT NULL,
		source        text NOT NULL,
		title         text NOT NULL,
		snippet       text NOT NULL,
		seen_at       timestamptz NOT NULL,
		level         text NOT NULL,
		score         double precision NOT NULL,
		lead_id       text NOT NULL DEFAULT '',
		UNIQUE (category, county, canonical_url)
	);
	CREATE INDEX alerts_burst_post_series ON alerts_burst_post(category, county, at);
	CREATE INDEX alerts_burst_post_at ON alerts_burst_post(at);
	CREATE INDEX alerts_burst_post_lead ON alerts_burst_post(lead_id) WHERE lead_id <> '';
	CREATE INDEX alerts_lead_burst ON alerts_lead(kind, top_category, county, last_seen) WHERE kind <> '';
	CREATE INDEX alerts_lead_first_seen ON alerts_lead(first_seen);`,
	// 3: a post keeps the phrases that set its level (alerts.LevelCue).
	`ALTER TABLE alerts_source ADD COLUMN level_cues jsonb NOT NULL DEFAULT '[]';`,
	// 4: whether a capture is recorded is one probe (RecordCapture).
	`CREATE INDEX alerts_audit_capture ON alerts_audit (lead_id, (` + alerts.CaptureRecordPostgres + `)) WHERE action = 'captured';`,
}

// Open connects to the PostgreSQL server at dsn and migrates the alerts_
// tables; the store owns the pool and closes it.
func Open(ctx context.Context, dsn string, opts alerts.Options) (*Store, error) {
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	s, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New migrates the alerts_ tables in pool's database and returns a store
// on it; Close leaves a pool given here open.
func New(ctx context.Context, pool *pgxpool.Pool, opts alerts.Options) (*Store, error) {
	o, err := opts.Prepared()
	if err != nil {
		return nil, err
	}
	if err := pgdb.Migrate(ctx, pool, "alerts", migrations); err != nil {
		return nil, fmt.Errorf("alerts: migrate: %w", err)
	}
	s := &Store{pool: pool, opts: o, open: alerts.OpenStates(), signal: make(chan struct{}, 1)}
	if err := s.checkBands(ctx); err != nil {
		return nil, fmt.Errorf("alerts: simhash bands: %w", err)
	}
	var schema string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	lctx, stop := context.WithCancel(context.Background())
	s.stopListen, s.listenDone = stop, make(chan struct{})
	ready := make(chan struct{})
	go s.listen(lctx, schema, ready)
	// Events are promised from the moment the store is open: wait until
	// the listener hears (a store whose listener cannot start yet still
	// opens; its outbox falls back on the dispatcher's poll).
	select {
	case <-ready:
	case <-ctx.Done():
	case <-time.After(listenWait):
		o.Logger.Warn("alerts: the listener of other nodes' leads and outbox rows is not up yet")
	}
	return s, nil
}

// listenWait is how long New waits for its listener.
const listenWait = 10 * time.Second

// outboxChannel is the NOTIFY channel of committed outbox rows; the
// payload is the schema, so installations sharing a server (and test
// schemas) do not wake each other.
const outboxChannel = "riskmine_alerts_outbox"

// leadChannel is the NOTIFY channel of created leads; the payload is a
// JSON object with the schema and the lead's id (the listener reads the
// rest, so a long title never meets NOTIFY's 8000-byte payload limit).
const leadChannel = "riskmine_alerts_lead"

// leadNotice is the payload of leadChannel.
type leadNotice struct {
	Schema string `json:"schema"`
	ID     string `json:"id"`
}

// notifyLead announces a lead created in tx to every node's listener at
// commit.
func notifyLead(ctx context.Context, tx pgx.Tx, id string) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify('`+leadChannel+`', json_build_object('schema', current_schema(), 'id', $1::text)::text)`, id)
	return err
}

// listen signals OutboxSignal when any node (this one included) commits
// outbox rows in schema, so every node's dispatcher wakes without waiting
// for its poll, and publishes the leads any node creates to this
// process's subscribers. ready is closed once the first LISTEN is on. A
// lost connection is taken again after a second; the dispatcher's poll
// covers the gap, lead events in it are missed.
func (s *Store) listen(ctx context.Context, schema string, ready chan struct{}) {
	defer close(s.listenDone)
	var once sync.Once
	for ctx.Err() == nil {
		conn, err := s.pool.Acquire(ctx)
		if err == nil {
			_, err = conn.Exec(ctx, `LISTEN `+outboxChannel)
			if err == nil {
				_, err = conn.Exec(ctx, `LISTEN `+leadChannel)
			}
			if err == nil {
				s.listenPID.Store(conn.Conn().PgConn().PID())
				once.Do(func() { close(ready) })
				for {
					n, err := conn.Conn().WaitForNotification(ctx)
					if err != nil {
						break
					}
					switch n.Channel {
					case outboxChannel:
						if n.Payload == schema {
							s.notify()
						}
					case leadChannel:
						var ln leadNotice
						if json.Unmarshal([]byte(n.Payload), &ln) == nil && ln.Schema == schema {
							s.publishLead(ctx, ln.ID)
						}
					}
				}
			}
			// The connection may be mid-wait when ctx ends: close it
			// rather than hand it back with LISTEN still on.
			s.listenPID.Store(0)
			conn.Conn().Close(context.Background())
			conn.Release()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Close closes the pool when Open made it.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopListen()
		<-s.listenDone
		s.leads.Close()
		if s.owned {
			s.pool.Close()
		}
	})
	return nil
}

// OutboxSignal is signalled after any node commits outbox rows in this
// store's schema (LISTEN/NOTIFY).
func (s *Store) OutboxSignal() <-chan struct{} { return s.signal }

// SubscribeLeads returns a channel that receives an event for every lead
// created from now on by any node of the database (filed posts and burst
// leads), after its transaction commits, and a cancel function that ends
// the subscription. Events reach this node through LISTEN/NOTIFY; one
// created while the listener's connection was lost is missed, and a slow
// subscriber misses events as with the SQLite store. The channel is closed
// by cancel or when the store closes.
func (s *Store) SubscribeLeads() (<-chan alerts.LeadEvent, func()) { return s.leads.Subscribe() }

// publishLead reads what a notice shows of a lead another node (or this
// one) created and tells the subscribers; a lead that cannot be read now
// is skipped (the notice is a courtesy).
func (s *Store) publishLead(ctx context.Context, id string) {
	var ev alerts.LeadEvent
	err := s.pool.QueryRow(ctx, `SELECT id, level, top_category, title FROM alerts_lead WHERE id = $1`, id).
		Scan(&ev.ID, &ev.Level, &ev.Category, &ev.Title)
	if err != nil {
		s.opts.Logger.Warn("alerts: new lead not announced", "lead", id, "error", err)
		return
	}
	s.leads.Publish(ev)
}

func (s *Store) notify() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *Store) now() time.Time { return s.opts.Now() }

func (s *Store) loc() *time.Location {
	if s.opts.Location == nil {
		return time.UTC
	}
	return s.opts.Location
}

// at shows a stored time in the store's zone.
func (s *Store) at(t time.Time) time.Time { return t.In(s.loc()) }

func (s *Store) atPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := s.at(*t)
	return &v
}

// bands is how many chunks a simhash is cut into.
func (s *Store) bands() int { return s.opts.SimhashDistance + 1 }

// checkBands rebuilds alerts_band when the simhash distance (and so the
// band layout) changed since the tables were last used; nodes starting at
// once take turns on an advisory lock.
func (s *Store) checkBands(ctx context.Context) error {
	want := fmt.Sprint(s.bands())
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/alerts_bands', 0))`); err != nil {
			return err
		}
		var have string
		err := tx.QueryRow(ctx, `SELECT value FROM alerts_meta WHERE key = 'simhash_bands'`).Scan(&have)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if have == want {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM alerts_band`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT lead_id, simhash FROM alerts_source WHERE simhash <> 0`)
		if err != nil {
			return err
		}
		type pair struct {
			lead string
			h    int64
		}
		all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair, error) {
			var p pair
			return p, r.Scan(&p.lead, &p.h)
		})
		if err != nil {
			return err
		}
		for _, p := range all {
			if err := s.insertBands(ctx, tx, p.lead, uint64(p.h)); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO alerts_meta(key, value) VALUES ('simhash_bands', $1)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, want)
		return err
	})
}

func (s *Store) insertBands(ctx context.Context, tx pgx.Tx, leadID string, h uint64) error {
	vals := alerts.SimhashBands(h, s.opts.SimhashDistance)
	bands := make([]int32, len(vals))
	for i := range vals {
		bands[i] = int32(i)
	}
	_, err := tx.Exec(ctx, `INSERT INTO alerts_band(band, value, lead_id, simhash)
		SELECT b, v, $3, $4 FROM unnest($1::integer[], $2::bigint[]) AS t(b, v)
		ON CONFLICT DO NOTHING`, bands, vals, leadID, int64(h))
	return err
}

// retryable reports whether a transaction failed only because another ran
// at the same moment (serialization failure, deadlock, or the unique
// canonical URL another filing just took), so running it again is right.
func retryable(err error) bool {
	if errors.Is(err, errRefiled) {
		return true
	}
	var pg *pgconn.PgError
	if !errors.As(err, &pg) {
		return false
	}
	return pg.Code == "40001" || pg.Code == "40P01" || pg.Code == "23505"
}

// inTx runs fn in a transaction and commits it, again (up to five times)
// when it lost a race with another transaction; it signals the dispatcher
// when fn queued outbox rows.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) (int, error)) error {
	var err error
	for range 5 {
		var queued int
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var ferr error
			if queued, ferr = fn(tx); ferr != nil || queued == 0 {
				return ferr
			}
			// Delivered to the listeners of every node at commit.
			_, ferr = tx.Exec(ctx, `SELECT pg_notify('`+outboxChannel+`', current_schema())`)
			return ferr
		})
		if err == nil {
			if queued > 0 {
				s.notify()
			}
			return nil
		}
		if !retryable(err) {
			return err
		}
	}
	return err
}

// File files a candidate (see alerts.Store): the decisions are alerts'
// own, run over this store's LeadTx under the filing lock.
func (s *Store) File(ctx context.Context, c alerts.Candidate) (alerts.FileResult, error) {
	f, ok, err := alerts.PrepareFiling(c, s.opts)
	if err != nil {
		return alerts.FileResult{}, err
	}
	if !ok {
		return alerts.FileResult{Outcome: alerts.OutcomeBelowThreshold}, nil
	}
	var res alerts.FileResult
	err = s.inTx(ctx, func(tx pgx.Tx) (int, error) {
		// Filings queue here across every node of the database, so the
		// clustering queries see every lead filed before.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/alerts_file', 0))`); err != nil {
			return 0, err
		}
		var n int
		var err error
		if res, n, err = alerts.FileIn(ctx, s.leadTx(tx), f, s.opts); err != nil {
			return 0, err
		}
		if res.Outcome == alerts.OutcomeCreated {
			err = notifyLead(ctx, tx, res.LeadID)
		}
		return n, err
	})
	if err != nil {
		return alerts.FileResult{}, fmt.Errorf("alerts: file %s: %w", f.CanonicalURL(), err)
	}
	return res, nil
}

// Transition moves a lead (see alerts.Transit and alerts.Merge) with a
// version check on the row it locked.
func (s *Store) Transition(ctx context.Context, id string, req alerts.TransitionRequest) (*alerts.Lead, error) {
	var out *alerts.Lead
	err := s.inTx(ctx, func(tx pgx.Tx) (n int, err error) {
		out, n, err = alerts.TransitionIn(ctx, s.leadTx(tx), id, req, s.opts)
		return n, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Assign sets a lead's assignee (see alerts.Reassign).
func (s *Store) Assign(ctx context.Context, id string, req alerts.AssignRequest) (*alerts.Lead, error) {
	var out *alerts.Lead
	err := s.inTx(ctx, func(tx pgx.Tx) (n int, err error) {
		out, n, err = alerts.AssignIn(ctx, s.leadTx(tx), id, req, s.opts)
		return n, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
