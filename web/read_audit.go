package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The read audit records who searched, listed, viewed and exported what,
// from which address, and whether personal data was shown unmasked. It is
// kept in web_read_audit for Options.ReadAuditTTL and shown to
// administrators only (page /read-audit, API /api/v1/read-audit, exports).

// Kinds of reads.
const (
	ReadSearch = "search" // a full-text search (page, API)
	ReadList   = "list"   // the leads queue with its filters (page, API)
	ReadView   = "view"   // one lead with its posts (page, API)
	ReadExport = "export" // an export: Target says which
)

// ReadKinds are the kinds of reads, for filters.
var ReadKinds = []string{ReadSearch, ReadList, ReadView, ReadExport}

// DefaultReadAuditTTL is how long reads are kept unless configured.
const DefaultReadAuditTTL = 180 * 24 * time.Hour

// ReadEvent is one read recorded in the read audit.
type ReadEvent struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	User     string    `json:"user"`
	Role     Role      `json:"role"`
	ClientIP string    `json:"client_ip"`
	// Kind is search, list, view or export; Via is ui or api.
	Kind string `json:"kind"`
	Via  string `json:"via"`
	// Target is the lead viewed, or the export (leads, search, read_audit).
	Target string `json:"target,omitempty"`
	// Query is the search text; Filters the other parameters, URL-encoded.
	Query   string `json:"query,omitempty"`
	Filters string `json:"filters,omitempty"`
	// Rows is the number of hits or leads found, or of rows exported.
	Rows int `json:"rows"`
	// PII is true when personal data was shown unmasked.
	PII bool `json:"pii"`
}

// ReadFilter selects reads: by user, kind and time (Since inclusive,
// Until exclusive), newest first.
type ReadFilter struct {
	User   string
	Kind   string
	Since  time.Time
	Until  time.Time
	Limit  int
	Offset int
}

const readAuditMigration = `CREATE TABLE web_read_audit (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		at INTEGER NOT NULL,
		user TEXT NOT NULL,
		role TEXT NOT NULL,
		client_ip TEXT NOT NULL,
		kind TEXT NOT NULL,
		via TEXT NOT NULL,
		target TEXT NOT NULL,
		query TEXT NOT NULL,
		filters TEXT NOT NULL,
		rows INTEGER NOT NULL,
		pii INTEGER NOT NULL
	);
	CREATE INDEX web_read_audit_at ON web_read_audit (at);
	CREATE INDEX web_read_audit_user_at ON web_read_audit (user, at);`

// AddReads stores reads in one transaction.
func (s *Store) AddReads(ctx context.Context, evs []ReadEvent) error {
	if len(evs) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("web: add reads: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO web_read_audit (at, user, role, client_ip, kind, via, target, query, filters, rows, pii)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("web: add reads: %w", err)
	}
	defer st.Close()
	for _, e := range evs {
		if _, err := st.ExecContext(ctx, e.At.UnixMilli(), e.User, string(e.Role), e.ClientIP, e.Kind, e.Via, e.Target, e.Query, e.Filters, e.Rows, e.PII); err != nil {
			return fmt.Errorf("web: add reads: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("web: add reads: %w", err)
	}
	return nil
}

// Reads lists the reads matching f, newest first, and how many match.
func (s *Store) Reads(ctx context.Context, f ReadFilter) ([]ReadEvent, int, error) {
	var where []string
	var args []any
	if f.User != "" {
		where, args = append(where, "user = ?"), append(args, f.User)
	}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where, args = append(where, "at < ?"), append(args, f.Until.UnixMilli())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM web_read_audit`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("web: count reads: %w", err)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, user, role, client_ip, kind, via, target, query, filters, rows, pii
		FROM web_read_audit`+cond+` ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, append(args, f.Limit, max(0, f.Offset))...)
	if err != nil {
		return nil, 0, fmt.Errorf("web: list reads: %w", err)
	}
	defer rows.Close()
	out := []ReadEvent{}
	for rows.Next() {
		var e ReadEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.User, &e.Role, &e.ClientIP, &e.Kind, &e.Via, &e.Target, &e.Query, &e.Filters, &e.Rows, &e.PII); err != nil {
			return nil, 0, fmt.Errorf("web: list reads: %w", err)
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("web: list reads: %w", err)
	}
	return out, total, nil
}

// PruneReads deletes the reads recorded before t and says how many.
func (s *Store) PruneReads(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM web_read_audit WHERE at < ?`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("web: prune reads: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// readLog batches reads so that a search does not wait for a database
// write: records go to a channel; one goroutine writes them in a
// transaction every readFlushEvery or readBatch records, and prunes old
// ones every hour. A record that cannot be queued is written at once; one
// that cannot be written is logged, field by field.
type readLog struct {
	store     ReadAuditStore
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration // <= 0: keep
	ch        chan ReadEvent
	flushReq  chan chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	mu        sync.RWMutex // held for reading by add while it queues
	closed    bool
}

const (
	readBatch      = 200
	readQueue      = 4096
	readFlushEvery = time.Second
	readPruneEvery = time.Hour
)

func newReadLog(st ReadAuditStore, log *slog.Logger, now func() time.Time, retention time.Duration) *readLog {
	l := &readLog{store: st, log: log, now: now, retention: retention, ch: make(chan ReadEvent, readQueue),
		flushReq: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// add queues a read; when the queue is full, or the writer has stopped,
// it is written at once.
func (l *readLog) add(e ReadEvent) {
	l.mu.RLock()
	if !l.closed {
		select {
		case l.ch <- e:
			l.mu.RUnlock()
			return
		default:
		}
	}
	l.mu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.write(ctx, []ReadEvent{e})
}

// write stores a batch, logging every record it could not store.
func (l *readLog) write(ctx context.Context, evs []ReadEvent) {
	if err := l.store.AddReads(ctx, evs); err != nil {
		for _, e := range evs {
			l.log.Error("read audit record lost", "error", err, "at", e.At.UTC().Format(time.RFC3339Nano), "user", e.User,
				"role", string(e.Role), "client_ip", e.ClientIP, "kind", e.Kind, "via", e.Via, "target", e.Target,
				"query", e.Query, "filters", e.Filters, "rows", e.Rows, "pii", e.PII)
		}
	}
}

// flush writes what is queued and returns when it is stored.
func (l *readLog) flush() {
	ack := make(chan struct{})
	select {
	case l.flushReq <- ack:
		<-ack
	case <-l.done:
	}
}

// close writes what is queued and stops the writer; later reads are
// written one by one.
func (l *readLog) close() {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true // no add is between its check and its send now
		l.mu.Unlock()
		close(l.stop)
	})
	<-l.done
}

// prune deletes the reads older than the retention.
func (l *readLog) prune(ctx context.Context) {
	if l.retention <= 0 {
		return
	}
	n, err := l.store.PruneReads(ctx, l.now().Add(-l.retention))
	if err != nil {
		l.log.Error("prune read audit", "error", err)
		return
	}
	if n > 0 {
		l.log.Info("read audit pruned", "deleted", n, "retention_days", int(l.retention/(24*time.Hour)))
	}
}

func (l *readLog) run() {
	defer close(l.done)
	ctx := context.Background()
	l.prune(ctx)
	tick := time.NewTicker(readFlushEvery)
	defer tick.Stop()
	lastPrune := time.Now()
	var pending []ReadEvent
	drain := func() {
		for {
			select {
			case e := <-l.ch:
				pending = append(pending, e)
				continue
			default:
			}
			break
		}
		for len(pending) > 0 {
			n := min(len(pending), readBatch)
			l.write(ctx, pending[:n])
			pending = pending[n:]
		}
		pending = nil
	}
	for {
		select {
		case e := <-l.ch:
			pending = append(pending, e)
			if len(pending) >= readBatch {
				drain()
			}
		case <-tick.C:
			drain()
			if time.Since(lastPrune) >= readPruneEvery {
				l.prune(ctx)
				lastPrune = time.Now()
			}
		case ack := <-l.flushReq:
			drain()
			close(ack)
		case <-l.stop:
			drain()
			return
		}
	}
}

// maxReadField bounds the query and filters kept per read, in characters.
const maxReadField = 2000

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// recordRead queues a read of the request's user.
func (s *Server) recordRead(r *http.Request, e ReadEvent) {
	p := principalFrom(r.Context())
	if p != nil && p.User != nil {
		e.User, e.Role = p.User.Name, p.User.Role
	}
	e.At = s.now()
	e.ClientIP = s.clientIP(r)
	e.Via = "ui"
	if strings.HasPrefix(r.URL.Path, "/api/") {
		e.Via = "api"
	}
	e.Query = clip(e.Query, maxReadField)
	e.Filters = clip(e.Filters, maxReadField)
	s.reads.add(e)
}

// readFilters is the request's query without the text of a search, the
// CSRF token and the flash notice, URL-encoded, for the read audit.
func readFilters(v url.Values) string {
	out := url.Values{}
	for k, xs := range v {
		if k == "q" || k == csrfField || k == "ok" {
			continue
		}
		for _, x := range xs {
			if x != "" {
				out.Add(k, x)
			}
		}
	}
	return out.Encode()
}
