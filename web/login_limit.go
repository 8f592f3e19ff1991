package web

import (
	"sync"
	"time"
)

// attemptLimiter slows password (and token) guessing per key: the first free
// failures of a key cost nothing, each further one doubles the wait before
// the next attempt, from base up to maxDelay. A key is forgotten once it has
// been quiet for window. Nobody is locked out for good: a legitimate user
// behind a busy address waits at most maxDelay.
//
// An attempt is reserved before the password is checked — counted as a
// failure at once — and given back on success, so parallel guesses cannot
// all pass the check before any failure is recorded.
type attemptLimiter struct {
	mu       sync.Mutex
	free     int
	base     time.Duration
	maxDelay time.Duration
	window   time.Duration
	now      func() time.Time
	keys     map[string]*attempts
}

type attempts struct {
	n    int       // failures (and attempts in flight) still remembered
	last time.Time // when the latest one was reserved
}

func newAttemptLimiter(free int, base, maxDelay, window time.Duration, now func() time.Time) *attemptLimiter {
	return &attemptLimiter{free: free, base: base, maxDelay: maxDelay, window: window, now: now, keys: map[string]*attempts{}}
}

// delay is the wait after n failures.
func (l *attemptLimiter) delay(n int) time.Duration {
	if n < l.free {
		return 0
	}
	d := l.base
	for i := l.free; i < n && d < l.maxDelay; i++ {
		d *= 2
	}
	return min(d, l.maxDelay)
}

// wait is how long key must wait before its next attempt; callers hold mu.
func (l *attemptLimiter) wait(key string, now time.Time) time.Duration {
	a := l.keys[key]
	if a == nil {
		return 0
	}
	if now.Sub(a.last) >= l.window {
		delete(l.keys, key)
		return 0
	}
	return max(0, a.last.Add(l.delay(a.n)).Sub(now))
}

// reserve takes an attempt for every key at once, or for none of them and
// says how long to wait.
func (l *attemptLimiter) reserve(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var longest time.Duration
	for _, k := range keys {
		longest = max(longest, l.wait(k, now))
	}
	if longest > 0 {
		return false, longest
	}
	for _, k := range keys {
		a := l.keys[k]
		if a == nil {
			a = &attempts{}
			l.keys[k] = a
		}
		a.n++
		a.last = now
	}
	if len(l.keys) > 20000 {
		// Bound memory under a spray of random names.
		for k := range l.keys {
			l.wait(k, now)
		}
	}
	return true, 0
}

// forget clears keys after a success.
func (l *attemptLimiter) forget(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.keys, k)
	}
}

// giveBack returns one reserved attempt of keys (a success from an address
// does not count against the address).
func (l *attemptLimiter) giveBack(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if a := l.keys[k]; a != nil {
			a.n--
			if a.n <= 0 {
				delete(l.keys, k)
			}
		}
	}
}
