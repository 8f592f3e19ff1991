package web

import (
	"sync"
	"time"
)

// loginLimiter slows password guessing: after max failures for one
// IP+user pair within window, further attempts are refused until the oldest
// failure leaves the window. A successful login clears the pair.
type loginLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	fails  map[string][]time.Time
}

func newLoginLimiter(max int, window time.Duration, now func() time.Time) *loginLimiter {
	return &loginLimiter{max: max, window: window, now: now, fails: map[string][]time.Time{}}
}

func limiterKey(ip, user string) string { return ip + "\x00" + user }

// allow reports whether an attempt may be made now, and if not, how long
// until it may.
func (l *loginLimiter) allow(ip, user string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := limiterKey(ip, user)
	recent := l.prune(k)
	if len(recent) < l.max {
		return true, 0
	}
	return false, recent[0].Add(l.window).Sub(l.now())
}

// fail records a failed attempt.
func (l *loginLimiter) fail(ip, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := limiterKey(ip, user)
	l.fails[k] = append(l.prune(k), l.now())
	// Bound memory under a spray of random names: drop pairs whose failures
	// have all expired.
	if len(l.fails) > 10000 {
		for key := range l.fails {
			l.prune(key)
		}
	}
}

// succeed forgets the failures of a pair.
func (l *loginLimiter) succeed(ip, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, limiterKey(ip, user))
}

// prune drops failures older than the window; callers hold mu.
func (l *loginLimiter) prune(k string) []time.Time {
	cut := l.now().Add(-l.window)
	f := l.fails[k]
	i := 0
	for i < len(f) && !f[i].After(cut) {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(l.fails, k)
		return nil
	}
	l.fails[k] = f
	return f
}
