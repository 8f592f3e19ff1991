package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// memLimits are the SQLite store's login attempts, login nonces and
// search slots. They live in the process's memory, not in the database:
// an embedded installation is one process, and they need not outlive it
// (a restart forgets a few failed logins and frees the slots of searches
// that ended with it). Each map is bounded against a spray of keys.
type memLimits struct {
	mu       sync.Mutex
	attempts map[string]*memAttempts
	nonces   map[string]memNonce
	slots    map[string]map[string]time.Time // user → slot id → lease end
}

type memAttempts struct {
	n       int       // failures (and attempts in flight) still remembered
	last    time.Time // when the latest one was reserved
	expires time.Time // last plus the policy's window: forgotten after
}

type memNonce struct {
	ip      string
	expires time.Time
}

// Bounds of the in-memory maps.
const (
	maxMemAttempts = 20000
	maxMemNonces   = 10000
)

func newMemLimits() memLimits {
	return memLimits{attempts: map[string]*memAttempts{}, nonces: map[string]memNonce{}, slots: map[string]map[string]time.Time{}}
}

// ReserveAttempts takes an attempt for every key at once, or for none and
// says how long to wait.
func (s *Store) ReserveAttempts(_ context.Context, p AttemptPolicy, keys ...string) (time.Duration, error) {
	m := &s.limits
	m.mu.Lock()
	defer m.mu.Unlock()
	now := s.now()
	var longest time.Duration
	for _, k := range keys {
		if a := m.attempts[k]; a != nil {
			longest = max(longest, p.Wait(a.n, a.last, now))
		}
	}
	if longest > 0 {
		return longest, nil
	}
	for _, k := range keys {
		a := m.attempts[k]
		if a == nil {
			a = &memAttempts{}
			m.attempts[k] = a
		}
		a.n, a.last, a.expires = p.Next(a.n, a.last, now), now, now.Add(p.Window)
	}
	if len(m.attempts) > maxMemAttempts {
		for k, a := range m.attempts {
			if !now.Before(a.expires) {
				delete(m.attempts, k)
			}
		}
	}
	return 0, nil
}

// GiveBackAttempts returns one reserved attempt of each key.
func (s *Store) GiveBackAttempts(_ context.Context, keys ...string) error {
	m := &s.limits
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if a := m.attempts[k]; a != nil {
			if a.n--; a.n <= 0 {
				delete(m.attempts, k)
			}
		}
	}
	return nil
}

// ForgetAttempts clears keys.
func (s *Store) ForgetAttempts(_ context.Context, keys ...string) error {
	m := &s.limits
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.attempts, k)
	}
	return nil
}

// AddLoginNonce keeps a login token issued to ip until expires.
func (s *Store) AddLoginNonce(_ context.Context, nonce, ip string, expires time.Time) error {
	m := &s.limits
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.nonces) >= maxMemNonces {
		now := s.now()
		for k, v := range m.nonces {
			if now.After(v.expires) {
				delete(m.nonces, k)
			}
		}
		// Still full: forget an arbitrary one rather than grow without bound.
		for k := range m.nonces {
			if len(m.nonces) < maxMemNonces {
				break
			}
			delete(m.nonces, k)
		}
	}
	m.nonces[nonce] = memNonce{ip: ip, expires: expires}
	return nil
}

// TakeLoginNonce removes a login token and says whom it was issued to.
func (s *Store) TakeLoginNonce(_ context.Context, nonce string) (string, time.Time, error) {
	m := &s.limits
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.nonces[nonce]
	if !ok {
		return "", time.Time{}, ErrNotFound
	}
	delete(m.nonces, nonce)
	return v.ip, v.expires, nil
}

// AcquireSearchSlot takes one of user's max search slots for lease, or
// returns "" when all are held.
func (s *Store) AcquireSearchSlot(_ context.Context, user string, max int, lease time.Duration) (string, error) {
	m := &s.limits
	m.mu.Lock()
	defer m.mu.Unlock()
	now := s.now()
	held := m.slots[user]
	for id, end := range held {
		if !now.Before(end) {
			delete(held, id)
		}
	}
	if len(held) >= max {
		return "", nil
	}
	if held == nil {
		held = map[string]time.Time{}
		m.slots[user] = held
	}
	id := NewSearchSlotID()
	held[id] = now.Add(lease)
	return id, nil
}

// RenewSearchSlot extends a held slot's lease.
func (s *Store) RenewSearchSlot(_ context.Context, id string, lease time.Duration) error {
	m := &s.limits
	m.mu.Lock()
	defer m.mu.Unlock()
	now := s.now()
	for _, held := range m.slots {
		if end, ok := held[id]; ok && now.Before(end) {
			held[id] = now.Add(lease)
			return nil
		}
	}
	return ErrNotFound
}

// ReleaseSearchSlot frees a slot.
func (s *Store) ReleaseSearchSlot(_ context.Context, id string) error {
	m := &s.limits
	m.mu.Lock()
	defer m.mu.Unlock()
	for user, held := range m.slots {
		if _, ok := held[id]; ok {
			delete(held, id)
			if len(held) == 0 {
				delete(m.slots, user)
			}
			return nil
		}
	}
	return nil
}

// NewSearchSlotID returns a random id for a search slot.
func NewSearchSlotID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
