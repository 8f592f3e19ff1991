// Package pgstore is web.DataStore on PostgreSQL: users, sessions (with
// their CSRF tokens), API tokens, saved searches, alert rules, the read
// audit, the UI's sources and their audit, the lexicon audit, and the
// login attempts, login nonces and search slots, in tables prefixed web_
// of the schema the connection's search_path selects. All of it living in
// the database is what lets several API nodes serve one city without
// sticky sessions: a session, a login form or a limit started on one node
// holds on every other.
//
// The rules (name normalisation, password and secret hashing, limits on
// saved searches and rules, attempt delays, what a change to a UI source
// makes) are web's own, called through its exported helpers; this package
// is only the SQL. It passes web/storetest, RunLimitsNodes included.
//
// It may import web and internal/pgdb; web does not import it.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"riskmine/internal/pgdb"
	"riskmine/web"
)

// Store is web.DataStore on a PostgreSQL pool.
type Store struct {
	pool     *pgxpool.Pool
	owned    bool
	now      func() time.Time
	tokenTTL time.Duration
	pruned   atomic.Int64 // when the limits' expired rows were last deleted, Unix ms
}

var _ web.DataStore = (*Store)(nil)

// migrations are applied in order by pgdb.Migrate; web_schema records how
// many have run. A released step never changes.
var migrations = []string{
	`CREATE TABLE web_users (
		id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		name          text NOT NULL UNIQUE,
		password_hash text NOT NULL,
		role          text NOT NULL,
		disabled      boolean NOT NULL DEFAULT false,
		created_at    timestamptz NOT NULL
	);
	CREATE TABLE web_sessions (
		token_hash text PRIMARY KEY,
		user_id    bigint NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
		csrf       text NOT NULL,
		created_at timestamptz NOT NULL,
		expires_at timestamptz NOT NULL
	);
	CREATE INDEX web_sessions_user ON web_sessions(user_id);
	CREATE INDEX web_sessions_expires ON web_sessions(expires_at);
	CREATE TABLE web_tokens (
		id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		user_id      bigint NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
		name         text NOT NULL,
		token_hash   text NOT NULL UNIQUE,
		created_at   timestamptz NOT NULL,
		expires_at   timestamptz NOT NULL,
		last_used_at timestamptz
	);
	CREATE INDEX web_tokens_user ON web_tokens(user_id);
	CREATE TABLE web_saved_searches (
		id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		user_id    bigint NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
		name       text NOT NULL,
		query      text NOT NULL,
		created_at timestamptz NOT NULL
	);
	CREATE INDEX web_saved_searches_user ON web_saved_searches(user_id);
	CREATE TABLE web_alert_rules (
		id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		saved_search_id  bigint NOT NULL REFERENCES web_saved_searches(id) ON DELETE CASCADE,
		name             text NOT NULL,
		query            text NOT NULL,
		min_level        text NOT NULL,
		interval_seconds bigint NOT NULL,
		enabled          boolean NOT NULL DEFAULT true,
		created_by       text NOT NULL,
		created_at       timestamptz NOT NULL,
		last_run_at      timestamptz,
		last_error       text NOT NULL DEFAULT ''
	);
	CREATE INDEX web_alert_rules_search ON web_alert_rules(saved_search_id);`,
	// The read audit, the UI's sources with their audit, and the lexicon
	// audit (read_audit.go, ui_source.go, lexicon_audit.go).
	`CREATE TABLE web_read_audit (
		id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		at        timestamptz NOT NULL,
		user_name text NOT NULL,
		role      text NOT NULL,
		client_ip text NOT NULL,
		kind      text NOT NULL,
		via       text NOT NULL,
		target    text NOT NULL,
		query     text NOT NULL,
		filters   text NOT NULL,
		rows      integer NOT NULL,
		pii       boolean NOT NULL
	);
	CREATE INDEX web_read_audit_at ON web_read_audit (at);
	CREATE INDEX web_read_audit_user_at ON web_read_audit (user_name, at);
	CREATE TABLE web_ui_sources (
		name       text PRIMARY KEY,
		yaml       text NOT NULL,
		paused     boolean NOT NULL DEFAULT false,
		updated_at timestamptz NOT NULL,
		updated_by text NOT NULL
	);
	CREATE TABLE web_source_audit (
		id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		at     timestamptz NOT NULL,
		actor  text NOT NULL,
		action text NOT NULL,
		name   text NOT NULL,
		before text NOT NULL,
		after  text NOT NULL
	);
	CREATE TABLE web_lexicon_audit (
		id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		at      timestamptz NOT NULL,
		actor   text NOT NULL,
		action  text NOT NULL,
		code    text NOT NULL,
		summary text NOT NULL,
		before  text NOT NULL,
		after   text NOT NULL
	);`,
	// What guards logins and searches across API nodes (limits.go). It
	// need not survive a crash of the server, so it is not written to the
	// WAL: a crash forgets failed logins, issued login forms (users reload
	// the form) and the slots of searches that ended with it.
	`CREATE UNLOGGED TABLE web_login_attempts (
		key        text PRIMARY KEY,
		failures   integer NOT NULL,
		last_at    timestamptz NOT NULL,
		expires_at timestamptz NOT NULL
	);
	CREATE INDEX web_login_attempts_expires ON web_login_attempts (expires_at);
	CREATE UNLOGGED TABLE web_login_nonces (
		nonce_hash text PRIMARY KEY,
		client_ip  text NOT NULL,
		expires_at timestamptz NOT NULL
	);
	CREATE INDEX web_login_nonces_expires ON web_login_nonces (expires_at);
	CREATE UNLOGGED TABLE web_search_slots (
		id         text PRIMARY KEY,
		user_name  text NOT NULL,
		expires_at timestamptz NOT NULL
	);
	CREATE INDEX web_search_slots_user ON web_search_slots (user_name, expires_at);
	CREATE INDEX web_search_slots_expires ON web_search_slots (expires_at);`,
}

// Open connects to the PostgreSQL server at dsn and migrates the web_
// tables; the store owns the pool and closes it.
func Open(ctx context.Context, dsn string) (*Store, error) {
	pool, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	s, err := New(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New migrates the web_ tables in pool's database and returns a store on
// it; Close leaves a pool given here open.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, "web", migrations); err != nil {
		return nil, fmt.Errorf("web: migrate: %w", err)
	}
	return &Store{pool: pool, now: time.Now, tokenTTL: web.DefaultTokenTTL}, nil
}

// Close closes the pool when Open made it.
func (s *Store) Close() error {
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// SetTokenTTL sets how long tokens created from now on last.
func (s *Store) SetTokenTTL(d time.Duration) {
	if d > 0 {
		s.tokenTTL = d
	}
}

// second is the store's time: whole seconds, as the SQLite store keeps.
func (s *Store) second() time.Time { return s.now().Truncate(time.Second) }

// AddUser creates a user with a bcrypt hash of password.
func (s *Store) AddUser(ctx context.Context, name, password string, role web.Role) (*web.User, error) {
	name, hash, err := web.PrepareUser(name, password, role)
	if err != nil {
		return nil, err
	}
	now := s.second()
	var id int64
	err = s.pool.QueryRow(ctx, `INSERT INTO web_users (name, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		name, hash, string(role), now).Scan(&id)
	if pgdb.IsUniqueViolation(err) {
		return nil, fmt.Errorf("web: user %q already exists", name)
	}
	if err != nil {
		return nil, fmt.Errorf("web: add user %s: %w", name, err)
	}
	return &web.User{ID: id, Name: name, Role: role, CreatedAt: now}, nil
}

// SetPassword replaces a user's password, ending their sessions and
// revoking their tokens in the same transaction.
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	hash, err := web.HashPassword(name, password)
	if err != nil {
		return err
	}
	return s.updateUser(ctx, name, true, `UPDATE web_users SET password_hash = $2 WHERE name = $1`, hash)
}

// SetRole changes a user's role.
func (s *Store) SetRole(ctx context.Context, name string, role web.Role) error {
	if _, err := web.ParseRole(string(role)); err != nil {
		return err
	}
	return s.updateUser(ctx, name, false, `UPDATE web_users SET role = $2 WHERE name = $1`, string(role))
}

// SetDisabled disables or re-enables a user; disabling ends their sessions
// and revokes their tokens.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return s.updateUser(ctx, name, disabled, `UPDATE web_users SET disabled = $2 WHERE name = $1`, disabled)
}

// updateUser runs query ($1 the name, $2 the value) and, when endCreds,
// deletes the user's sessions and tokens, all in one transaction.
func (s *Store) updateUser(ctx context.Context, name string, endCreds bool, query string, value any) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, name, value)
		if err != nil {
			return fmt.Errorf("web: update user %s: %w", name, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("web: user %q: %w", name, web.ErrNotFound)
		}
		if !endCreds {
			return nil
		}
		for _, q := range []string{
			`DELETE FROM web_sessions WHERE user_id = (SELECT id FROM web_users WHERE name = $1)`,
			`DELETE FROM web_tokens WHERE user_id = (SELECT id FROM web_users WHERE name = $1)`,
		} {
			if _, err := tx.Exec(ctx, q, name); err != nil {
				return fmt.Errorf("web: end sessions and tokens of %s: %w", name, err)
			}
		}
		return nil
	})
}

const userColumns = `u.id, u.name, u.role, u.disabled, u.created_at`

func scanUser(row pgx.Row, more ...any) (*web.User, error) {
	var u web.User
	var role string
	if err := row.Scan(append([]any{&u.ID, &u.Name, &role, &u.Disabled, &u.CreatedAt}, more...)...); err != nil {
		return nil, err
	}
	u.Role = web.Role(role)
	return &u, nil
}

// Users lists all users by name (in code point order, as SQLite sorts).
func (s *Store) Users(ctx context.Context) ([]web.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM web_users u ORDER BY u.name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("web: list users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (web.User, error) {
		u, err := scanUser(r)
		if err != nil {
			return web.User{}, err
		}
		return *u, nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: list users: %w", err)
	}
	return out, nil
}

// UserByName loads one user.
func (s *Store) UserByName(ctx context.Context, name string) (*web.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM web_users u WHERE u.name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("web: user %q: %w", name, web.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("web: load user %s: %w", name, err)
	}
	return u, nil
}

// Authenticate checks a name and password and returns the enabled user.
func (s *Store) Authenticate(ctx context.Context, name, password string) (*web.User, error) {
	var hash string
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+`, u.password_hash FROM web_users u WHERE u.name = $1`, name), &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		web.PasswordMatches("", password)
		return nil, web.ErrBadLogin
	}
	if err != nil {
		return nil, fmt.Errorf("web: authenticate %s: %w", name, err)
	}
	if !web.PasswordMatches(hash, password) || u.Disabled {
		return nil, web.ErrBadLogin
	}
	return u, nil
}

// CreateSession stores a new session of u lasting ttl and returns the
// cookie value.
func (s *Store) CreateSession(ctx context.Context, u *web.User, ttl time.Duration) (string, *web.Session, error) {
	token, csrf := web.NewSessionSecrets()
	now := s.second()
	if _, err := s.pool.Exec(ctx, `INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		web.SecretHash(token), u.ID, csrf, now, now.Add(ttl)); err != nil {
		return "", nil, fmt.Errorf("web: create session: %w", err)
	}
	// Opportunistic clean-up of expired sessions.
	if _, err := s.pool.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at < $1`, now); err != nil {
		return "", nil, fmt.Errorf("web: expire sessions: %w", err)
	}
	return token, &web.Session{User: u, CSRF: csrf}, nil
}

// SessionByToken returns the live session of a cookie value, or
// web.ErrNotFound.
func (s *Store) SessionByToken(ctx context.Context, token string) (*web.Session, error) {
	var csrf string
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+`, s.csrf
		FROM web_sessions s JOIN web_users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled`, web.SecretHash(token), s.second()), &csrf)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, web.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("web: load session: %w", err)
	}
	return &web.Session{User: u, CSRF: csrf}, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM web_sessions WHERE token_hash = $1`, web.SecretHash(token)); err != nil {
		return fmt.Errorf("web: delete session: %w", err)
	}
	return nil
}

// CreateToken issues a bearer token of the named user, valid for the
// store's token TTL; the secret is returned once, only its hash kept.
func (s *Store) CreateToken(ctx context.Context, userName, tokenName string) (string, error) {
	tokenName, err := web.TokenName(tokenName)
	if err != nil {
		return "", err
	}
	tok := web.NewTokenSecret()
	now := s.second()
	tag, err := s.pool.Exec(ctx, `INSERT INTO web_tokens (user_id, name, token_hash, created_at, expires_at)
		SELECT id, $2, $3, $4, $5 FROM web_users WHERE name = $1`,
		userName, tokenName, web.SecretHash(tok), now, now.Add(s.tokenTTL))
	if err != nil {
		return "", fmt.Errorf("web: create token for %s: %w", userName, err)
	}
	if tag.RowsAffected() == 0 {
		return "", fmt.Errorf("web: user %q: %w", userName, web.ErrNotFound)
	}
	return tok, nil
}

// Tokens lists the API tokens of all users.
func (s *Store) Tokens(ctx context.Context) ([]web.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT t.id, u.name, t.name, t.created_at, t.expires_at, t.last_used_at
		FROM web_tokens t JOIN web_users u ON u.id = t.user_id ORDER BY t.id`)
	if err != nil {
		return nil, fmt.Errorf("web: list tokens: %w", err)
	}
	now := s.second()
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (web.APIToken, error) {
		var t web.APIToken
		var used *time.Time
		if err := r.Scan(&t.ID, &t.User, &t.Name, &t.CreatedAt, &t.ExpiresAt, &used); err != nil {
			return t, err
		}
		if used != nil {
			t.LastUsedAt = *used
		}
		t.JudgeExpiry(now)
		return t, nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: list tokens: %w", err)
	}
	return out, nil
}

// DeleteToken revokes a token by id.
func (s *Store) DeleteToken(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM web_tokens WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("web: delete token %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("web: token %d: %w", id, web.ErrNotFound)
	}
	return nil
}

// UserByToken resolves a live bearer token to its enabled user, records
// its use and says when it expires; one statement does both.
func (s *Store) UserByToken(ctx context.Context, tok string) (*web.User, time.Time, error) {
	now := s.second()
	var expires time.Time
	u, err := scanUser(s.pool.QueryRow(ctx, `UPDATE web_tokens t SET last_used_at = $2
		FROM web_users u
		WHERE u.id = t.user_id AND t.token_hash = $1 AND NOT u.disabled AND t.expires_at > $2
		RETURNING `+userColumns+`, t.expires_at`, web.SecretHash(tok), now), &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, web.ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("web: load token: %w", err)
	}
	return u, expires, nil
}

// SaveSearch stores a named search for user.
func (s *Store) SaveSearch(ctx context.Context, user, name, params string) (*web.SavedSearch, error) {
	name, err := web.CheckSavedSearch(name, params)
	if err != nil {
		return nil, err
	}
	now := s.second()
	var id int64
	err = s.pool.QueryRow(ctx, `INSERT INTO web_saved_searches (user_id, name, query, created_at)
		SELECT id, $2, $3, $4 FROM web_users WHERE name = $1 RETURNING id`, user, name, params, now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("web: save search: user %q: %w", user, web.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("web: save search: %w", err)
	}
	return &web.SavedSearch{ID: id, User: user, Name: name, Params: params, CreatedAt: now}, nil
}

const savedColumns = `s.id, u.name, s.name, s.query, s.created_at`

func scanSaved(r pgx.Row) (web.SavedSearch, error) {
	var ss web.SavedSearch
	err := r.Scan(&ss.ID, &ss.User, &ss.Name, &ss.Params, &ss.CreatedAt)
	return ss, err
}

// SavedSearches lists the searches of user ("" lists everyone's) by name.
func (s *Store) SavedSearches(ctx context.Context, user string) ([]web.SavedSearch, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+savedColumns+` FROM web_saved_searches s JOIN web_users u ON u.id = s.user_id
		WHERE $1 = '' OR u.name = $1 ORDER BY s.name COLLATE "C", s.id`, user)
	if err != nil {
		return nil, fmt.Errorf("web: list saved searches: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (web.SavedSearch, error) { return scanSaved(r) })
	if err != nil {
		return nil, fmt.Errorf("web: list saved searches: %w", err)
	}
	return out, nil
}

// SavedSearch loads one saved search, or an error wrapping web.ErrNotFound.
func (s *Store) SavedSearch(ctx context.Context, id int64) (*web.SavedSearch, error) {
	ss, err := scanSaved(s.pool.QueryRow(ctx, `SELECT `+savedColumns+` FROM web_saved_searches s
		JOIN web_users u ON u.id = s.user_id WHERE s.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("web: saved search %d: %w", id, web.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("web: saved search %d: %w", id, err)
	}
	return &ss, nil
}

// DeleteSavedSearch removes a saved search of user ("": anyone's) and,
// by the foreign key, its alert rules.
func (s *Store) DeleteSavedSearch(ctx context.Context, user string, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM web_saved_searches WHERE id = $1
		AND ($2 = '' OR user_id = (SELECT id FROM web_users WHERE name = $2))`, id, user)
	if err != nil {
		return fmt.Errorf("web: delete saved search %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("web: saved search %d: %w", id, web.ErrNotFound)
	}
	return nil
}

// CreateAlertRule turns a saved search into an alert rule.
func (s *Store) CreateAlertRule(ctx context.Context, savedID int64, minLevel string, interval time.Duration, by string) (*web.AlertRule, error) {
	ss, err := s.SavedSearch(ctx, savedID)
	if err != nil {
		return nil, err
	}
	if err := web.CheckAlertRule(ss.Params, minLevel, interval); err != nil {
		return nil, err
	}
	now := s.second()
	var id int64
	// The rule copies the search's name and query; a search deleted
	// meanwhile leaves nothing to copy and no rule.
	err = s.pool.QueryRow(ctx, `INSERT INTO web_alert_rules (saved_search_id, name, query, min_level, interval_seconds, created_by, created_at)
		SELECT id, name, query, $2, $3, $4, $5 FROM web_saved_searches WHERE id = $1 RETURNING id`,
		ss.ID, minLevel, int64(interval/time.Second), by, now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("web: saved search %d: %w", savedID, web.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("web: create alert rule: %w", err)
	}
	return &web.AlertRule{ID: id, SavedSearchID: ss.ID, Name: ss.Name, Params: ss.Params, MinLevel: minLevel, Interval: interval,
		Enabled: true, CreatedBy: by, CreatedAt: now}, nil
}

// AlertRules lists every alert rule in the order they were made.
func (s *Store) AlertRules(ctx context.Context) ([]web.AlertRule, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, saved_search_id, name, query, min_level, interval_seconds, enabled, created_by, created_at, last_run_at, last_error
		FROM web_alert_rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("web: list alert rules: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (web.AlertRule, error) {
		var a web.AlertRule
		var secs int64
		var last *time.Time
		if err := r.Scan(&a.ID, &a.SavedSearchID, &a.Name, &a.Params, &a.MinLevel, &secs, &a.Enabled, &a.CreatedBy, &a.CreatedAt, &last, &a.LastError); err != nil {
			return a, err
		}
		a.Interval = time.Duration(secs) * time.Second
		if last != nil {
			a.LastRunAt = *last
		}
		return a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: list alert rules: %w", err)
	}
	return out, nil
}

// MarkAlertRuleRun records that rule id ran at t and clears a refusal.
func (s *Store) MarkAlertRuleRun(ctx context.Context, id int64, t time.Time) error {
	return s.markAlertRule(ctx, id, t, "")
}

// MarkAlertRuleRefused records that rule id's run at t was refused and why.
func (s *Store) MarkAlertRuleRefused(ctx context.Context, id int64, t time.Time, reason string) error {
	return s.markAlertRule(ctx, id, t, web.RefusalReason(reason))
}

func (s *Store) markAlertRule(ctx context.Context, id int64, t time.Time, reason string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE web_alert_rules SET last_run_at = $2, last_error = $3 WHERE id = $1`,
		id, t.Truncate(time.Second), reason); err != nil {
		return fmt.Errorf("web: mark alert rule %d: %w", id, err)
	}
	return nil
}

// DeleteAlertRule removes a rule.
func (s *Store) DeleteAlertRule(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM web_alert_rules WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("web: delete alert rule %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("web: alert rule %d: %w", id, web.ErrNotFound)
	}
	return nil
}
