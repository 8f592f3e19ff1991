package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLoginSetsSecureSessionCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newTestEnv(t, Options{SecureCookies: secure}, Deps{})
		c := e.client()
		resp := c.postForm("/login", url.Values{"username": {"ana"}, "password": {testPassword}, "next": {"/leads?state=new"}}, true)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != "/leads?state=new" {
			t.Errorf("redirect to %q", loc)
		}
		var sc *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == e.srv.cookieName(sessionCookie) {
				sc = ck
			}
		}
		if sc == nil {
			t.Fatal("no session cookie")
		}
		if secure != strings.HasPrefix(sc.Name, "__Host-") || sc.Path != "/" {
			t.Errorf("cookie %s path %s (secure=%v wants the __Host- prefix)", sc.Name, sc.Path, secure)
		}
		if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure != secure {
			t.Errorf("cookie flags HttpOnly=%v SameSite=%v Secure=%v (want secure=%v)", sc.HttpOnly, sc.SameSite, sc.Secure, secure)
		}
	}
}

func TestLoginRejectsBadPasswordAndForeignRedirect(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	c := e.client()
	resp := c.postForm("/login", url.Values{"username": {"ana"}, "password": {"wrong-password"}}, true)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	if body := readAll(t, resp); !strings.Contains(body, "用户名或密码错误") {
		t.Error("no error message on the form")
	}
	resp = c.postForm("/login", url.Values{"username": {"ana"}, "password": {testPassword}, "next": {"//evil.example/x"}}, true)
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("next=//evil.example redirected to %q, want /", loc)
	}
}

func TestLoginWithoutCSRFIsRefused(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	c := e.client()
	resp := c.postForm("/login", url.Values{"username": {"ana"}, "password": {testPassword}}, false)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newTestEnv(t, Options{LoginMaxFailures: 3, LoginWindow: 10 * time.Minute}, Deps{})
	c := e.client()
	try := func(pw string) int {
		return c.postForm("/login", url.Values{"username": {"ana"}, "password": {pw}}, true).StatusCode
	}
	for i := 0; i < 3; i++ {
		if st := try("nope-nope"); st != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i, st)
		}
	}
	// Even the right password is refused while blocked.
	if st := try(testPassword); st != http.StatusTooManyRequests {
		t.Fatalf("blocked attempt: status %d, want 429", st)
	}
	// Another user from the same IP is not blocked.
	if st := c.postForm("/login", url.Values{"username": {"viv"}, "password": {testPassword}}, true).StatusCode; st != http.StatusSeeOther {
		t.Fatalf("other user: status %d", st)
	}
	e.clock.Add(11 * time.Minute)
	if st := try(testPassword); st != http.StatusSeeOther {
		t.Fatalf("after the window: status %d, want 303", st)
	}
}

func TestLoginRateLimitPerIP(t *testing.T) {
	e := newTestEnv(t, Options{LoginMaxFailures: 2, LoginWindow: time.Minute}, Deps{})
	c := e.client()
	// Twenty failures spread over many names slow the address down.
	for i := 0; i < 20; i++ {
		name := "guess" + strconv.Itoa(i)
		if st := c.postForm("/login", url.Values{"username": {name}, "password": {"x"}}, true).StatusCode; st != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	if st := c.postForm("/login", url.Values{"username": {"ana"}, "password": {testPassword}}, true).StatusCode; st != http.StatusTooManyRequests {
		t.Fatalf("after spraying names: %d, want 429", st)
	}
	e.clock.Add(2 * time.Minute)
	if st := c.postForm("/login", url.Values{"username": {"ana"}, "password": {testPassword}}, true).StatusCode; st != http.StatusSeeOther {
		t.Fatalf("after the window: %d", st)
	}
}

func TestPagesNeedLogin(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	resp := e.client().get("/users")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRolesOnPages(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	form := url.Values{"username": {"newbie"}, "password": {"long-enough-pass-1"}, "role": {"viewer"}}
	for _, tc := range []struct {
		user string
		want int
	}{{"viv", http.StatusForbidden}, {"ana", http.StatusForbidden}, {"admin", http.StatusSeeOther}} {
		c := e.login(tc.user)
		if st := c.get("/users").StatusCode; (st == http.StatusOK) != (tc.user == "admin") {
			t.Errorf("%s GET /users: %d", tc.user, st)
		}
		if st := c.postForm("/users", form, true).StatusCode; st != tc.want {
			t.Errorf("%s POST /users: %d, want %d", tc.user, st, tc.want)
		}
	}
}

func TestFormsNeedCSRF(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	c := e.login("admin")
	form := url.Values{"username": {"x1"}, "password": {"long-enough-pass-1"}, "role": {"viewer"}}
	if st := c.postForm("/users", form, false).StatusCode; st != http.StatusForbidden {
		t.Fatalf("without token: %d, want 403", st)
	}
	form.Set("csrf", "forged")
	if st := c.postForm("/users", form, false).StatusCode; st != http.StatusForbidden {
		t.Fatalf("forged token: %d, want 403", st)
	}
	if st := c.postForm("/users", form, true).StatusCode; st != http.StatusSeeOther {
		t.Fatalf("with token: %d, want 303", st)
	}
	if _, err := e.srv.store.UserByName(context.Background(), "x1"); err != nil {
		t.Fatal(err)
	}
}

func TestLogoutEndsSession(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	c := e.login("viv")
	if st := c.postForm("/logout", url.Values{}, true).StatusCode; st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	if st := c.get("/").StatusCode; st != http.StatusSeeOther {
		t.Fatalf("after logout GET /: %d, want redirect to login", st)
	}
}

func TestSessionExpires(t *testing.T) {
	e := newTestEnv(t, Options{SessionTTL: time.Hour}, Deps{})
	c := e.login("viv")
	if st := c.get("/").StatusCode; st != http.StatusOK {
		t.Fatalf("GET /: %d", st)
	}
	e.clock.Add(61 * time.Minute)
	if st := c.get("/").StatusCode; st != http.StatusSeeOther {
		t.Fatalf("after TTL GET /: %d, want redirect", st)
	}
}

func TestAPIAuthentication(t *testing.T) {
	e := newTestEnv(t, Options{AdminToken: "env-admin-token-123"}, Deps{})
	resp := e.apiReq("GET", "/api/v1/me", "", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no auth: %d", resp.StatusCode)
	}
	var er apiError
	if err := json.NewDecoder(resp.Body).Decode(&er); err != nil || er.Error == "" {
		t.Fatalf("401 body is not a JSON error: %v", err)
	}
	if st := e.apiReq("GET", "/api/v1/me", "wrong", "").StatusCode; st != http.StatusUnauthorized {
		t.Fatalf("bad token: %d", st)
	}
	// The environment's admin token may do admin things, without CSRF.
	resp = e.apiReq("POST", "/api/v1/users", "env-admin-token-123", `{"name":"bot","password":"long-enough-pass-1","role":"analyst"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create user with admin token: %d %s", resp.StatusCode, readAll(t, resp))
	}
	// A user's token carries the user's role.
	tok, err := e.srv.store.CreateToken(context.Background(), "bot", "ci")
	if err != nil {
		t.Fatal(err)
	}
	if st := e.apiReq("GET", "/api/v1/me", tok, "").StatusCode; st != http.StatusOK {
		t.Fatalf("user token: %d", st)
	}
	if st := e.apiReq("GET", "/api/v1/users", tok, "").StatusCode; st != http.StatusForbidden {
		t.Fatalf("analyst token on admin route: %d, want 403", st)
	}
	list := decode[struct {
		Items []APIToken `json:"items"`
	}](t, e.apiReq("GET", "/api/v1/tokens", "env-admin-token-123", ""))
	if len(list.Items) != 1 || list.Items[0].User != "bot" || list.Items[0].LastUsedAt.IsZero() {
		t.Fatalf("tokens %+v", list.Items)
	}
	if st := e.apiReq("DELETE", "/api/v1/tokens/"+itoa64(list.Items[0].ID), "env-admin-token-123", "").StatusCode; st != http.StatusNoContent {
		t.Fatalf("revoke: %d", st)
	}
	if st := e.apiReq("DELETE", "/api/v1/tokens/"+itoa64(list.Items[0].ID), "env-admin-token-123", "").StatusCode; st != http.StatusNotFound {
		t.Fatalf("revoke again: %d", st)
	}
	if st := e.apiReq("GET", "/api/v1/me", tok, "").StatusCode; st != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d, want 401", st)
	}
	// Disabling the user revokes its tokens for good: enabling again does
	// not bring them back.
	tok2, _ := e.srv.store.CreateToken(context.Background(), "bot", "ci2")
	if st := e.apiReq("PATCH", "/api/v1/users/bot", "env-admin-token-123", `{"disabled":true}`).StatusCode; st != http.StatusOK {
		t.Fatalf("disable: %d", st)
	}
	if st := e.apiReq("PATCH", "/api/v1/users/bot", "env-admin-token-123", `{"disabled":false}`).StatusCode; st != http.StatusOK {
		t.Fatalf("enable: %d", st)
	}
	if st := e.apiReq("GET", "/api/v1/me", tok2, "").StatusCode; st != http.StatusUnauthorized {
		t.Fatalf("token of a disabled then enabled user: %d, want 401", st)
	}
	// Unknown fields are reported.
	resp = e.apiReq("POST", "/api/v1/users", "env-admin-token-123", `{"nmae":"x"}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(readAll(t, resp), "nmae") {
		t.Fatalf("unknown field: %d", resp.StatusCode)
	}
}

func TestAdminTokenUnsetIsNotAccepted(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	req, _ := http.NewRequest("GET", e.http.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("empty bearer with no admin token: %d", resp.StatusCode)
	}
}

func TestAPICookieSessionNeedsCSRFHeader(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	c := e.login("admin")
	body := `{"name":"cookie-made","password":"long-enough-pass-1","role":"viewer"}`
	req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/users", strings.NewReader(body))
	if st := c.do(req).StatusCode; st != http.StatusForbidden {
		t.Fatalf("cookie POST without X-CSRF-Token: %d, want 403", st)
	}
	req, _ = http.NewRequest("POST", e.http.URL+"/api/v1/users", strings.NewReader(body))
	req.Header.Set(csrfHeader, c.csrf)
	if st := c.do(req).StatusCode; st != http.StatusCreated {
		t.Fatalf("cookie POST with X-CSRF-Token: %d, want 201", st)
	}
	// GET needs no token.
	if st := c.get("/api/v1/users").StatusCode; st != http.StatusOK {
		t.Fatalf("cookie GET: %d", st)
	}
}

func TestDisablingUserEndsSessions(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	ana := e.login("ana")
	admin := e.login("admin")
	if st := admin.postForm("/users/ana/update", url.Values{"disabled": {"true"}}, true).StatusCode; st != http.StatusSeeOther {
		t.Fatalf("disable: %d", st)
	}
	if st := ana.get("/").StatusCode; st != http.StatusSeeOther {
		t.Fatalf("disabled user's session still works: %d", st)
	}
	c := e.client()
	if st := c.postForm("/login", url.Values{"username": {"ana"}, "password": {testPassword}}, true).StatusCode; st != http.StatusUnauthorized {
		t.Fatalf("disabled user logs in: %d", st)
	}
	// An admin cannot lock themself out.
	if st := admin.postForm("/users/admin/update", url.Values{"disabled": {"true"}}, true).StatusCode; st != http.StatusBadRequest {
		t.Fatalf("self-disable: %d, want 400", st)
	}
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	ana := e.login("ana")
	admin := e.login("admin")
	if st := admin.postForm("/users/ana/update", url.Values{"password": {"a-new-long-password-9"}}, true).StatusCode; st != http.StatusSeeOther {
		t.Fatalf("set password: %d", st)
	}
	if st := ana.get("/").StatusCode; st != http.StatusSeeOther {
		t.Fatalf("old session still works: %d", st)
	}
	if _, err := e.srv.store.Authenticate(context.Background(), "ana", "a-new-long-password-9"); err != nil {
		t.Fatal(err)
	}
}

func TestTokenShownOnceAndRevocable(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	admin := e.login("admin")
	resp := admin.postForm("/users/viv/tokens", url.Values{"token_name": {"script"}}, true)
	body := readAll(t, resp)
	i := strings.Index(body, "rmk_")
	if resp.StatusCode != http.StatusOK || i < 0 {
		t.Fatalf("token page: %d", resp.StatusCode)
	}
	tok := body[i : i+strings.IndexByte(body[i:], '<')]
	if st := e.apiReq("GET", "/api/v1/me", tok, "").StatusCode; st != http.StatusOK {
		t.Fatalf("new token: %d", st)
	}
	if strings.Contains(admin.getBody("/users"), tok) {
		t.Fatal("token shown again on the users page")
	}
	toks, _ := e.srv.store.Tokens(context.Background())
	if len(toks) != 1 || toks[0].LastUsedAt.IsZero() {
		t.Fatalf("tokens %+v", toks)
	}
	admin.postForm("/tokens/"+itoa64(toks[0].ID)+"/delete", url.Values{}, true)
	if st := e.apiReq("GET", "/api/v1/me", tok, "").StatusCode; st != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", st)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	resp := e.client().get("/login")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
}
