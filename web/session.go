package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a logged-in browser. Only the SHA-256 of the cookie value is
// stored, so a copy of the database does not yield live sessions.
type Session struct {
	User *User
	CSRF string
}

// CreateSession stores a new session for u and returns the cookie value.
func (s *Store) CreateSession(ctx context.Context, u *User, ttl time.Duration) (token string, sess *Session, err error) {
	token, csrf := NewSessionSecrets()
	now := s.now()
	_, err = s.db.ExecContext(ctx, `INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		SecretHash(token), u.ID, csrf, now.Unix(), now.Add(ttl).Unix())
	if err != nil {
		return "", nil, fmt.Errorf("web: create session: %w", err)
	}
	// Opportunistic clean-up of expired sessions.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at < ?`, now.Unix()); err != nil {
		return "", nil, fmt.Errorf("web: expire sessions: %w", err)
	}
	return token, &Session{User: u, CSRF: csrf}, nil
}

// SessionByToken returns the live session of a cookie value, or ErrNotFound.
func (s *Store) SessionByToken(ctx context.Context, token string) (*Session, error) {
	var u User
	var created int64
	var csrf string
	err := s.db.QueryRowContext(ctx, `SELECT u.id, u.name, u.role, u.disabled, u.created_at, s.csrf
		FROM web_sessions s JOIN web_users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0`, SecretHash(token), s.now().Unix()).
		Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &created, &csrf)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("web: load session: %w", err)
	}
	u.CreatedAt = time.Unix(created, 0)
	return &Session{User: &u, CSRF: csrf}, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM web_sessions WHERE token_hash = ?`, SecretHash(token)); err != nil {
		return fmt.Errorf("web: delete session: %w", err)
	}
	return nil
}

// APIToken describes a bearer token (never its secret value).
type APIToken struct {
	ID         int64     `json:"id"`
	User       string    `json:"user"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// ExpiresSoon is true within TokenExpiryWarning of ExpiresAt.
	ExpiresSoon bool `json:"expires_soon"`
	// Expired tokens are listed until revoked, but no longer accepted.
	Expired bool `json:"expired"`
}

// CreateToken issues a bearer token acting as the named user, valid for the
// store's token TTL (default 90 days). The secret is returned once; only its
// hash is stored.
func (s *Store) CreateToken(ctx context.Context, userName, tokenName string) (string, error) {
	u, err := s.UserByName(ctx, userName)
	if err != nil {
		return "", err
	}
	tokenName, err = TokenName(tokenName)
	if err != nil {
		return "", err
	}
	tok := NewTokenSecret()
	now := s.now()
	_, err = s.db.ExecContext(ctx, `INSERT INTO web_tokens (user_id, name, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		u.ID, tokenName, SecretHash(tok), now.Unix(), now.Add(s.tokenTTL).Unix())
	if err != nil {
		return "", fmt.Errorf("web: create token for %s: %w", userName, err)
	}
	return tok, nil
}

// Tokens lists the API tokens of all users.
func (s *Store) Tokens(ctx context.Context) ([]APIToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.id, u.name, t.name, t.created_at, t.expires_at, t.last_used_at
		FROM web_tokens t JOIN web_users u ON u.id = t.user_id ORDER BY t.id`)
	if err != nil {
		return nil, fmt.Errorf("web: list tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		var created, expires, used int64
		if err := rows.Scan(&t.ID, &t.User, &t.Name, &created, &expires, &used); err != nil {
			return nil, fmt.Errorf("web: list tokens: %w", err)
		}
		t.CreatedAt = time.Unix(created, 0)
		t.ExpiresAt = time.Unix(expires, 0)
		t.JudgeExpiry(s.now())
		if used > 0 {
			t.LastUsedAt = time.Unix(used, 0)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteToken revokes a token by id.
func (s *Store) DeleteToken(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM web_tokens WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("web: delete token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("web: token %d: %w", id, ErrNotFound)
	}
	return nil
}

// UserByToken resolves a live bearer token to its enabled user, and says
// when the token expires.
func (s *Store) UserByToken(ctx context.Context, tok string) (*User, time.Time, error) {
	var u User
	var created, expires int64
	var id int64
	h := SecretHash(tok)
	err := s.db.QueryRowContext(ctx, `SELECT t.id, t.expires_at, u.id, u.name, u.role, u.disabled, u.created_at
		FROM web_tokens t JOIN web_users u ON u.id = t.user_id WHERE t.token_hash = ? AND u.disabled = 0 AND t.expires_at > ?`,
		h, s.now().Unix()).
		Scan(&id, &expires, &u.ID, &u.Name, &u.Role, &u.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("web: load token: %w", err)
	}
	u.CreatedAt = time.Unix(created, 0)
	if _, err := s.db.ExecContext(ctx, `UPDATE web_tokens SET last_used_at = ? WHERE id = ?`, s.now().Unix(), id); err != nil {
		return nil, time.Time{}, fmt.Errorf("web: touch token: %w", err)
	}
	return &u, time.Unix(expires, 0), nil
}
