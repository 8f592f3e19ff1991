package pgstore

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/index"
	"riskmine/internal/pgtest"
	"riskmine/web"
)

// clock is the time both nodes of a test read.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// node is one API node: a web.Server on its own store and pool, served
// on loopback.
type node struct {
	name string
	url  string
}

func startNode(t *testing.T, name, dsn string, c *clock, deps web.Deps) node {
	t.Helper()
	st := open(t, dsn, c.Now)
	srv, err := web.New(web.Options{Store: st, Now: c.Now, LoginMaxFailures: 2, SearchesPerUser: 2, Logger: slog.New(slog.DiscardHandler)}, deps)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return node{name: name, url: hs.URL}
}

// browser is a client with cookies that does not follow redirects. Both
// nodes listen on 127.0.0.1, and cookies ignore ports: as behind a load
// balancer, the browser's cookies go to whichever node it reaches.
type browser struct {
	t  *testing.T
	hc *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (int, string) {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func (b *browser) get(n node, path string) (int, string) {
	req, _ := http.NewRequest("GET", n.url+path, nil)
	return b.do(req)
}

func (b *browser) post(n node, path string, v url.Values) int {
	req, _ := http.NewRequest("POST", n.url+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, _ := b.do(req)
	return status
}

var (
	formCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	pageCSRF = regexp.MustCompile(`data-csrf="([^"]+)"`)
)

// loginForm fetches the login form from n and returns its one-time token.
func (b *browser) loginForm(n node) string {
	b.t.Helper()
	_, body := b.get(n, "/login")
	m := formCSRF.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no token in the login form of node %s", n.name)
	}
	return m[1]
}

func login(nonce, password string) url.Values {
	return url.Values{"csrf": {nonce}, "username": {"ana"}, "password": {password}}
}

const password = "Tide-pool 7 lanterns, quietly"

// TestTwoNodesShareLogins serves one installation from two web.Servers,
// each with its own pool, over one PostgreSQL schema: a login form from
// one node is accepted by the other and only once, a session and its CSRF
// token started on one are good on the other, and a login limit reached
// through one holds on the other.
func TestTwoNodesShareLogins(t *testing.T) {
	dsn := pgtest.DSN(t)
	c := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	a, b := startNode(t, "a", dsn, c, web.Deps{}), startNode(t, "b", dsn, c, web.Deps{})
	admin := open(t, dsn, c.Now)
	if _, err := admin.AddUser(context.Background(), "ana", password, web.RoleAnalyst); err != nil {
		t.Fatal(err)
	}

	// The form comes from a, the login goes to b.
	br := newBrowser(t)
	nonce := br.loginForm(a)
	if status := br.post(b, "/login", login(nonce, password)); status != http.StatusSeeOther {
		t.Fatalf("a login form of node a posted to node b: status %d, want 303", status)
	}
	// The form's token was good once, on every node.
	if status := br.post(a, "/login", login(nonce, password)); status != http.StatusForbidden {
		t.Fatalf("the same login form posted again, to node a: status %d, want 403", status)
	}
	// The session started on b is good on a, and a's page carries its
	// CSRF token, which b accepts.
	status, body := br.get(a, "/")
	m := pageCSRF.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		t.Fatalf("node a with node b's session: status %d, CSRF token found %v", status, m != nil)
	}
	if status := br.post(b, "/logout", url.Values{"csrf": {"not-the-token"}}); status != http.StatusForbidden {
		t.Fatalf("a logout with a wrong CSRF token: status %d, want 403", status)
	}
	if status := br.post(b, "/logout", url.Values{"csrf": {m[1]}}); status != http.StatusSeeOther {
		t.Fatalf("a logout on node b with node a's CSRF token: status %d, want 303", status)
	}
	if status, _ := br.get(a, "/"); status != http.StatusSeeOther {
		t.Fatalf("node a after a logout on node b: status %d, want 303 to the login", status)
	}

	// Two wrong passwords through a use the free failures; the right one
	// through b must then wait, until it has waited.
	for i := range 2 {
		if status := br.post(a, "/login", login(br.loginForm(a), "wrong password "+password)); status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d on node a: status %d, want 401", i+1, status)
		}
	}
	if status := br.post(b, "/login", login(br.loginForm(b), password)); status != http.StatusTooManyRequests {
		t.Fatalf("a login on node b after the failures on node a: status %d, want 429", status)
	}
	c.Add(time.Second)
	if status := br.post(b, "/login", login(br.loginForm(a), password)); status != http.StatusSeeOther {
		t.Fatalf("a login on node b after the wait: status %d, want 303", status)
	}
}

// heldSearcher is a real index whose searches wait, once started, until
// release is closed: a search that takes its time.
type heldSearcher struct {
	ix      *index.Index
	started chan struct{}
	release chan struct{}
}

func (h *heldSearcher) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	h.started <- struct{}{}
	<-h.release
	return h.ix.Search(ctx, q)
}

// TestTwoNodesShareSearchCap: a user's searches are capped across nodes —
// with two running on node a, a third on node b is refused, another
// user's is not, and once they end the user searches again.
func TestTwoNodesShareSearchCap(t *testing.T) {
	dsn := pgtest.DSN(t)
	ix, err := index.Open(index.Options{Path: filepath.Join(t.TempDir(), "index")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	h := &heldSearcher{ix: ix, started: make(chan struct{}, 8), release: make(chan struct{})}
	c := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	a, b := startNode(t, "a", dsn, c, web.Deps{Search: h}), startNode(t, "b", dsn, c, web.Deps{Search: h})
	admin := open(t, dsn, c.Now)
	ctx := context.Background()
	tokens := map[string]string{}
	for _, name := range []string{"ana", "bo"} {
		if _, err := admin.AddUser(ctx, name, password, web.RoleAnalyst); err != nil {
			t.Fatal(err)
		}
		if tokens[name], err = admin.CreateToken(ctx, name, "ci"); err != nil {
			t.Fatal(err)
		}
	}
	search := func(n node, user string) int {
		req, _ := http.NewRequest("GET", n.url+"/api/v1/search?q="+url.QueryEscape("火灾"), nil)
		req.Header.Set("Authorization", "Bearer "+tokens[user])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	done := make(chan int, 3)
	for range 2 {
		go func() { done <- search(a, "ana") }()
	}
	<-h.started
	<-h.started
	if st := search(b, "ana"); st != http.StatusTooManyRequests {
		t.Errorf("a third search of ana, on node b while two run on node a: %d, want 429", st)
	}
	go func() { done <- search(b, "bo") }()
	<-h.started
	close(h.release)
	for range 3 {
		if st := <-done; st != http.StatusOK {
			t.Errorf("a held search: %d, want 200", st)
		}
	}
	if st := search(b, "ana"); st != http.StatusOK {
		t.Errorf("ana on node b after her searches ended: %d, want 200", st)
	}
}
