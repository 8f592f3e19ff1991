package web

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"riskmine/level"
)

// The rules every AccountStore applies, whatever it keeps its rows in:
// how names are normalised and checked, how passwords and secrets are made
// and hashed, and what a saved search and an alert rule may hold. The
// SQLite Store and the PostgreSQL store (web/pgstore) both call them, so a
// rule is written once and a backend is only its SQL.

// PrepareUser checks a new account and returns the name as stored
// (NFKC-normalised) and the bcrypt hash of its password.
func PrepareUser(name, password string, role Role) (storedName, hash string, err error) {
	name = normalizeUserName(name)
	if err := validUserName(name); err != nil {
		return "", "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", "", err
	}
	hash, err = HashPassword(name, password)
	if err != nil {
		return "", "", err
	}
	return name, hash, nil
}

// HashPassword checks password for user name (CheckPassword) and returns
// its bcrypt hash.
func HashPassword(name, password string) (string, error) {
	if err := CheckPassword(name, password); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", fmt.Errorf("web: hash password: %w", err)
	}
	return string(h), nil
}

// PasswordMatches reports whether password matches the bcrypt hash. An
// empty hash (no such user) is compared against a fixed hash of the same
// cost and never matches, so the time taken does not reveal whether a
// name is registered.
func PasswordMatches(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// ErrBadLogin is returned for an unknown user, a wrong password or a
// disabled account alike, so a login form does not reveal which.
var ErrBadLogin = errors.New("web: wrong user name or password")

// SetPasswordCost sets the bcrypt work factor of passwords hashed from now
// on. Only tests lower it, before any hash is made: hashing at the default
// cost makes a suite slow for no gain.
func SetPasswordCost(cost int) { bcryptCost = cost }

// NewSessionSecrets returns the cookie value and CSRF token of a new
// session.
func NewSessionSecrets() (token, csrf string) { return randomToken(32), randomToken(24) }

// NewTokenSecret returns the secret of a new API token.
func NewTokenSecret() string { return "rmk_" + randomToken(30) }

// SecretHash is what is stored of a session cookie or a token secret, so
// a copy of the database yields no live credential.
func SecretHash(secret string) string { return hashToken(secret) }

// TokenName checks the name of a new token ("" becomes "api").
func TokenName(name string) (string, error) {
	if name == "" {
		name = "api"
	}
	return name, checkLen("token name", name, MaxNameLen)
}

// JudgeExpiry sets Expired and ExpiresSoon from ExpiresAt as seen at now.
func (t *APIToken) JudgeExpiry(now time.Time) {
	t.Expired = !now.Before(t.ExpiresAt)
	t.ExpiresSoon = !t.Expired && t.ExpiresAt.Sub(now) <= TokenExpiryWarning
}

// CheckSavedSearch checks a search about to be saved and returns its name
// as stored (trimmed).
func CheckSavedSearch(name, params string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", errors.New("web: a saved search needs a name of 1 to 100 characters")
	}
	if len(params) > maxSavedParams {
		return "", fmt.Errorf("web: a saved search's parameters are %d bytes, at most %d are allowed", len(params), maxSavedParams)
	}
	if _, err := url.ParseQuery(params); err != nil {
		return "", fmt.Errorf("web: saved search parameters: %w", err)
	}
	return name, nil
}

// CheckAlertRule checks a rule about to be made from a saved search with
// parameters params.
func CheckAlertRule(params, minLevel string, interval time.Duration) error {
	if level.Rank(minLevel) < 1 {
		return fmt.Errorf("web: min_level %q is not one of low, medium, high, critical", minLevel)
	}
	if interval < time.Minute || interval > 7*24*time.Hour {
		return fmt.Errorf("web: interval must be between 1m and 168h, got %s", interval)
	}
	probe := AlertRule{Params: params, MinLevel: minLevel}
	_, err := probe.Query(time.UTC)
	return err
}

// RefusalReason is the reason of a refused rule run as stored: never
// empty, at most 500 characters.
func RefusalReason(reason string) string {
	if reason == "" {
		return "refused"
	}
	if r := []rune(reason); len(r) > 500 {
		return string(r[:500]) + "…"
	}
	return reason
}
