// Package storetest is the behaviour every web.DataStore must show. Run
// and RunNodes cover its accounts (web.AccountStore: users, sessions,
// API tokens, saved searches and alert rules); RunData and RunDataNodes
// the read audit, the UI's sources, the lexicon audit, login attempts,
// login nonces and search slots; RunLimitsNodes the limits shared by API
// nodes, for a backend that serves several. A backend's tests call them
// with a constructor of empty stores; the suite specifies the behaviour
// once, in terms of the interfaces, not of any SQL.
//
// The suite drives the store's clock, so expiry is tested without waiting.
// It creates users with the bcrypt cost the web package is set to; a
// backend's test binary should lower it as web's own tests do.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"riskmine/web"
)

// Clock is the time a store under test reads; tests move it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// NewStore returns an empty store that reads the time from now. It closes
// the store in t.Cleanup.
type NewStore func(t *testing.T, now func() time.Time) web.AccountStore

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, web.AccountStore, *Clock)
	}{
		{"Users", testUsers},
		{"Authenticate", testAuthenticate},
		{"SessionLifetime", testSessionLifetime},
		{"SessionsEndWithCredentials", testSessionsEndWithCredentials},
		{"TokenLifetime", testTokenLifetime},
		{"TokenRevocation", testTokenRevocation},
		{"SavedSearches", testSavedSearches},
		{"AlertRules", testAlertRules},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A fixed, whole-second start: stores may keep seconds only.
			c := &Clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
			tc.fn(t, newStore(t, c.Now), c)
		})
	}
}

const password = "Tide-pool 7 lanterns, quietly"

func addUser(t *testing.T, s web.AccountStore, name string, role web.Role) *web.User {
	t.Helper()
	u, err := s.AddUser(context.Background(), name, password, role)
	if err != nil {
		t.Fatalf("add user %s: %v", name, err)
	}
	return u
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, web.ErrNotFound) {
		t.Fatalf("%s: got %v, want an error wrapping web.ErrNotFound", what, err)
	}
}

func testUsers(t *testing.T, s web.AccountStore, c *Clock) {
	ctx := context.Background()
	ana := addUser(t, s, "ana", web.RoleAnalyst)
	if ana.Name != "ana" || ana.Role != web.RoleAnalyst || ana.Disabled || !ana.CreatedAt.Equal(c.Now()) {
		t.Fatalf("added user %+v", ana)
	}
	addUser(t, s, "bo", web.RoleViewer)
	addUser(t, s, "al", web.RoleAdmin)
	// Names are unique after NFKC: the full-width form is the same name.
	if _, err := s.AddUser(ctx, "ａｎａ", password, web.RoleViewer); err == nil {
		t.Fatal("a second ana (full-width) was added")
	}
	if _, err := s.AddUser(ctx, "ana", password, web.RoleViewer); err == nil {
		t.Fatal("a second ana was added")
	}
	if _, err := s.AddUser(ctx, "cy", password, web.Role("owner")); err == nil {
		t.Fatal("a user with an unknown role was added")
	}
	users, err := s.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"al", "ana", "bo"}) {
		t.Fatalf("users %v, want al, ana, bo by name", names)
	}
	got, err := s.UserByName(ctx, "ana")
	if err != nil || got.ID != ana.ID || got.Role != web.RoleAnalyst {
		t.Fatalf("UserByName(ana) = %+v, %v", got, err)
	}
	_, err = s.UserByName(ctx, "nobody-here")
	wantNotFound(t, "UserByName of an unknown user", err)
	if err := s.SetRole(ctx, "ana", web.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByName(ctx, "ana"); got.Role != web.RoleAdmin {
		t.Fatalf("role after SetRole: %s", got.Role)
	}
	wantNotFound(t, "SetRole of an unknown user", s.SetRole(ctx, "nobody-here", web.RoleAdmin))
	wantNotFound(t, "SetDisabled of an unknown user", s.SetDisabled(ctx, "nobody-here", true))
	if err := s.SetDisabled(ctx, "bo", true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByName(ctx, "bo"); !got.Disabled {
		t.Fatal("bo not disabled")
	}
}

func testAuthenticate(t *testing.T, s web.AccountStore, _ *Clock) {
	ctx := context.Background()
	ana := addUser(t, s, "ana", web.RoleAnalyst)
	u, err := s.Authenticate(ctx, "ana", password)
	if err != nil || u.ID != ana.ID || u.Role != web.RoleAnalyst {
		t.Fatalf("Authenticate(ana) = %+v, %v", u, err)
	}
	wrong, errWrong := s.Authenticate(ctx, "ana", password+"!")
	unknown, errUnknown := s.Authenticate(ctx, "nobody-here", password)
	if wrong != nil || unknown != nil || errWrong == nil || errUnknown == nil {
		t.Fatalf("wrong password %v %v; unknown user %v %v", wrong, errWrong, unknown, errUnknown)
	}
	if errWrong.Error() != errUnknown.Error() {
		t.Fatalf("a wrong password (%q) and an unknown user (%q) must not be told apart", errWrong, errUnknown)
	}
	if err := s.SetDisabled(ctx, "ana", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "ana", password); err == nil || err.Error() != errWrong.Error() {
		t.Fatalf("a disabled user logged in or was told apart: %v", err)
	}
	if err := s.SetDisabled(ctx, "ana", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "ana", password); err != nil {
		t.Fatalf("re-enabled user: %v", err)
	}
	if err := s.SetPassword(ctx, "ana", "Granite owls 42 drift south"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "ana", password); err == nil {
		t.Fatal("the old password still works")
	}
	if _, err := s.Authenticate(ctx, "ana", "Granite owls 42 drift south"); err != nil {
		t.Fatalf("the new password: %v", err)
	}
}

func testSessionLifetime(t *testing.T, s web.AccountStore, c *Clock) {
	ctx := context.Background()
	ana := addUser(t, s, "ana", web.RoleAnalyst)
	tok, sess, err := s.CreateSession(ctx, ana, time.Hour)
	if err != nil || tok == "" || sess.User.Name != "ana" || sess.CSRF == "" {
		t.Fatalf("CreateSession = %q, %+v, %v", tok, sess, err)
	}
	tok2, sess2, err := s.CreateSession(ctx, ana, 3*time.Hour)
	if err != nil || tok2 == tok || sess2.CSRF == sess.CSRF {
		t.Fatalf("a second session shares the first's secrets: %v", err)
	}
	got, err := s.SessionByToken(ctx, tok)
	if err != nil || got.User.ID != ana.ID || got.User.Role != web.RoleAnalyst || got.CSRF != sess.CSRF {
		t.Fatalf("SessionByToken = %+v, %v", got, err)
	}
	_, err = s.SessionByToken(ctx, tok+"x")
	wantNotFound(t, "an unknown session", err)
	c.Add(59 * time.Minute)
	if _, err := s.SessionByToken(ctx, tok); err != nil {
		t.Fatalf("a session within its ttl: %v", err)
	}
	c.Add(2 * time.Minute)
	_, err = s.SessionByToken(ctx, tok)
	wantNotFound(t, "an expired session", err)
	if _, err := s.SessionByToken(ctx, tok2); err != nil {
		t.Fatalf("the longer session expired with the shorter: %v", err)
	}
	if err := s.DeleteSession(ctx, tok2); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionByToken(ctx, tok2)
	wantNotFound(t, "a deleted session", err)
}

func testSessionsEndWithCredentials(t *testing.T, s web.AccountStore, _ *Clock) {
	ctx := context.Background()
	ana := addUser(t, s, "ana", web.RoleAnalyst)
	bo := addUser(t, s, "bo", web.RoleViewer)
	anaTok, _, err := s.CreateSession(ctx, ana, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	boTok, _, err := s.CreateSession(ctx, bo, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetDisabled(ctx, "ana", true); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionByToken(ctx, anaTok)
	wantNotFound(t, "the session of a disabled user", err)
	if err := s.SetDisabled(ctx, "ana", false); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionByToken(ctx, anaTok)
	wantNotFound(t, "a session ended by disabling, after re-enabling", err)
	if _, err := s.SessionByToken(ctx, boTok); err != nil {
		t.Fatalf("another user's session ended: %v", err)
	}
	if err := s.SetPassword(ctx, "bo", "Granite owls 42 drift south"); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionByToken(ctx, boTok)
	wantNotFound(t, "a session after a password change", err)
}

func testTokenLifetime(t *testing.T, s web.AccountStore, c *Clock) {
	ctx := context.Background()
	ana := addUser(t, s, "ana", web.RoleAnalyst)
	_, err := s.CreateToken(ctx, "nobody-here", "ci")
	wantNotFound(t, "a token of an unknown user", err)
	created := c.Now()
	secret, err := s.CreateToken(ctx, "ana", "ci")
	if err != nil || secret == "" {
		t.Fatalf("CreateToken = %q, %v", secret, err)
	}
	toks, err := s.Tokens(ctx)
	if err != nil || len(toks) != 1 {
		t.Fatalf("Tokens = %+v, %v", toks, err)
	}
	tk := toks[0]
	if tk.Name != "ci" || tk.User != "ana" || !tk.CreatedAt.Equal(created) || !tk.LastUsedAt.IsZero() || tk.Expired || tk.ExpiresSoon {
		t.Fatalf("new token %+v", tk)
	}
	if want := created.Add(web.DefaultTokenTTL); !tk.ExpiresAt.Equal(want) {
		t.Fatalf("token expires %s, want %s", tk.ExpiresAt, want)
	}
	c.Add(time.Hour)
	u, expires, err := s.UserByToken(ctx, secret)
	if err != nil || u.ID != ana.ID || !expires.Equal(tk.ExpiresAt) {
		t.Fatalf("UserByToken = %+v, %s, %v", u, expires, err)
	}
	toks, _ = s.Tokens(ctx)
	if !toks[0].LastUsedAt.Equal(c.Now()) {
		t.Fatalf("last used %s, want %s", toks[0].LastUsedAt, c.Now())
	}
	_, _, err = s.UserByToken(ctx, secret+"x")
	wantNotFound(t, "an unknown token", err)
	// A day before expiry the token is flagged but works.
	c.Add(web.DefaultTokenTTL - time.Hour - 24*time.Hour)
	toks, _ = s.Tokens(ctx)
	if !toks[0].ExpiresSoon || toks[0].Expired {
		t.Fatalf("a token one day before expiry: %+v", toks[0])
	}
	if _, _, err := s.UserByToken(ctx, secret); err != nil {
		t.Fatalf("a token one day before expiry: %v", err)
	}
	c.Add(24 * time.Hour)
	_, _, err = s.UserByToken(ctx, secret)
	wantNotFound(t, "an expired token", err)
	toks, _ = s.Tokens(ctx)
	if len(toks) != 1 || !toks[0].Expired {
		t.Fatalf("an expired token is listed until revoked: %+v", toks)
	}
}

func testTokenRevocation(t *testing.T, s web.AccountStore, _ *Clock) {
	ctx := context.Background()
	addUser(t, s, "ana", web.RoleAnalyst)
	addUser(t, s, "bo", web.RoleViewer)
	one, err := s.CreateToken(ctx, "ana", "one")
	if err != nil {
		t.Fatal(err)
	}
	two, err := s.CreateToken(ctx, "ana", "two")
	if err != nil {
		t.Fatal(err)
	}
	boTok, err := s.CreateToken(ctx, "bo", "bo")
	if err != nil {
		t.Fatal(err)
	}
	toks, err := s.Tokens(ctx)
	if err != nil || len(toks) != 3 {
		t.Fatalf("Tokens = %+v, %v", toks, err)
	}
	for _, tk := range toks {
		if tk.Name == "one" {
			if err := s.DeleteToken(ctx, tk.ID); err != nil {
				t.Fatal(err)
			}
			wantNotFound(t, "revoking a revoked token", s.DeleteToken(ctx, tk.ID))
		}
	}
	_, _, err = s.UserByToken(ctx, one)
	wantNotFound(t, "a revoked token", err)
	if _, _, err := s.UserByToken(ctx, two); err != nil {
		t.Fatalf("revoking one token revoked another: %v", err)
	}
	if err := s.SetDisabled(ctx, "ana", true); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.UserByToken(ctx, two)
	wantNotFound(t, "a token of a disabled user", err)
	if err := s.SetDisabled(ctx, "ana", false); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.UserByToken(ctx, two)
	wantNotFound(t, "a token revoked by disabling, after re-enabling", err)
	if err := s.SetPassword(ctx, "bo", "Granite owls 42 drift south"); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.UserByToken(ctx, boTok)
	wantNotFound(t, "a token after a password change", err)
	if toks, _ := s.Tokens(ctx); len(toks) != 0 {
		t.Fatalf("tokens left after revocations: %+v", toks)
	}
}

func testSavedSearches(t *testing.T, s web.AccountStore, c *Clock) {
	ctx := context.Background()
	addUser(t, s, "ana", web.RoleAnalyst)
	addUser(t, s, "bo", web.RoleAnalyst)
	fires, err := s.SaveSearch(ctx, "ana", "fires", "q=起火&level=high")
	if err != nil || fires.User != "ana" || fires.Name != "fires" || fires.Params != "q=起火&level=high" || !fires.CreatedAt.Equal(c.Now()) {
		t.Fatalf("SaveSearch = %+v, %v", fires, err)
	}
	if _, err := s.SaveSearch(ctx, "ana", "covers", "q=井盖"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveSearch(ctx, "bo", "bo's", "q=x"); err != nil {
		t.Fatal(err)
	}
	_, err = s.SaveSearch(ctx, "nobody-here", "x", "q=x")
	wantNotFound(t, "a search of an unknown user", err)
	if _, err := s.SaveSearch(ctx, "ana", "  ", "q=x"); err == nil {
		t.Fatal("a search without a name was saved")
	}
	if _, err := s.SaveSearch(ctx, "ana", "bad", "q=%zz"); err == nil {
		t.Fatal("a search with malformed parameters was saved")
	}
	names := func(user string) []string {
		t.Helper()
		ss, err := s.SavedSearches(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range ss {
			out = append(out, x.User+"/"+x.Name)
		}
		return out
	}
	if got := names("ana"); !slices.Equal(got, []string{"ana/covers", "ana/fires"}) {
		t.Fatalf("ana's searches %v", got)
	}
	if got := names(""); !slices.Equal(got, []string{"bo/bo's", "ana/covers", "ana/fires"}) {
		t.Fatalf("everyone's searches %v, want them by name", got)
	}
	got, err := s.SavedSearch(ctx, fires.ID)
	if err != nil || got.Name != "fires" || got.User != "ana" || got.Params != fires.Params {
		t.Fatalf("SavedSearch = %+v, %v", got, err)
	}
	_, err = s.SavedSearch(ctx, fires.ID+1000)
	wantNotFound(t, "an unknown saved search", err)
	wantNotFound(t, "deleting another user's search", s.DeleteSavedSearch(ctx, "bo", fires.ID))
	if _, err := s.SavedSearch(ctx, fires.ID); err != nil {
		t.Fatalf("another user deleted ana's search: %v", err)
	}
	if err := s.DeleteSavedSearch(ctx, "", fires.ID); err != nil {
		t.Fatalf("deleting anyone's search: %v", err)
	}
	if got := names("ana"); !slices.Equal(got, []string{"ana/covers"}) {
		t.Fatalf("ana's searches after a delete: %v", got)
	}
}

func testAlertRules(t *testing.T, s web.AccountStore, c *Clock) {
	ctx := context.Background()
	addUser(t, s, "ana", web.RoleAnalyst)
	ss, err := s.SaveSearch(ctx, "ana", "fires", "q=起火")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		level    string
		interval time.Duration
	}{{"none", time.Hour}, {"severe", time.Hour}, {"high", 30 * time.Second}, {"high", 8 * 24 * time.Hour}} {
		if _, err := s.CreateAlertRule(ctx, ss.ID, bad.level, bad.interval, "ana"); err == nil {
			t.Errorf("a rule at level %q every %s was made", bad.level, bad.interval)
		}
	}
	_, err = s.CreateAlertRule(ctx, ss.ID+1000, "high", time.Hour, "ana")
	wantNotFound(t, "a rule of an unknown search", err)
	r1, err := s.CreateAlertRule(ctx, ss.ID, "high", time.Hour, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if r1.SavedSearchID != ss.ID || r1.Name != "fires" || r1.Params != "q=起火" || r1.MinLevel != "high" ||
		r1.Interval != time.Hour || !r1.Enabled || r1.CreatedBy != "ana" || !r1.CreatedAt.Equal(c.Now()) || !r1.LastRunAt.IsZero() {
		t.Fatalf("new rule %+v", r1)
	}
	r2, err := s.CreateAlertRule(ctx, ss.ID, "critical", 10*time.Minute, "ana")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := s.AlertRules(ctx)
	if err != nil || len(rules) != 2 || rules[0].ID != r1.ID || rules[1].ID != r2.ID {
		t.Fatalf("AlertRules = %+v, %v; want both in the order made", rules, err)
	}
	ran := c.Now().Add(time.Minute)
	if err := s.MarkAlertRuleRefused(ctx, r1.ID, ran, "the query is too costly"); err != nil {
		t.Fatal(err)
	}
	rules, _ = s.AlertRules(ctx)
	if !rules[0].LastRunAt.Equal(ran) || rules[0].LastError != "the query is too costly" || rules[1].LastError != "" {
		t.Fatalf("after a refusal: %+v", rules)
	}
	ran = ran.Add(time.Hour)
	if err := s.MarkAlertRuleRun(ctx, r1.ID, ran); err != nil {
		t.Fatal(err)
	}
	rules, _ = s.AlertRules(ctx)
	if !rules[0].LastRunAt.Equal(ran) || rules[0].LastError != "" {
		t.Fatalf("a run clears the refusal: %+v", rules[0])
	}
	if err := s.DeleteAlertRule(ctx, r2.ID); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, "deleting a deleted rule", s.DeleteAlertRule(ctx, r2.ID))
	// Deleting the saved search takes its rules with it.
	if err := s.DeleteSavedSearch(ctx, "ana", ss.ID); err != nil {
		t.Fatal(err)
	}
	if rules, err := s.AlertRules(ctx); err != nil || len(rules) != 0 {
		t.Fatalf("rules left after their search was deleted: %+v, %v", rules, err)
	}
}

// testConcurrent has several users log in, take tokens and save searches
// at once (run it with -race): every one of them is kept and resolves to
// its own user.
func testConcurrent(t *testing.T, s web.AccountStore, _ *Clock) {
	ctx := context.Background()
	const n = 8
	users := make([]*web.User, n)
	for i := range users {
		users[i] = addUser(t, s, fmt.Sprintf("user%d", i), web.RoleAnalyst)
	}
	type issued struct{ session, token string }
	out := make([]issued, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for j := range 5 {
				sess, _, err := s.CreateSession(ctx, users[i], time.Hour)
				if err != nil {
					errs <- err
					return
				}
				tok, err := s.CreateToken(ctx, users[i].Name, fmt.Sprintf("t%d", j))
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.SaveSearch(ctx, users[i].Name, fmt.Sprintf("s%d", j), "q=x"); err != nil {
					errs <- err
					return
				}
				out[i] = issued{sess, tok}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, is := range out {
		sess, err := s.SessionByToken(ctx, is.session)
		if err != nil || sess.User.ID != users[i].ID {
			t.Fatalf("session of user%d: %+v, %v", i, sess, err)
		}
		u, _, err := s.UserByToken(ctx, is.token)
		if err != nil || u.ID != users[i].ID {
			t.Fatalf("token of user%d: %+v, %v", i, u, err)
		}
	}
	toks, err := s.Tokens(ctx)
	if err != nil || len(toks) != n*5 {
		t.Fatalf("%d tokens, %v; want %d", len(toks), err, n*5)
	}
	all, err := s.SavedSearches(ctx, "")
	if err != nil || len(all) != n*5 {
		t.Fatalf("%d saved searches, %v; want %d", len(all), err, n*5)
	}
}

// NewNodes returns two stores on one empty storage, as two API nodes
// sharing a database open it, both reading the time from now; it closes
// them in t.Cleanup.
type NewNodes func(t *testing.T, now func() time.Time) (a, b web.AccountStore)

// RunNodes runs the cases that need two stores on one storage: a browser
// or a script served by one node and then by another (no sticky sessions)
// is the same user, and what an administrator changes on one node holds
// on the other at once.
func RunNodes(t *testing.T, newNodes NewNodes) {
	t.Run("SessionsAcrossNodes", func(t *testing.T) {
		c := &Clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
		a, b := newNodes(t, c.Now)
		testNodes(t, a, b, c)
	})
}

func testNodes(t *testing.T, a, b web.AccountStore, c *Clock) {
	ctx := context.Background()
	ana := addUser(t, a, "ana", web.RoleAnalyst)
	if _, err := b.Authenticate(ctx, "ana", password); err != nil {
		t.Fatalf("a user added on one node cannot log in on the other: %v", err)
	}
	tok, sess, err := a.CreateSession(ctx, ana, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.SessionByToken(ctx, tok)
	if err != nil || got.User.ID != ana.ID || got.CSRF != sess.CSRF {
		t.Fatalf("a session made on one node, read on the other: %+v, %v", got, err)
	}
	secret, err := b.CreateToken(ctx, "ana", "ci")
	if err != nil {
		t.Fatal(err)
	}
	if u, _, err := a.UserByToken(ctx, secret); err != nil || u.ID != ana.ID {
		t.Fatalf("a token made on one node, used on the other: %+v, %v", u, err)
	}
	ss, err := a.SaveSearch(ctx, "ana", "fires", "q=起火")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateAlertRule(ctx, ss.ID, "high", time.Hour, "ana"); err != nil {
		t.Fatalf("a rule on the other node's saved search: %v", err)
	}
	if rules, err := a.AlertRules(ctx); err != nil || len(rules) != 1 {
		t.Fatalf("rules seen by the first node: %+v, %v", rules, err)
	}
	// Logging out on one node ends the session on every node; disabling
	// the user on one ends the rest.
	if err := b.DeleteSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	_, err = a.SessionByToken(ctx, tok)
	wantNotFound(t, "a session ended on the other node", err)
	tok2, _, err := a.CreateSession(ctx, ana, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetDisabled(ctx, "ana", true); err != nil {
		t.Fatal(err)
	}
	_, err = a.SessionByToken(ctx, tok2)
	wantNotFound(t, "a session of a user disabled on the other node", err)
	_, _, err = a.UserByToken(ctx, secret)
	wantNotFound(t, "a token of a user disabled on the other node", err)
	// Both nodes judge expiry by one clock.
	if err := b.SetDisabled(ctx, "ana", false); err != nil {
		t.Fatal(err)
	}
	tok3, _, err := a.CreateSession(ctx, ana, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Minute)
	_, err = b.SessionByToken(ctx, tok3)
	wantNotFound(t, "a session expired, read on the other node", err)
}
