// Package pgdb is how riskmine's stores open PostgreSQL: one place for the
// connection pool, the versioned migrations of each store's tables and the
// errors a mistyped or unreachable address gives.
//
// It follows internal/sqlitedb: every store keeps its tables prefixed with
// its name (web_, crawl_, …) and records its schema version in a one-row
// table <name>_schema, in the schema the connection's search_path selects.
//
// Stores use a pgxpool.Pool rather than database/sql: the pool is pgx's
// own (one pool, not database/sql's on top of pgx's connections), errors
// come as *pgconn.PgError with their SQLSTATE, and a connection can be held
// for LISTEN/NOTIFY or a session advisory lock, which the cluster mode
// needs. SQL cannot be shared with the SQLite stores anyway ($1 against ?).
//
// The package imports nothing of riskmine.
package pgdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options are the settings a store opens its pool with.
type Options struct {
	// MaxConns limits the pool; 0 leaves pgxpool's default (the larger of
	// 4 and the number of CPUs).
	MaxConns int32
	// ConnectTimeout bounds the first connection; 0 means 10 s.
	ConnectTimeout time.Duration
}

// Open connects to the PostgreSQL server at dsn (a postgres:// URL or a
// key=value string) and checks it answers. A malformed address and an
// unreachable server give one line naming the address without its
// password.
func Open(ctx context.Context, dsn string, o Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgdb: %s is not a PostgreSQL address: %s; expected postgres://user@host:port/database", Redact(dsn), parseProblem(err))
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	timeout := o.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > timeout {
		cfg.ConnConfig.ConnectTimeout = timeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgdb: %s: %s", Redact(dsn), oneLine(err))
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		where := net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port))
		return nil, fmt.Errorf("pgdb: cannot reach PostgreSQL at %s (database %q, user %q): %s",
			where, cfg.ConnConfig.Database, cfg.ConnConfig.User, connectProblem(err))
	}
	return pool, nil
}

// Redact returns dsn with its password replaced by xxxxx, for messages.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	if strings.Contains(dsn, "://") {
		// An unparsable URL may still hold a password after the user.
		return userinfoPassword.ReplaceAllString(dsn, "${1}:xxxxx@")
	}
	return kvPassword.ReplaceAllString(dsn, "password=xxxxx")
}

var (
	userinfoPassword = regexp.MustCompile(`(://[^:/@]*):[^@]*@`)
	kvPassword       = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)
)

// parseProblem is what pgx found wrong with an address, without the
// address itself (pgx and net/url quote it, password and all).
func parseProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return oneLine(ue.Err)
	}
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		if inner := pe.Unwrap(); inner != nil {
			return oneLine(inner)
		}
	}
	// pgx says "cannot parse `<address>`: <problem>"; keep the problem
	// when it does not quote the address again.
	msg := oneLine(err)
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		if p := msg[i+3:]; !strings.Contains(p, "://") && !strings.Contains(p, "password") && !strings.Contains(p, "`") {
			return p
		}
	}
	return "it cannot be parsed"
}

// connectProblem is the innermost useful cause of a failed connection:
// the server's own message, or the network error.
func connectProblem(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Message + " (SQLSTATE " + pg.Code + ")"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return oneLine(ne)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time"
	}
	return oneLine(err)
}

// oneLine joins the lines of a multi-line error (pgx reports each address
// it tried on its own line).
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// ErrTooNew is wrapped by Migrate when the database records a schema
// version newer than the program's steps: a newer riskmine wrote it.
var ErrTooNew = errors.New("the database was written by a newer riskmine")

// namePattern is what a store name may be: it becomes part of a table name.
var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// A Hook runs Go code in the transaction of the step whose SQL is Step,
// right after that SQL; its error rolls the step back.
type Hook struct {
	Step string
	Run  func(ctx context.Context, tx pgx.Tx) error
}

// Migrate brings the tables of store name up to date: steps are its schema
// changes in order, step i taking the schema from version i to i+1, and
// <name>_schema records how many have run. Each step runs once, in a
// transaction of its own together with the new version number. Every
// transaction first takes a transaction-scoped advisory lock on the store
// name in the current schema, so nodes starting at once take turns and
// each later one finds the steps done.
//
// A database whose version is beyond len(steps) is refused with an error
// wrapping ErrTooNew. Steps already released must never change.
func Migrate(ctx context.Context, pool *pgxpool.Pool, name string, steps []string, hooks ...Hook) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("store name %q: expected lowercase letters, digits and _", name)
	}
	for {
		done, err := migrateStep(ctx, pool, name, steps, hooks)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep runs the next step of name's steps, if any, and reports
// whether none is left.
func migrateStep(ctx context.Context, pool *pgxpool.Pool, name string, steps []string, hooks []Hook) (done bool, err error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.Background()) // a no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.' || $1 || '_schema', 0))`, name); err != nil {
		return false, fmt.Errorf("%s schema: lock: %w", name, err)
	}
	table := name + "_schema"
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (version integer NOT NULL)`); err != nil {
		return false, err
	}
	var v int
	err = tx.QueryRow(ctx, `SELECT version FROM `+table).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (version) VALUES (0)`); err != nil {
			return false, err
		}
	} else if err != nil {
		return false, err
	}
	if v > len(steps) {
		return false, fmt.Errorf("%w: the %s tables are at schema version %d, this program knows %d; run a riskmine at least as new as the one that wrote it", ErrTooNew, name, v, len(steps))
	}
	if v == len(steps) {
		return true, tx.Commit(ctx)
	}
	// Without arguments pgx sends the step as a simple query, so one step
	// may hold several statements.
	if _, err := tx.Exec(ctx, steps[v]); err != nil {
		return false, fmt.Errorf("%s schema step %d: %w", name, v+1, err)
	}
	for _, h := range hooks {
		if h.Step != steps[v] {
			continue
		}
		if err := h.Run(ctx, tx); err != nil {
			return false, fmt.Errorf("%s schema step %d: %w", name, v+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE `+table+` SET version = $1`, v+1); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, err
	}
	return v+1 >= len(steps), nil
}

// Version returns the schema version recorded for store name in the
// current schema, 0 when it has none yet.
func Version(ctx context.Context, pool *pgxpool.Pool, name string) (int, error) {
	if !namePattern.MatchString(name) {
		return 0, fmt.Errorf("store name %q: expected lowercase letters, digits and _", name)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name+"_schema").Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var v int
	err := pool.QueryRow(ctx, `SELECT version FROM `+name+`_schema`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// IsUniqueViolation reports whether err is PostgreSQL's unique_violation.
func IsUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}
