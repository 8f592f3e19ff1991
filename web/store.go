package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"riskmine/internal/sqlitedb"
)

// Store is the web package's DataStore on SQLite: users, sessions, API
// tokens, saved searches, alert rules, the read audit, the UI's sources
// and the audits, in tables prefixed web_ of the shared riskmine.db beside
// the other packages' tables. Login attempts, login nonces and search
// slots it keeps in memory (store_limits.go).
type Store struct {
	db       *sql.DB
	now      func() time.Time
	tokenTTL time.Duration
	limits   memLimits
}

// DefaultTokenTTL is how long an API token lasts unless configured.
const DefaultTokenTTL = 90 * 24 * time.Hour

// TokenExpiryWarning is how long before its expiry a token is flagged in
// the UI and in the log.
const TokenExpiryWarning = 7 * 24 * time.Hour

// SetTokenTTL sets how long tokens created from now on last.
func (s *Store) SetTokenTTL(d time.Duration) {
	if d > 0 {
		s.tokenTTL = d
	}
}

// DataStore is everything the web package keeps: the accounts and their
// work (AccountStore), the read audit, the UI's sources with their audit,
// the lexicon audit, and the short-lived state that guards logins and
// searches (attempt counters, login nonces, search slots). *Store is the
// SQLite implementation, web/pgstore the PostgreSQL one, which several API
// nodes share; web/storetest holds the behaviour every implementation must
// show (run it from the backend's tests).
type DataStore interface {
	AccountStore
	ReadAuditStore
	UISourceStore
	LexiconAuditStore
	LoginAttempts
	LoginNonces
	SearchSlots
	// SetTokenTTL sets how long API tokens created from now on last.
	SetTokenTTL(d time.Duration)
	Close() error
}

// AccountStore is what web keeps of its users and their work: accounts,
// browser sessions (with their CSRF tokens), API tokens, saved searches
// and the alert rules made from them.
type AccountStore interface {
	UserStore
	SessionStore
	TokenStore
	SavedSearchStore
	AlertRuleStore
}

// UserStore keeps local accounts. Names are stored NFKC-normalised and
// unique; passwords only as bcrypt hashes.
type UserStore interface {
	AddUser(ctx context.Context, name, password string, role Role) (*User, error)
	// SetPassword, and SetDisabled(true), end the user's sessions and
	// revoke their API tokens.
	SetPassword(ctx context.Context, name, password string) error
	SetRole(ctx context.Context, name string, role Role) error
	SetDisabled(ctx context.Context, name string, disabled bool) error
	// Users lists every user by name.
	Users(ctx context.Context) ([]User, error)
	UserByName(ctx context.Context, name string) (*User, error)
	// Authenticate returns the enabled user with that name and password;
	// an unknown name, a wrong password and a disabled user give the same
	// error.
	Authenticate(ctx context.Context, name, password string) (*User, error)
}

// SessionStore keeps browser sessions, by a hash of the cookie value.
type SessionStore interface {
	// CreateSession returns the cookie value of a session of u lasting ttl.
	CreateSession(ctx context.Context, u *User, ttl time.Duration) (token string, sess *Session, err error)
	// SessionByToken returns a live session of an enabled user, or
	// ErrNotFound (expired, ended, unknown).
	SessionByToken(ctx context.Context, token string) (*Session, error)
	DeleteSession(ctx context.Context, token string) error
}

// TokenStore keeps API bearer tokens, by a hash of the secret.
type TokenStore interface {
	// CreateToken returns the secret of a new token of the user; it
	// expires after the store's token TTL.
	CreateToken(ctx context.Context, userName, tokenName string) (string, error)
	// Tokens lists every token (expired ones too, until revoked).
	Tokens(ctx context.Context) ([]APIToken, error)
	// DeleteToken revokes a token; ErrNotFound when there is none.
	DeleteToken(ctx context.Context, id int64) error
	// UserByToken returns the enabled user of a live token and when it
	// expires, recording its use; ErrNotFound otherwise.
	UserByToken(ctx context.Context, tok string) (*User, time.Time, error)
}

// SavedSearchStore keeps named searches of users.
type SavedSearchStore interface {
	SaveSearch(ctx context.Context, user, name, params string) (*SavedSearch, error)
	// SavedSearches lists user's searches ("": everyone's) by name.
	SavedSearches(ctx context.Context, user string) ([]SavedSearch, error)
	SavedSearch(ctx context.Context, id int64) (*SavedSearch, error)
	// DeleteSavedSearch deletes a search of user ("": anyone's) and its
	// alert rules; ErrNotFound when user has no such search.
	DeleteSavedSearch(ctx context.Context, user string, id int64) error
}

// AlertRuleStore keeps the alert rules made from saved searches.
type AlertRuleStore interface {
	CreateAlertRule(ctx context.Context, savedID int64, minLevel string, interval time.Duration, by string) (*AlertRule, error)
	// AlertRules lists every rule in the order they were made.
	AlertRules(ctx context.Context) ([]AlertRule, error)
	MarkAlertRuleRun(ctx context.Context, id int64, t time.Time) error
	MarkAlertRuleRefused(ctx context.Context, id int64, t time.Time, reason string) error
	DeleteAlertRule(ctx context.Context, id int64) error
}

// ReadAuditStore keeps the read audit (read_audit.go): who searched,
// listed, viewed and exported what.
type ReadAuditStore interface {
	// AddReads stores reads, all or none.
	AddReads(ctx context.Context, evs []ReadEvent) error
	// Reads lists the reads matching f, newest first (at most f.Limit,
	// default 50, after f.Offset), and how many match; never a nil slice.
	Reads(ctx context.Context, f ReadFilter) ([]ReadEvent, int, error)
	// PruneReads deletes the reads recorded before t and says how many.
	PruneReads(ctx context.Context, before time.Time) (int64, error)
}

// UISourceStore keeps the crawl sources administrators add in the UI, and
// the audit of every change to them (ui_source.go). Each change and its
// audit row are stored together or not at all; what a change makes of the
// stored source is SourceEdit.Apply, the same for every backend.
type UISourceStore interface {
	// UISources lists the UI sources by name; never a nil slice.
	UISources(ctx context.Context) ([]UISource, error)
	// UISource returns one UI source or ErrNotFound.
	UISource(ctx context.Context, name string) (UISource, error)
	// CreateUISource stores a new source; ErrSourceExists when the name
	// is taken.
	CreateUISource(ctx context.Context, actor, name, yaml string) (UISource, error)
	// UpdateUISource replaces a source's YAML, keeping its pause;
	// PauseUISource pauses (true) or resumes it; DeleteUISource removes
	// it. Each gives ErrNotFound for an unknown name.
	UpdateUISource(ctx context.Context, actor, name, yaml string) (UISource, error)
	PauseUISource(ctx context.Context, actor, name string, paused bool) (UISource, error)
	DeleteUISource(ctx context.Context, actor, name string) error
	// SourceAudit returns the latest limit changes, newest first.
	SourceAudit(ctx context.Context, limit int) ([]SourceChange, error)
}

// LexiconAuditStore keeps the audit of lexicon edits (lexicon_edit.go).
type LexiconAuditStore interface {
	// AddLexiconChange records an edit; its ID is the store's.
	AddLexiconChange(ctx context.Context, c LexiconChange) error
	// LexiconAudit returns the latest limit edits, newest first.
	LexiconAudit(ctx context.Context, limit int) ([]LexiconChange, error)
	// LexiconChange returns the edit id, or ErrNotFound.
	LexiconChange(ctx context.Context, id int64) (LexiconChange, error)
}

var (
	_ DataStore    = (*Store)(nil)
	_ AccountStore = (*Store)(nil)
)

// ErrNotFound is returned when a user, token or saved search does not exist.
var ErrNotFound = errors.New("web: not found")

// migrations are applied in order by sqlitedb.Migrate; web_schema records
// how many have run. A released step never changes.
var migrations = []string{
	`CREATE TABLE web_users (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		name TEXT NOT NULL UNIQUE,
		password_hash TEXT NOT NULL,
		role TEXT NOT NULL,
		disabled INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE web_sessions (
		token_hash TEXT PRIMARY KEY,
		user_id INTEGER NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
		csrf TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	);
	CREATE TABLE web_tokens (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		user_id INTEGER NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
		name TEXT NOT NULL,
		token_hash TEXT NOT NULL UNIQUE,
		created_at INTEGER NOT NULL,
		last_used_at INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE web_saved_searches (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		user_id INTEGER NOT NULL REFERENCES web_users(id) ON DELETE CASCADE,
		name TEXT NOT NULL,
		query TEXT NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE web_alert_rules (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		saved_search_id INTEGER NOT NULL REFERENCES web_saved_searches(id) ON DELETE CASCADE,
		name TEXT NOT NULL,
		query TEXT NOT NULL,
		min_level TEXT NOT NULL,
		interval_seconds INTEGER NOT NULL,
		enabled INTEGER NOT NULL DEFAULT 1,
		created_by TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		last_run_at INTEGER NOT NULL DEFAULT 0
	);`,
	// API tokens expire. Tokens issued before expiry existed get the
	// default 90 days from the upgrade, so no integration stops at once.
	`ALTER TABLE web_tokens ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
	UPDATE web_tokens SET expires_at = CAST(strftime('%s','now') AS INTEGER) + 7776000;`,
	// The read audit: who searched, viewed and exported what (read_audit.go).
	readAuditMigration,
	// Why an alert rule's last run was refused (its query out of the
	// search bounds), shown beside the rule until a run succeeds.
	`ALTER TABLE web_alert_rules ADD COLUMN last_error TEXT NOT NULL DEFAULT '';`,
	// Sources added in the UI by administrators, and the audit of every
	// change to them (ui_source.go).
	uiSourceMigration,
	// The lexicon edit audit, which earlier releases created on first use.
	lexiconAuditTable,
}

// OpenStore opens (creating if needed) the SQLite database at path and
// applies the web_ migrations.
func OpenStore(path string) (*Store, error) {
	// Immediate: a transaction that reads before it writes (a change to a
	// UI source) takes the write lock first, so concurrent ones wait their
	// turn rather than fail.
	db, err := sqlitedb.Open(path, sqlitedb.Options{Immediate: true})
	if err != nil {
		return nil, fmt.Errorf("web: open %s: %w", path, err)
	}
	if err := sqlitedb.Migrate(context.Background(), db, "web", migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("web: migrate %s: %w", path, err)
	}
	return &Store{db: db, now: time.Now, tokenTTL: DefaultTokenTTL, limits: newMemLimits()}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }
