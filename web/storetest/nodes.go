package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"riskmine/web"
)

// NewDataNodes returns two DataStores on one empty storage, as two API
// nodes sharing a database open it, both reading the time from now; it
// closes them in t.Cleanup.
type NewDataNodes func(t *testing.T, now func() time.Time) (a, b web.DataStore)

// RunDataNodes runs the cases of the audits and the UI's sources on two
// stores over one storage: what an administrator does through one node
// the other shows at once.
func RunDataNodes(t *testing.T, newNodes NewDataNodes) {
	t.Run("AuditsAcrossNodes", func(t *testing.T) {
		c := &Clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
		a, b := newNodes(t, c.Now)
		testAuditsAcrossNodes(t, a, b, c)
	})
}

func testAuditsAcrossNodes(t *testing.T, a, b web.DataStore, c *Clock) {
	ctx := context.Background()
	if err := a.AddReads(ctx, []web.ReadEvent{{At: c.Now(), User: "ana", Role: web.RoleAnalyst, Kind: web.ReadSearch, Via: "ui", Query: "井盖"}}); err != nil {
		t.Fatal(err)
	}
	if got, n, err := b.Reads(ctx, web.ReadFilter{}); err != nil || n != 1 || got[0].Query != "井盖" {
		t.Fatalf("a read recorded on one node, listed on the other: %+v, %d, %v", got, n, err)
	}
	if _, err := a.CreateUISource(ctx, "al", "a", sourceA); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateUISource(ctx, "al", "a", sourceB); !errors.Is(err, web.ErrSourceExists) {
		t.Fatalf("a source created on one node, created again on the other: %v, want web.ErrSourceExists", err)
	}
	if _, err := b.UpdateUISource(ctx, "bo", "a", sourceB); err != nil {
		t.Fatal(err)
	}
	if u, err := a.UISource(ctx, "a"); err != nil || u.YAML != sourceB || u.UpdatedBy != "bo" {
		t.Fatalf("a source updated on the other node: %+v, %v", u, err)
	}
	if audit, err := a.SourceAudit(ctx, 10); err != nil || len(audit) != 2 || audit[0].Actor != "bo" {
		t.Fatalf("the source audit seen from the first node: %+v, %v", audit, err)
	}
	if err := b.AddLexiconChange(ctx, web.LexiconChange{At: c.Now(), Actor: "al", Action: "save", Code: "fire", Summary: "s", After: "x"}); err != nil {
		t.Fatal(err)
	}
	audit, err := a.LexiconAudit(ctx, 10)
	if err != nil || len(audit) != 1 {
		t.Fatalf("a lexicon edit seen from the other node: %+v, %v", audit, err)
	}
	if ch, err := a.LexiconChange(ctx, audit[0].ID); err != nil || ch.Code != "fire" {
		t.Fatalf("LexiconChange on the other node: %+v, %v", ch, err)
	}
}

// RunLimitsNodes runs the cases of the login attempts, login nonces and
// search slots on two stores over one storage. A backend that lets
// several API nodes serve one installation must pass them: a limit
// reached through one node holds on the other, a login form's token is
// good once on all of them, and a user's searches are capped across
// nodes. (The SQLite store keeps these in its process and does not run
// them: an embedded installation is one process.)
func RunLimitsNodes(t *testing.T, newNodes NewDataNodes) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, web.DataStore, web.DataStore, *Clock)
	}{
		{"LoginAttemptsAcrossNodes", testAttemptsAcrossNodes},
		{"LoginNoncesAcrossNodes", testNoncesAcrossNodes},
		{"SearchSlotsAcrossNodes", testSlotsAcrossNodes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
			a, b := newNodes(t, c.Now)
			tc.fn(t, a, b, c)
		})
	}
}

func testAttemptsAcrossNodes(t *testing.T, a, b web.DataStore, c *Clock) {
	ctx := context.Background()
	wantWaits(t, a, "failures on the first node", []time.Duration{0, 0}, "u:ana")
	wantWaits(t, b, "the next failure, on the other", []time.Duration{time.Second}, "u:ana")
	c.Add(time.Second)
	wantWaits(t, b, "after the wait, on the other node", []time.Duration{0}, "u:ana")
	wantWaits(t, a, "back on the first", []time.Duration{2 * time.Second}, "u:ana")
	if err := b.ForgetAttempts(ctx, "u:ana"); err != nil {
		t.Fatal(err)
	}
	wantWaits(t, a, "forgotten on the other node", []time.Duration{0}, "u:ana")
	if err := b.GiveBackAttempts(ctx, "u:ana"); err != nil {
		t.Fatal(err)
	}
	wantWaits(t, a, "given back on the other node", []time.Duration{0, 0, time.Second}, "u:ana")
	// Guesses spread over both nodes at once: exactly the free ones pass.
	p := web.AttemptPolicy{Free: 5, Base: time.Hour, MaxDelay: time.Hour, Window: 24 * time.Hour}
	if passed := guessAtOnce(t, []web.LoginAttempts{a, b}, p, 24); passed != 5 {
		t.Fatalf("%d of 24 attempts on two nodes passed, want the 5 free ones", passed)
	}
}

func testNoncesAcrossNodes(t *testing.T, a, b web.DataStore, c *Clock) {
	ctx := context.Background()
	expires := c.Now().Add(time.Hour)
	if err := a.AddLoginNonce(ctx, "form-1", "192.0.2.1", expires); err != nil {
		t.Fatal(err)
	}
	ip, exp, err := b.TakeLoginNonce(ctx, "form-1")
	if err != nil || ip != "192.0.2.1" || !exp.Equal(expires) {
		t.Fatalf("a nonce issued on one node, taken on the other: %q, %s, %v", ip, exp, err)
	}
	_, _, err = a.TakeLoginNonce(ctx, "form-1")
	wantNotFound(t, "a nonce taken on the other node, taken again", err)
	if err := b.AddLoginNonce(ctx, "form-2", "192.0.2.2", expires); err != nil {
		t.Fatal(err)
	}
	if got := takeAtOnce(t, []web.LoginNonces{a, b}, "form-2", 16); got != 1 {
		t.Fatalf("%d of 16 takes on two nodes got the nonce, want 1", got)
	}
}

func testSlotsAcrossNodes(t *testing.T, a, b web.DataStore, c *Clock) {
	ctx := context.Background()
	s1 := acquire(t, a, "ana", 2)
	s2 := acquire(t, b, "ana", 2)
	if s1 == "" || s2 == "" {
		t.Fatal("two slots of two, one per node, refused")
	}
	if id := acquire(t, a, "ana", 2); id != "" {
		t.Fatal("a third slot of two was given: the nodes do not share the cap")
	}
	// A slot is released or renewed from any node.
	if err := b.ReleaseSearchSlot(ctx, s1); err != nil {
		t.Fatal(err)
	}
	s3 := acquire(t, a, "ana", 2)
	if s3 == "" {
		t.Fatal("a slot released on the other node was not given again")
	}
	c.Add(lease / 2)
	if err := a.RenewSearchSlot(ctx, s2, lease); err != nil {
		t.Fatal(err)
	}
	// Searches of one user on both nodes at once: exactly max run.
	if got := acquireAtOnce(t, []web.SearchSlots{a, b}, 3, 24, false); got != 3 {
		t.Fatalf("%d of 24 searches on two nodes got a slot of 3", got)
	}
	// Node b dies holding its slots; a holds s3 and stops renewing s2:
	// within a lease every one of them comes back.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c.Add(lease)
	if x, y := acquire(t, a, "ana", 2), acquire(t, a, "ana", 2); x == "" || y == "" {
		t.Fatal("slots whose holders stopped renewing them were not given again after their lease")
	}
	if got := acquireAtOnce(t, []web.SearchSlots{a}, 3, 8, false); got != 3 {
		t.Fatalf("%d slots of three given after the dead node's leases ended", got)
	}
}
