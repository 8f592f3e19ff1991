package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	// Hashing at the default cost would make the suite slow for no gain.
	SetPasswordCost(bcrypt.MinCost)
	code := m.Run()
	closeBrowser()
	os.Exit(code)
}

// testClock is an injectable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testEnv is a server on loopback with its store and clock.
type testEnv struct {
	t     testing.TB
	srv   *Server
	http  *httptest.Server
	clock *testClock
	dir   string
}

const testPassword = "correct-horse-1"

func newTestEnv(t testing.TB, opts Options, deps Deps) *testEnv {
	t.Helper()
	dir := t.TempDir()
	clock := &testClock{t: time.Now()}
	if opts.DBPath == "" && opts.Store == nil {
		opts.DBPath = filepath.Join(dir, "riskmine.db")
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := New(opts, deps)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	// Open event streams (a queue page in the browser) would hold Close.
	t.Cleanup(func() { srv.EndStreams(); hs.Close(); srv.Close() })
	e := &testEnv{t: t, srv: srv, http: hs, clock: clock, dir: dir}
	for _, u := range []struct {
		name string
		role Role
	}{{"admin", RoleAdmin}, {"ana", RoleAnalyst}, {"viv", RoleViewer}} {
		if _, err := srv.store.AddUser(context.Background(), u.name, testPassword, u.role); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// client is a browser-like HTTP client with cookies that does not follow
// redirects, so tests see them.
type client struct {
	t    testing.TB
	env  *testEnv
	hc   *http.Client
	csrf string
	lang string
}

func (e *testEnv) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, env: e, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs in through the form and remembers the session's CSRF token.
func (e *testEnv) login(name string) *client {
	e.t.Helper()
	c := e.client()
	resp := c.postForm("/login", url.Values{"username": {name}, "password": {testPassword}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login %s: status %d", name, resp.StatusCode)
	}
	body := c.getBody("/users")
	if m := csrfInput.FindStringSubmatch(body); m != nil {
		c.csrf = m[1]
	} else {
		c.csrf = c.csrfFromPage("/")
	}
	return c
}

var bodyCSRF = regexp.MustCompile(`data-csrf="([^"]+)"`)

func (c *client) csrfFromPage(path string) string {
	m := bodyCSRF.FindStringSubmatch(c.getBody(path))
	if m == nil {
		c.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

func (c *client) do(req *http.Request) *http.Response {
	c.t.Helper()
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (c *client) get(path string) *http.Response {
	req, _ := http.NewRequest("GET", c.env.http.URL+path, nil)
	return c.do(req)
}

func (c *client) getBody(path string) string {
	resp := c.get(path)
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// postForm posts a form; for /login it first fetches the form to get the
// pre-session CSRF cookie and token, otherwise it adds the session token.
func (c *client) postForm(path string, v url.Values, withCSRF bool) *http.Response {
	c.t.Helper()
	if withCSRF {
		if path == "/login" {
			m := csrfInput.FindStringSubmatch(c.getBody("/login"))
			if m == nil {
				c.t.Fatal("login form without CSRF token")
			}
			v.Set("csrf", m[1])
		} else {
			v.Set("csrf", c.csrf)
		}
	}
	req, _ := http.NewRequest("POST", c.env.http.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// apiReq makes an API request with a bearer token (empty: none).
func (e *testEnv) apiReq(method, path, token, body string) *http.Response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.http.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
