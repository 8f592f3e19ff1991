package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// Role is what a user may do: viewers read, analysts also work leads and
// searches, admins also change configuration and users.
type Role string

// The roles, from least to most privileged.
const (
	RoleViewer  Role = "viewer"
	RoleAnalyst Role = "analyst"
	RoleAdmin   Role = "admin"
)

// ParseRole checks s names a role.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleViewer, RoleAnalyst, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("web: unknown role %q, expected admin, analyst or viewer", s)
}

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleAnalyst:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// AtLeast reports whether r has the rights of min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() }

// User is a local account.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// bcryptCost is the bcrypt work factor; tests lower it.
var bcryptCost = bcrypt.DefaultCost

// MaxUserNameLen is the longest user name, in characters.
const MaxUserNameLen = 64

// reservedUserNames are names the system uses or that pass for it in an
// audit trail: the bootstrap token acts as api-token.
var reservedUserNames = map[string]bool{
	"api-token": true, "api_token": true, "apitoken": true, "token": true,
	"admin-token": true, "system": true, "root": true, "riskmine": true,
	"administrator": true, "superuser": true, "anonymous": true, "nobody": true,
	"demo-receiver": true, "webhook": true, "scheduler": true, "pipeline": true,
}

// normalizeUserName brings a typed name to the form stored: NFKC, so that
// full-width and compatibility forms of one name are the same name.
func normalizeUserName(name string) string { return norm.NFKC.String(name) }

// validUserName checks an already normalised name: 1 to 64 characters, no
// whitespace, control, format (zero-width, bidi) or URL-significant
// characters, and not a reserved name.
func validUserName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxUserNameLen {
		return fmt.Errorf("web: user name must be 1 to %d characters", MaxUserNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("web: user name is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Bidi_Control, r) ||
			unicode.Is(unicode.Co, r) || unicode.Is(unicode.Cs, r) || r == utf8.RuneError ||
			strings.ContainsRune(`/\"'<>?#%&:@;,=+*[]{}|^~`+"`", r) {
			return fmt.Errorf("web: user name %q: no spaces, invisible or bidi characters, nor any of / \\ \" ' < > ? # %% & : @ ; , = + * [ ] { } | ^ ~ `", name)
		}
	}
	if reservedUserNames[strings.ToLower(name)] {
		return fmt.Errorf("web: user name %q is reserved", name)
	}
	return nil
}

// AddUser creates a user with a bcrypt hash of password.
// The name is NFKC-normalised first; the password must pass CheckPassword.
func (s *Store) AddUser(ctx context.Context, name, password string, role Role) (*User, error) {
	name, hash, err := PrepareUser(name, password, role)
	if err != nil {
		return nil, err
	}
	now := s.now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO web_users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)`,
		name, hash, string(role), now.Unix())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return nil, fmt.Errorf("web: user %q already exists", name)
		}
		return nil, fmt.Errorf("web: add user %s: %w", name, err)
	}
	id, _ := res.LastInsertId()
	return &User{ID: id, Name: name, Role: role, CreatedAt: time.Unix(now.Unix(), 0)}, nil
}

// SetPassword replaces a user's password and ends the user's sessions and
// revokes the user's API tokens.
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	hash, err := HashPassword(name, password)
	if err != nil {
		return err
	}
	if err := s.updateUser(ctx, name, `UPDATE web_users SET password_hash = ? WHERE name = ?`, hash, name); err != nil {
		return err
	}
	// A new password ends the sessions and tokens obtained with the old one.
	return s.endCredentials(ctx, name)
}

// endCredentials deletes the sessions and API tokens of a user.
func (s *Store) endCredentials(ctx context.Context, name string) error {
	for _, q := range []string{
		`DELETE FROM web_sessions WHERE user_id = (SELECT id FROM web_users WHERE name = ?)`,
		`DELETE FROM web_tokens WHERE user_id = (SELECT id FROM web_users WHERE name = ?)`,
	} {
		if _, err := s.db.ExecContext(ctx, q, name); err != nil {
			return fmt.Errorf("web: end sessions and tokens of %s: %w", name, err)
		}
	}
	return nil
}

// SetRole changes a user's role.
func (s *Store) SetRole(ctx context.Context, name string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return s.updateUser(ctx, name, `UPDATE web_users SET role = ? WHERE name = ?`, string(role), name)
}

// SetDisabled disables or re-enables a user. Disabling ends the user's
// sessions and revokes their API tokens (re-enabling does not bring them back).
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	if err := s.updateUser(ctx, name, `UPDATE web_users SET disabled = ? WHERE name = ?`, disabled, name); err != nil {
		return err
	}
	if disabled {
		return s.endCredentials(ctx, name)
	}
	return nil
}

func (s *Store) updateUser(ctx context.Context, name, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("web: update user %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("web: user %q: %w", name, ErrNotFound)
	}
	return nil
}

// Users lists all users by name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, role, disabled, created_at FROM web_users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("web: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var created int64
		if err := rows.Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &created); err != nil {
			return nil, fmt.Errorf("web: list users: %w", err)
		}
		u.CreatedAt = time.Unix(created, 0)
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserByName loads one user.
func (s *Store) UserByName(ctx context.Context, name string) (*User, error) {
	var u User
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT id, name, role, disabled, created_at FROM web_users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("web: user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("web: load user %s: %w", name, err)
	}
	u.CreatedAt = time.Unix(created, 0)
	return &u, nil
}

// dummyHash is compared against when the user does not exist, so that the
// time taken does not reveal whether a name is registered. It is made at the
// cost real hashes are made at (on first use, since tests lower the cost).
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("riskmine-no-such-user"), bcryptCost)
	if err != nil {
		panic("web: bcrypt of a fixed password failed: " + err.Error()) // cannot happen
	}
	return h
})

// Authenticate checks a name and password and returns the enabled user.
func (s *Store) Authenticate(ctx context.Context, name, password string) (*User, error) {
	var u User
	var hash string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT id, name, role, disabled, created_at, password_hash FROM web_users WHERE name = ?`, name).
		Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &created, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		PasswordMatches("", password)
		return nil, ErrBadLogin
	}
	if err != nil {
		return nil, fmt.Errorf("web: authenticate %s: %w", name, err)
	}
	if !PasswordMatches(hash, password) || u.Disabled {
		return nil, ErrBadLogin
	}
	u.CreatedAt = time.Unix(created, 0)
	return &u, nil
}

// randomToken returns n random bytes, URL-safe base64 encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("web: crypto/rand failed: " + err.Error()) // cannot happen on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// RandomPassword returns a fresh password for a new account.
func RandomPassword() string { return randomToken(15) }

// MaxNameLen is the longest short name (tokens, saved searches, rules),
// in characters.
const MaxNameLen = 64

// checkLen refuses a text field longer than max characters with one line
// naming the field.
func checkLen(field, v string, max int) error {
	if n := utf8.RuneCountInString(v); n > max {
		return fmt.Errorf("web: %s has %d characters, at most %d are allowed", field, n, max)
	}
	return nil
}
