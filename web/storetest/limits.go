package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/web"
)

// policy is the attempt policy of the cases: two free failures, then 1 s,
// 2 s, 4 s at most; forgotten after an hour.
var policy = web.AttemptPolicy{Free: 2, Base: time.Second, MaxDelay: 4 * time.Second, Window: time.Hour}

// reserve reserves keys and returns the wait.
func reserve(t *testing.T, s web.LoginAttempts, p web.AttemptPolicy, keys ...string) time.Duration {
	t.Helper()
	wait, err := s.ReserveAttempts(context.Background(), p, keys...)
	if err != nil {
		t.Fatalf("reserve %v: %v", keys, err)
	}
	return wait
}

// wantWaits reserves keys one time for each wait of want, the clock
// standing still, and fails unless each reservation waits as listed.
func wantWaits(t *testing.T, s web.LoginAttempts, what string, want []time.Duration, keys ...string) {
	t.Helper()
	var got []time.Duration
	for range want {
		got = append(got, reserve(t, s, policy, keys...))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: waits %v, want %v", what, got, want)
	}
}

func testLoginAttempts(t *testing.T, s web.DataStore, c *Clock) {
	ctx := context.Background()
	// Two free attempts, then a wait that doubles with each failure.
	wantWaits(t, s, "a new key", []time.Duration{0, 0, time.Second, time.Second}, "u:ana")
	c.Add(time.Second)
	wantWaits(t, s, "after waiting 1 s", []time.Duration{0, 2 * time.Second}, "u:ana")
	c.Add(2 * time.Second)
	wantWaits(t, s, "after waiting 2 s", []time.Duration{0, 4 * time.Second}, "u:ana")
	c.Add(4 * time.Second)
	wantWaits(t, s, "at the longest delay", []time.Duration{0, 4 * time.Second}, "u:ana")
	// Keys are counted apart.
	wantWaits(t, s, "another key", []time.Duration{0, 0, time.Second}, "u:bo")
	// Several keys are reserved all or none: a key that must wait holds
	// back the fresh one, which is then still fresh.
	if w := reserve(t, s, policy, "a:192.0.2.1", "u:ana"); w != 4*time.Second {
		t.Fatalf("a fresh key with a waiting one: wait %s, want 4s", w)
	}
	wantWaits(t, s, "the key held back", []time.Duration{0, 0, time.Second}, "a:192.0.2.1")
	// A reservation given back does not count.
	wantWaits(t, s, "a third key", []time.Duration{0}, "u:cy")
	if err := s.GiveBackAttempts(ctx, "u:cy"); err != nil {
		t.Fatal(err)
	}
	wantWaits(t, s, "after giving one back", []time.Duration{0, 0, time.Second}, "u:cy")
	// Giving back what was never reserved leaves nothing owed.
	if err := s.GiveBackAttempts(ctx, "u:nobody", "u:nobody"); err != nil {
		t.Fatal(err)
	}
	wantWaits(t, s, "a key given back before use", []time.Duration{0, 0, time.Second}, "u:nobody")
	// A success forgets the key.
	if err := s.ForgetAttempts(ctx, "u:bo"); err != nil {
		t.Fatal(err)
	}
	wantWaits(t, s, "a forgotten key", []time.Duration{0, 0, time.Second}, "u:bo")
	// An hour of quiet forgets it too; a little less does not.
	c.Add(time.Hour - time.Second)
	wantWaits(t, s, "a key quiet for less than the window", []time.Duration{0, 4 * time.Second}, "u:ana")
	c.Add(time.Hour)
	wantWaits(t, s, "a key quiet for the window", []time.Duration{0, 0, time.Second}, "u:ana")
	// Each reservation names its policy: a stricter one on the same key
	// makes it wait sooner.
	strict := web.AttemptPolicy{Free: 1, Base: 10 * time.Second, MaxDelay: time.Minute, Window: time.Hour}
	if w := reserve(t, s, strict, "t:192.0.2.9"); w != 0 {
		t.Fatalf("a key's first attempt waits %s", w)
	}
	if w := reserve(t, s, strict, "t:192.0.2.9"); w != 10*time.Second {
		t.Fatalf("the strict policy's wait: %s, want 10s", w)
	}
}

// testLoginAttemptsConcurrent makes many guesses at one account at once
// (run with -race): exactly the free ones pass, however they interleave.
func testLoginAttemptsConcurrent(t *testing.T, s web.DataStore, _ *Clock) {
	p := web.AttemptPolicy{Free: 5, Base: time.Hour, MaxDelay: time.Hour, Window: 24 * time.Hour}
	if passed := guessAtOnce(t, []web.LoginAttempts{s}, p, 24); passed != 5 {
		t.Fatalf("%d of 24 concurrent attempts passed, want the 5 free ones", passed)
	}
}

// guessAtOnce reserves key u:target n times at once, spread over stores,
// and returns how many reservations passed.
func guessAtOnce(t *testing.T, stores []web.LoginAttempts, p web.AttemptPolicy, n int) int {
	t.Helper()
	var passed atomic.Int32
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			wait, err := stores[i%len(stores)].ReserveAttempts(context.Background(), p, "u:target", fmt.Sprintf("a:198.51.100.%d", i))
			if err != nil {
				errs <- err
				return
			}
			if wait == 0 {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return int(passed.Load())
}

func testLoginNonces(t *testing.T, s web.DataStore, c *Clock) {
	ctx := context.Background()
	expires := c.Now().Add(time.Hour)
	if err := s.AddLoginNonce(ctx, "nonce-1", "192.0.2.1", expires); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLoginNonce(ctx, "nonce-2", "2001:db8::1", expires); err != nil {
		t.Fatal(err)
	}
	ip, exp, err := s.TakeLoginNonce(ctx, "nonce-1")
	if err != nil || ip != "192.0.2.1" || !exp.Equal(expires) {
		t.Fatalf("TakeLoginNonce = %q, %s, %v", ip, exp, err)
	}
	_, _, err = s.TakeLoginNonce(ctx, "nonce-1")
	wantNotFound(t, "a nonce taken twice", err)
	_, _, err = s.TakeLoginNonce(ctx, "nonce-3")
	wantNotFound(t, "an unknown nonce", err)
	// A stale nonce is still handed back once, with its expiry, for the
	// caller to refuse.
	c.Add(2 * time.Hour)
	ip, exp, err = s.TakeLoginNonce(ctx, "nonce-2")
	if err != nil || ip != "2001:db8::1" || !exp.Equal(expires) {
		t.Fatalf("a stale nonce: %q, %s, %v", ip, exp, err)
	}
	// Of concurrent takes of one nonce, one gets it.
	if err := s.AddLoginNonce(ctx, "nonce-4", "192.0.2.4", c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := takeAtOnce(t, []web.LoginNonces{s}, "nonce-4", 16); got != 1 {
		t.Fatalf("%d of 16 concurrent takes got the nonce, want 1", got)
	}
}

// takeAtOnce takes nonce n times at once, spread over stores, and returns
// how many takes got it.
func takeAtOnce(t *testing.T, stores []web.LoginNonces, nonce string, n int) int {
	t.Helper()
	var got atomic.Int32
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, err := stores[i%len(stores)].TakeLoginNonce(context.Background(), nonce)
			switch {
			case err == nil:
				got.Add(1)
			case !errors.Is(err, web.ErrNotFound):
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return int(got.Load())
}

const lease = time.Minute

func acquire(t *testing.T, s web.SearchSlots, user string, max int) string {
	t.Helper()
	id, err := s.AcquireSearchSlot(context.Background(), user, max, lease)
	if err != nil {
		t.Fatalf("acquire a slot of %s: %v", user, err)
	}
	return id
}

func testSearchSlots(t *testing.T, s web.DataStore, c *Clock) {
	ctx := context.Background()
	a1, a2 := acquire(t, s, "ana", 2), acquire(t, s, "ana", 2)
	if a1 == "" || a2 == "" || a1 == a2 {
		t.Fatalf("two slots of two: %q, %q", a1, a2)
	}
	if id := acquire(t, s, "ana", 2); id != "" {
		t.Fatalf("a third slot of two was given: %q", id)
	}
	if id := acquire(t, s, "bo", 2); id == "" {
		t.Fatal("another user's slots are taken by ana's")
	}
	// A larger cap admits more on top of what is held.
	if id := acquire(t, s, "ana", 3); id == "" {
		t.Fatal("a third slot of three was refused")
	}
	if id := acquire(t, s, "ana", 3); id != "" {
		t.Fatal("a fourth slot of three was given")
	}
	if err := s.ReleaseSearchSlot(ctx, a1); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseSearchSlot(ctx, a1); err != nil {
		t.Fatalf("releasing a released slot: %v", err)
	}
	a4 := acquire(t, s, "ana", 3)
	if a4 == "" {
		t.Fatal("a released slot was not given again")
	}
	// A slot renewed within its lease is held; the others lapse, so the
	// slots of a node that died come back.
	c.Add(lease - time.Second)
	if err := s.RenewSearchSlot(ctx, a4, lease); err != nil {
		t.Fatalf("renewing a live slot: %v", err)
	}
	c.Add(2 * time.Second)
	wantNotFound(t, "renewing a lapsed slot", s.RenewSearchSlot(ctx, a2, lease))
	b1, b2 := acquire(t, s, "ana", 3), acquire(t, s, "ana", 3)
	if b1 == "" || b2 == "" {
		t.Fatal("lapsed slots were not given again")
	}
	if id := acquire(t, s, "ana", 3); id != "" {
		t.Fatal("the renewed slot was given away")
	}
	c.Add(lease)
	if id := acquire(t, s, "ana", 1); id == "" {
		t.Fatal("slots unrenewed for a lease still held")
	}
}

// testSearchSlotsConcurrent asks for many slots of one user at once, and
// again once they are released (run with -race): each time exactly max
// are given.
func testSearchSlotsConcurrent(t *testing.T, s web.DataStore, _ *Clock) {
	for round := range 10 {
		if got := acquireAtOnce(t, []web.SearchSlots{s}, 3, 24, true); got != 3 {
			t.Fatalf("round %d: %d of 24 concurrent searches got a slot of 3", round, got)
		}
	}
}

// acquireAtOnce asks for n slots of one user at once, spread over stores,
// and returns how many were given; with release it then releases them.
func acquireAtOnce(t *testing.T, stores []web.SearchSlots, max, n int, release bool) int {
	t.Helper()
	var mu sync.Mutex
	var ids []string
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, err := stores[i%len(stores)].AcquireSearchSlot(context.Background(), "busy", max, lease)
			if err != nil {
				errs <- err
				return
			}
			if id != "" {
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if release {
		for _, id := range ids {
			if err := stores[0].ReleaseSearchSlot(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}
	}
	return len(ids)
}
