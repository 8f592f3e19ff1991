package web

import (
	"context"
	"time"
)

// AttemptPolicy slows password (and token) guessing per key: the first
// Free failures of a key cost nothing, each further one doubles the wait
// before the next attempt, from Base up to MaxDelay. A key is forgotten
// once it has been quiet for Window. Nobody is locked out for good: a
// legitimate user behind a busy address waits at most MaxDelay.
//
// An attempt is reserved before the password is checked — counted as a
// failure at once — and given back on success, so parallel guesses cannot
// all pass the check before any failure is recorded.
type AttemptPolicy struct {
	Free     int
	Base     time.Duration
	MaxDelay time.Duration
	Window   time.Duration
}

// Delay is the wait after n failures.
func (p AttemptPolicy) Delay(n int) time.Duration {
	if n < p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	return min(d, p.MaxDelay)
}

// Wait is how long a key with n failures, the latest reserved at last,
// must wait at now before its next attempt.
func (p AttemptPolicy) Wait(n int, last, now time.Time) time.Duration {
	if n <= 0 || p.Forgotten(last, now) {
		return 0
	}
	return max(0, last.Add(p.Delay(n)).Sub(now))
}

// Forgotten reports whether a key whose latest attempt was at last has
// been quiet long enough to start again from no failures.
func (p AttemptPolicy) Forgotten(last, now time.Time) bool { return now.Sub(last) >= p.Window }

// Next is a key's count of failures after an attempt reserved at now.
func (p AttemptPolicy) Next(n int, last, now time.Time) int {
	if n <= 0 || p.Forgotten(last, now) {
		return 1
	}
	return n + 1
}

// LoginAttempts counts the attempts of keys (an account, a client
// address) under an AttemptPolicy. On PostgreSQL the counts are shared by
// every API node, so a limit reached through one holds on all.
type LoginAttempts interface {
	// ReserveAttempts takes an attempt for every key at once — each
	// key's count becomes p.Next of it, at the store's now — when none of
	// them must wait, and returns 0. Otherwise it takes none and returns
	// the longest p.Wait. Concurrent reservations of one key, from any
	// node, are counted one after another.
	ReserveAttempts(ctx context.Context, p AttemptPolicy, keys ...string) (time.Duration, error)
	// GiveBackAttempts returns one reserved attempt of each key.
	GiveBackAttempts(ctx context.Context, keys ...string) error
	// ForgetAttempts clears keys (after a success).
	ForgetAttempts(ctx context.Context, keys ...string) error
}

// attemptLimiter is one policy over the store's attempt counters: the
// server has one per account, one per client address and one for wrong
// bearer tokens; their keys carry distinct prefixes.
type attemptLimiter struct {
	policy AttemptPolicy
	store  LoginAttempts
}

func newAttemptLimiter(st LoginAttempts, free int, base, maxDelay, window time.Duration) *attemptLimiter {
	return &attemptLimiter{policy: AttemptPolicy{Free: free, Base: base, MaxDelay: maxDelay, Window: window}, store: st}
}

// reserve takes an attempt for every key at once, or for none of them and
// says how long to wait.
func (l *attemptLimiter) reserve(ctx context.Context, keys ...string) (bool, time.Duration, error) {
	wait, err := l.store.ReserveAttempts(ctx, l.policy, keys...)
	if err != nil {
		return false, 0, err
	}
	return wait <= 0, wait, nil
}

// forget clears keys after a success.
func (l *attemptLimiter) forget(ctx context.Context, keys ...string) error {
	return l.store.ForgetAttempts(ctx, keys...)
}

// giveBack returns one reserved attempt of keys (a success from an address
// does not count against the address).
func (l *attemptLimiter) giveBack(ctx context.Context, keys ...string) error {
	return l.store.GiveBackAttempts(ctx, keys...)
}
