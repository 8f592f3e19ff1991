package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"riskmine/alerts"
)

// The payloads of the outside audit that tried to send users off-site.
var redirectPayloads = []string{
	"/%09/evil.example/x", "/\t/evil.example/x", "//evil.example", "/\\evil.example", "\\\\evil.example",
	"https://evil.example", "http:evil.example", "/\\/evil.example", "/%5Cevil.example", "/%2F/evil.example",
	"/%2f%2fevil.example", "\t//evil.example", " //evil.example", "/\r\n/evil.example", "/\u200b/evil.example",
	"javascript:alert(1)", "evil.example", "//@evil.example", "/%0a/evil.example", "///evil.example",
	"%2F%2Fevil.example", "/.\\evil.example/../",
}

func TestRedirectsStayLocal(t *testing.T) {
	for _, p := range redirectPayloads {
		got := localRedirect(p)
		if got != "/" {
			t.Errorf("localRedirect(%q) = %q, want /", p, got)
		}
	}
	for _, ok := range []string{"/", "/leads?state=new", "/leads/01HX?ok=1#top", "/search?q=%E7%81%AB+%E7%81%BE"} {
		if got := localRedirect(ok); got != ok {
			t.Errorf("localRedirect(%q) = %q, want it kept", ok, got)
		}
	}
}

func FuzzLocalRedirect(f *testing.F) {
	for _, p := range redirectPayloads {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := localRedirect(s)
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(stripInvisible(got), "//") || strings.Contains(got, "\\") {
			t.Fatalf("localRedirect(%q) = %q leaves the site", s, got)
		}
	})
}

func TestPasswordRules(t *testing.T) {
	cases := []struct {
		user, pw string
		want     string // substring of the error; "" means accepted
	}{
		{"ana", "harbour-lantern-demo", ""},
		{"ana", "correct-horse-1", ""},
		{"ana", "四个汉字也可以组成足够长的口令吗当然", ""},
		{"ana", "short-one", "at least 15"},
		{"ana", "               ", "only spaces"},
		{"ana", "\t \t \t \t \t \t \t \t ", "only spaces"},
		{"ana", "password", "at least 15"},
		{"ana", "passwordpassword", "common"},
		{"ana", "Password2026!!!!", "common"},
		{"ana", "qwertyuiopasdfgh", "common"},
		{"ana", "123456789012345", "common"},
		{"ana", "aaaaaaaaaaaaaaaaaa", "common"},
		{"ana", "iloveyouiloveyou", "common"},
		{"ana", "woaini1314520woaini", ""},
		{"longname", "longname-longname", "user name"},
		{"chief-of-ops", "my-chief-of-ops-pass", "user name"},
		{"ana", strings.Repeat("x1y2", 20), "at most 72 bytes"},
	}
	for _, tc := range cases {
		err := CheckPassword(tc.user, tc.pw)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("CheckPassword(%q, %q): %v, want accepted", tc.user, tc.pw, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("CheckPassword(%q, %q) = %v, want an error with %q", tc.user, tc.pw, err, tc.want)
		}
	}
}

func TestUserNameRules(t *testing.T) {
	st := newTestEnv(t, Options{}, Deps{}).srv.store
	ctx := context.Background()
	for _, name := range []string{"admin\u200b", "ad\u202emin", "api-token", "API-Token", "root", "a/b", "a b", "a%2Fb", "x\x00", "x\u0085y",
		"ａｄｍｉｎ", strings.Repeat("n", 65), "", "who?", "a@b"} {
		if _, err := st.AddUser(ctx, name, "harbour-lantern-demo", RoleViewer); err == nil {
			t.Errorf("user name %q accepted", name)
		}
	}
	// Compatibility forms are the same name once normalised.
	u, err := st.AddUser(ctx, "ｍｉｎｇ", "harbour-lantern-demo", RoleViewer)
	if err != nil || u.Name != "ming" {
		t.Fatalf("full-width name: %+v %v", u, err)
	}
	if _, err := st.Authenticate(ctx, normalizeUserName("ｍｉｎｇ"), "harbour-lantern-demo"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(ctx, "王小明", "harbour-lantern-demo", RoleViewer); err != nil {
		t.Fatalf("Chinese name refused: %v", err)
	}
}

func TestDummyHashHasTheRealCost(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	var hash string
	if err := e.srv.store.(*Store).db.QueryRow(`SELECT password_hash FROM web_users WHERE name = 'ana'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	real, _ := bcrypt.Cost([]byte(hash))
	dummy, _ := bcrypt.Cost(dummyHash())
	if real != dummy || dummy != bcryptCost {
		t.Fatalf("dummy hash cost %d, real %d, configured %d", dummy, real, bcryptCost)
	}
}

func TestAttemptPolicyDelaysGrow(t *testing.T) {
	p := AttemptPolicy{Free: 3, Base: time.Second, MaxDelay: time.Minute, Window: time.Hour}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		n         int
		since     time.Duration // since the latest attempt
		wait      time.Duration
		forgotten bool
		next      int
	}{
		{0, 0, 0, false, 1},
		{2, 0, 0, false, 3},
		{3, 0, time.Second, false, 4},
		{4, 0, 2 * time.Second, false, 5},
		{4, time.Second, time.Second, false, 5},
		{4, 5 * time.Second, 0, false, 5},
		{8, 0, 32 * time.Second, false, 9},
		{9, 0, time.Minute, false, 10},
		{500, 0, time.Minute, false, 501},
		// A quiet window forgets the key: no wait, and counting starts again.
		{500, time.Hour, 0, true, 1},
		{500, time.Hour - time.Second, time.Duration(0), false, 501},
	}
	for _, c := range cases {
		now := t0.Add(c.since)
		if got := p.Wait(c.n, t0, now); got != c.wait {
			t.Errorf("Wait(%d failures, %s ago) = %s, want %s", c.n, c.since, got, c.wait)
		}
		if got := p.Forgotten(t0, now); got != c.forgotten {
			t.Errorf("Forgotten(%s ago) = %v", c.since, got)
		}
		if got := p.Next(c.n, t0, now); got != c.next {
			t.Errorf("Next(%d failures, %s ago) = %d, want %d", c.n, c.since, got, c.next)
		}
	}
}

func TestTrustedProxyClientIP(t *testing.T) {
	e := newTestEnv(t, Options{TrustedProxies: []string{"10.0.0.0/8", "192.168.1.5"}}, Deps{})
	cases := []struct{ remote, xff, want string }{
		{"203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},            // not a proxy: XFF ignored
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},              // a trusted proxy
		{"10.1.2.3:5000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},     // the client cannot choose the right-most
		{"10.1.2.3:5000", "198.51.100.1, 192.168.1.5", "198.51.100.1"}, // two proxies
		{"10.1.2.3:5000", "", "10.1.2.3"},                              // no header
		{"10.1.2.3:5000", "not-an-ip", "10.1.2.3"},                     // garbage
		{"[::ffff:10.0.0.1]:5000", "2001:db8::1", "2001:db8::1"},       // mapped proxy address
		{"192.168.1.5:1", "198.51.100.7,10.9.9.9", "198.51.100.7"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := e.srv.clientIP(r); got != tc.want {
			t.Errorf("remote %s XFF %q: client %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	if _, err := New(Options{DBPath: e.dir + "/x.db", TrustedProxies: []string{"proxy.lan"}}, Deps{}); err == nil {
		t.Error("a host name as trusted proxy accepted")
	}
	if _, err := New(Options{DBPath: e.dir + "/y.db", PublicURL: "https://riskmine.example.org/app"}, Deps{}); err == nil {
		t.Error("a public URL with a path accepted")
	}
}

// slowLeads serves many leads slowly, to hold an export open.
type slowLeads struct {
	LeadService
	n     int
	delay time.Duration
}

func (s slowLeads) ListLeads(ctx context.Context, f alerts.LeadFilter) ([]alerts.Lead, int, error) {
	var out []alerts.Lead
	for i := f.Offset; i < s.n && len(out) < f.Limit; i++ {
		out = append(out, alerts.Lead{ID: fmt.Sprintf("L%03d", i)})
	}
	return out, s.n, nil
}

func (s slowLeads) GetLead(ctx context.Context, id string) (*alerts.Lead, error) {
	time.Sleep(s.delay)
	return &alerts.Lead{ID: id, Title: strings.Repeat("长标题", 700), Level: "high", State: "new"}, nil
}

func (s slowLeads) GetLeadWindow(ctx context.Context, id string, w alerts.SourceWindow) (*alerts.Lead, int, error) {
	l, err := s.GetLead(ctx, id)
	return l, 0, err
}

func (s slowLeads) Audit(ctx context.Context, id string) ([]alerts.AuditEntry, error) {
	return nil, nil
}

func TestExportOutlivesWriteTimeout(t *testing.T) {
	const writeTimeout = 300 * time.Millisecond
	srv, err := New(Options{DBPath: t.TempDir() + "/riskmine.db", AdminToken: adminToken, WriteTimeout: writeTimeout},
		Deps{Leads: slowLeads{n: 40, delay: 30 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Config.WriteTimeout = writeTimeout
	hs.Start()
	defer hs.Close()
	start := time.Now()
	req, _ := http.NewRequest("GET", hs.URL+"/api/v1/export/leads?format=jsonl", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("export cut after %v: %v", took, err)
	}
	if n := strings.Count(string(body), "\n"); n != 40 || took < 2*writeTimeout {
		t.Fatalf("export of %d lines took %v; want 40 lines over more than %v", n, took, 2*writeTimeout)
	}
}

func TestLoginParallelGuessesAreNotAllChecked(t *testing.T) {
	e := newTestEnv(t, Options{LoginMaxFailures: 5}, Deps{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.client()
			st := c.postForm("/login", url.Values{"username": {"ana"}, "password": {"wrong-but-long-enough"}}, true).StatusCode
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[http.StatusUnauthorized] != 5 || counts[http.StatusTooManyRequests] != 35 {
		t.Fatalf("statuses %v: want 5 checked (401) and 35 refused before checking (429)", counts)
	}
}

func TestLoginCSRFNeedsAServerNonce(t *testing.T) {
	e := newTestEnv(t, Options{TrustedProxies: []string{"127.0.0.1"}}, Deps{})
	post := func(c *client, tok, xff, origin string) int {
		v := url.Values{"username": {"ana"}, "password": {testPassword}, "csrf": {tok}}
		req, _ := http.NewRequest("POST", e.http.URL+"/login", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: loginCSRF, Value: tok})
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		return c.do(req).StatusCode
	}
	victim := e.client()
	// A cookie planted from a sibling port with a value of the attacker's
	// choosing: the server never issued it.
	if st := post(victim, "planted-by-attacker", "", ""); st != http.StatusForbidden {
		t.Errorf("planted token: %d, want 403", st)
	}
	// A token the server issued to the attacker's address, replayed from the
	// victim's.
	issue := func(xff string) string {
		req, _ := http.NewRequest("GET", e.http.URL+"/login", nil)
		req.Header.Set("X-Forwarded-For", xff)
		m := csrfInput.FindStringSubmatch(readAll(t, victim.do(req)))
		return m[1]
	}
	tok := issue("198.51.100.66")
	if st := post(victim, tok, "203.0.113.5", ""); st != http.StatusForbidden {
		t.Errorf("token of another address: %d, want 403", st)
	}
	// A form posted from another origin (another port of the same host).
	tok = issue("203.0.113.5")
	if st := post(victim, tok, "203.0.113.5", "http://127.0.0.1:1"); st != http.StatusForbidden {
		t.Errorf("cross-origin login: %d, want 403", st)
	}
	// The genuine form works once; its token is then used up.
	tok = issue("203.0.113.5")
	if st := post(victim, tok, "203.0.113.5", e.http.URL); st != http.StatusSeeOther {
		t.Errorf("genuine login: %d, want 303", st)
	}
	if st := post(e.client(), tok, "203.0.113.5", ""); st != http.StatusForbidden {
		t.Errorf("reused token: %d, want 403", st)
	}
}

func TestTokensExpireAndWarn(t *testing.T) {
	e := newTestEnv(t, Options{TokenTTL: 30 * 24 * time.Hour}, Deps{})
	tok, err := e.srv.store.CreateToken(context.Background(), "viv", "t")
	if err != nil {
		t.Fatal(err)
	}
	resp := e.apiReq("GET", "/api/v1/me", tok, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Riskmine-Token-Expires") != "" {
		t.Fatalf("fresh token: %d, warning %q", resp.StatusCode, resp.Header.Get("Riskmine-Token-Expires"))
	}
	e.clock.Add(24 * 24 * time.Hour)
	resp = e.apiReq("GET", "/api/v1/me", tok, "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Riskmine-Token-Expires") == "" {
		t.Fatalf("token 6 days from expiry: %d, warning %q", resp.StatusCode, resp.Header.Get("Riskmine-Token-Expires"))
	}
	if body := e.login("admin").getBody("/users"); !strings.Contains(body, "token-expiry") {
		t.Error("the users page does not flag the token about to expire")
	}
	e.clock.Add(7 * 24 * time.Hour)
	if st := e.apiReq("GET", "/api/v1/me", tok, "").StatusCode; st != http.StatusUnauthorized {
		t.Fatalf("expired token: %d, want 401", st)
	}
}

// TestHostileRequests replays the outside audit's hostile requests, each
// with the answer it must get. Every endpoint added later joins the table.
func TestHostileRequests(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	hostile, fire := w.seed(t)
	endpoints := []alerts.Endpoint{{Name: "with-creds", URL: "https://hookuser:hookpass@hooks.example/in?token=tok-secret&x=1"}}
	w.srv.deps.Endpoints = endpoints
	ana := w.login("ana")
	anaTok, _ := w.srv.store.CreateToken(context.Background(), "ana", "t")
	vivTok, _ := w.srv.store.CreateToken(context.Background(), "viv", "t")

	form := func(c *client, path string, v url.Values) *http.Response { return c.postForm(path, v, true) }
	api := func(method, path, tok, body string) *http.Response { return w.apiReq(method, path, tok, body) }
	big := strings.Repeat("注", 5<<20/3)

	type hostileCase struct {
		name   string
		do     func() *http.Response
		status int
		check  func(t *testing.T, r *http.Response)
	}
	locationIs := func(want string) func(*testing.T, *http.Response) {
		return func(t *testing.T, r *http.Response) {
			if got := r.Header.Get("Location"); got != want {
				t.Errorf("Location %q, want %q", got, want)
			}
		}
	}
	var cases []hostileCase
	for _, p := range redirectPayloads {
		cases = append(cases,
			hostileCase{"lang next " + p, func() *http.Response {
				return w.client().get("/lang?l=en&next=" + url.QueryEscape(p))
			}, http.StatusSeeOther, locationIs("/")},
			hostileCase{"login next " + p, func() *http.Response {
				return form(w.client(), "/login", url.Values{"username": {"viv"}, "password": {testPassword}, "next": {p}})
			}, http.StatusSeeOther, locationIs("/")},
			hostileCase{"bulk back " + p, func() *http.Response {
				return form(ana, "/leads/bulk", url.Values{"action": {"confirm"}, "back": {p}})
			}, http.StatusSeeOther, locationIs("/?ok=bulk_none")},
		)
	}
	w.srv.deps.Platforms = map[string]string{"cases": platformSecret}
	inbound := func(platform, id, sig string, body string) *http.Response {
		req, _ := http.NewRequest("POST", w.http.URL+"/api/v1/inbound/"+platform, strings.NewReader(body))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(w.srv.now().Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	cases = append(cases, []hostileCase{
		{"inbound unsigned", func() *http.Response {
			return inbound("cases", "h1", "", `{"type":"case.updated","data":{"lead_id":"`+fire+`","state":"closed"}}`)
		}, http.StatusUnauthorized, nil},
		{"inbound forged signature", func() *http.Response {
			return inbound("cases", "h2", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", `{"type":"case.updated","data":{"lead_id":"`+fire+`","state":"closed"}}`)
		}, http.StatusUnauthorized, nil},
		{"inbound with a bearer token but no signature", func() *http.Response {
			return api("POST", "/api/v1/inbound/cases", adminToken, `{"type":"case.updated","data":{"lead_id":"`+fire+`","state":"closed"}}`)
		}, http.StatusBadRequest, nil},
		{"inbound path traversal platform", func() *http.Response {
			return inbound("..%2Fcases", "h3", "", `{}`)
		}, http.StatusNotFound, nil},
		{"inbound 5 MB body", func() *http.Response {
			return inbound("cases", "h4", "", `{"note":"`+big+`"}`)
		}, http.StatusRequestEntityTooLarge, nil},
		{"lang raw tab", func() *http.Response { return w.client().get("/lang?l=en&next=/%09/evil.example/x") }, http.StatusSeeOther, locationIs("/")},
		{"5 MB note by form", func() *http.Response {
			return form(ana, "/leads/"+fire+"/action", url.Values{"action": {"note"}, "note": {big}})
		}, http.StatusRequestEntityTooLarge, nil},
		{"5 MB note by API", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"note","note":"`+big+`"}`)
		}, http.StatusBadRequest, nil},
		{"note over 10k characters", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"note","note":"`+strings.Repeat("注", MaxNoteLen+1)+`"}`)
		}, http.StatusBadRequest, nil},
		{"reason over its limit", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"dismiss","version":1,"reason":"`+strings.Repeat("r", MaxReasonLen+1)+`"}`)
		}, http.StatusBadRequest, nil},
		{"version omitted", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"confirm"}`)
		}, http.StatusBadRequest, nil},
		{"version 0", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"confirm","version":0}`)
		}, http.StatusBadRequest, nil},
		{"version omitted in a form", func() *http.Response {
			return form(ana, "/leads/"+fire+"/action", url.Values{"action": {"confirm"}})
		}, http.StatusBadRequest, nil},
		{"stale version", func() *http.Response {
			return api("POST", "/api/v1/leads/"+hostile+"/transition", anaTok, `{"action":"confirm","version":7}`)
		}, http.StatusConflict, nil},
		{"bulk without versions", func() *http.Response {
			return api("POST", "/api/v1/leads/bulk", anaTok, `{"ids":["`+fire+`"],"action":"confirm"}`)
		}, http.StatusBadRequest, nil},
		{"bulk form without versions", func() *http.Response {
			return form(ana, "/leads/bulk", url.Values{"id": {fire}, "action": {"confirm"}})
		}, http.StatusBadRequest, nil},
		{"user name with zero-width space", func() *http.Response {
			return api("POST", "/api/v1/users", adminToken, `{"name":"admin\u200b","password":"harbour-lantern-demo","role":"viewer"}`)
		}, http.StatusBadRequest, nil},
		{"user name with bidi override", func() *http.Response {
			return api("POST", "/api/v1/users", adminToken, `{"name":"nimda\u202e","password":"harbour-lantern-demo","role":"viewer"}`)
		}, http.StatusBadRequest, nil},
		{"place picker with an oversize name", func() *http.Response {
			return api("GET", "/api/v1/places?q="+url.QueryEscape(strings.Repeat("<script>", 20)), anaTok, "")
		}, http.StatusBadRequest, nil},
		{"place filter with an unknown name", func() *http.Response {
			return api("GET", "/api/v1/leads?location="+url.QueryEscape("<b>无此地</b>"), anaTok, "")
		}, http.StatusBadRequest, nil},
		{"profiler when off", func() *http.Response {
			return api("GET", "/debug/pprof/goroutine?debug=2", adminToken, "")
		}, http.StatusNotFound, nil},
		{"user name api-token", func() *http.Response {
			return api("POST", "/api/v1/users", adminToken, `{"name":"api-token","password":"harbour-lantern-demo","role":"viewer"}`)
		}, http.StatusBadRequest, nil},
		{"user name with URL characters", func() *http.Response {
			return api("POST", "/api/v1/users", adminToken, `{"name":"a/../admin?x","password":"harbour-lantern-demo","role":"viewer"}`)
		}, http.StatusBadRequest, nil},
		{"password of 8 spaces", func() *http.Response {
			return api("POST", "/api/v1/users", adminToken, `{"name":"sp","password":"        ","role":"viewer"}`)
		}, http.StatusBadRequest, nil},
		{"password 'password'", func() *http.Response {
			return api("POST", "/api/v1/users", adminToken, `{"name":"pw","password":"password","role":"viewer"}`)
		}, http.StatusBadRequest, nil},
		{"password is the user name", func() *http.Response {
			return api("POST", "/api/v1/users", adminToken, `{"name":"inspector-gadget-1","password":"inspector-gadget-1","role":"viewer"}`)
		}, http.StatusBadRequest, nil},
		{"password on the common list", func() *http.Response {
			return form(w.login("admin"), "/users/viv/update", url.Values{"password": {"qwertyuiop123456"}})
		}, http.StatusBadRequest, nil},
		{"login CSRF cookie planted", func() *http.Response {
			v := url.Values{"username": {"ana"}, "password": {testPassword}, "csrf": {"planted"}}
			req, _ := http.NewRequest("POST", w.http.URL+"/login", strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: loginCSRF, Value: "planted"})
			return w.client().do(req)
		}, http.StatusForbidden, nil},
		{"webhook URL with credentials", func() *http.Response {
			return api("GET", "/api/v1/webhooks", adminToken, "")
		}, http.StatusOK, func(t *testing.T, r *http.Response) {
			body := readAll(t, r)
			if strings.Contains(body, "hookpass") || strings.Contains(body, "tok-secret") || !strings.Contains(body, "hooks.example") {
				t.Errorf("webhook URL not masked: %s", body)
			}
		}},
		// The read audit: admins only, filters checked like every input.
		{"read audit API as analyst", func() *http.Response { return api("GET", "/api/v1/read-audit", anaTok, "") }, http.StatusForbidden, nil},
		{"read audit export as analyst", func() *http.Response {
			return api("GET", "/api/v1/export/read-audit?format=csv", anaTok, "")
		}, http.StatusForbidden, nil},
		{"read audit page as analyst", func() *http.Response { return ana.get("/read-audit") }, http.StatusForbidden, nil},
		{"read audit page without login", func() *http.Response { return w.client().get("/read-audit") }, http.StatusSeeOther, locationIs("/login?next=%2Fread-audit")},
		{"read audit API without token", func() *http.Response { return api("GET", "/api/v1/read-audit", "", "") }, http.StatusUnauthorized, nil},
		{"read audit unknown kind", func() *http.Response {
			return api("GET", "/api/v1/read-audit?kind=%27%20OR%201=1--", adminToken, "")
		}, http.StatusBadRequest, nil},
		{"read audit user name of 5 KB", func() *http.Response {
			return api("GET", "/api/v1/read-audit?user="+strings.Repeat("u", 5000), adminToken, "")
		}, http.StatusBadRequest, nil},
		{"read audit limit too large", func() *http.Response { return api("GET", "/api/v1/read-audit?limit=1000000", adminToken, "") }, http.StatusBadRequest, nil},
		{"read audit negative offset", func() *http.Response { return api("GET", "/api/v1/read-audit?offset=-5", adminToken, "") }, http.StatusBadRequest, nil},
		{"read audit date not a date", func() *http.Response {
			return api("GET", "/api/v1/read-audit?since=yesterday%3Cscript%3E", adminToken, "")
		}, http.StatusBadRequest, nil},
		{"read audit export bad format", func() *http.Response {
			return api("GET", "/api/v1/export/read-audit?format=xlsx", adminToken, "")
		}, http.StatusBadRequest, nil},
		{"read audit page huge page number", func() *http.Response { return w.login("admin").get("/read-audit?page=99999999999") }, http.StatusBadRequest, nil},
		{"read audit page shows a hostile query as text", func() *http.Response {
			// Queries the index refuses are not recorded; store one as if it had run.
			w.srv.store.AddReads(context.Background(), []ReadEvent{{At: w.clock.Now(), User: "viv", Role: RoleViewer, Kind: ReadSearch, Via: "api",
				Query: `"><script>window.__pwned=1</script>`, Target: `<img src=x onerror=alert(1)>`}})
			return w.login("admin").get("/read-audit?kind=search")
		}, http.StatusOK, func(t *testing.T, r *http.Response) {
			if body := readAll(t, r); strings.Contains(body, "<script>window.__pwned") || strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;script&gt;window.__pwned") {
				t.Error("the read audit page does not escape a recorded query")
			}
		}},
		{"webhooks page with credentials", func() *http.Response { return w.login("admin").get("/webhooks") }, http.StatusOK,
			func(t *testing.T, r *http.Response) {
				if body := readAll(t, r); strings.Contains(body, "hookpass") || strings.Contains(body, "tok-secret") {
					t.Error("webhooks page shows the URL's credentials")
				}
			}},
		// Sources added in the UI: admins only, validated as the config is.
		{"add a source as a viewer", func() *http.Response {
			return api("POST", "/api/v1/sources", vivTok, "name: v\nkind: rss\nseeds: [https://x.org/]\n")
		}, http.StatusForbidden, nil},
		{"add a source as an analyst", func() *http.Response {
			return api("POST", "/api/v1/sources", anaTok, "name: v\nkind: rss\nseeds: [https://x.org/]\n")
		}, http.StatusForbidden, nil},
		{"add a source with an unknown key", func() *http.Response {
			return api("POST", "/api/v1/sources", adminToken, "name: v\nkind: rss\nseeds: [https://x.org/]\nevil: 1\n")
		}, http.StatusBadRequest, nil},
		{"add a source with a javascript seed", func() *http.Response {
			return api("POST", "/api/v1/sources", adminToken, `{"name":"v","kind":"rss","seeds":["javascript:alert(1)"]}`)
		}, http.StatusBadRequest, nil},
		{"add a source reading the environment", func() *http.Response {
			return api("POST", "/api/v1/sources", adminToken, "name: v\nkind: rss\nseeds: [https://x.org/]\nheaders: {X: '${HOME}'}\n")
		}, http.StatusCreated, func(t *testing.T, r *http.Response) {
			if body := readAll(t, r); !strings.Contains(body, "${HOME}") {
				t.Error("a UI source's ${VAR} was expanded")
			}
			api("DELETE", "/api/v1/sources/v", adminToken, "")
		}},
		{"add a source larger than 64 KiB", func() *http.Response {
			return api("POST", "/api/v1/sources", adminToken, "name: v\n#"+strings.Repeat("x", 70<<10))
		}, http.StatusRequestEntityTooLarge, nil},
		{"add a source with an empty body", func() *http.Response { return api("POST", "/api/v1/sources", adminToken, "") }, http.StatusBadRequest, nil},
		{"add a source of malformed YAML", func() *http.Response {
			return api("POST", "/api/v1/sources", adminToken, "name: [\n  - {")
		}, http.StatusBadRequest, nil},
		{"edit a missing source", func() *http.Response {
			return api("PUT", "/api/v1/sources/nope", adminToken, "name: nope\nkind: rss\nseeds: [https://x.org/]\n")
		}, http.StatusNotFound, nil},
		{"pause a missing source", func() *http.Response { return api("POST", "/api/v1/sources/nope/pause", adminToken, "") }, http.StatusNotFound, nil},
		{"resume a missing source", func() *http.Response { return api("POST", "/api/v1/sources/nope/resume", adminToken, "") }, http.StatusNotFound, nil},
		{"delete a missing source", func() *http.Response { return api("DELETE", "/api/v1/sources/nope", adminToken, "") }, http.StatusNotFound, nil},
		{"UI sources list as an analyst", func() *http.Response { return api("GET", "/api/v1/sources/ui", anaTok, "") }, http.StatusForbidden, nil},
		{"source audit as a viewer", func() *http.Response { return api("GET", "/api/v1/sources/audit", vivTok, "") }, http.StatusForbidden, nil},
		{"sources admin page shows a hostile source as text", func() *http.Response {
			w.srv.store.CreateUISource(context.Background(), "admin", "h", "name: h\n# </textarea><script>window.__pwned=1</script>\n")
			return w.login("admin").get("/sources/manage")
		}, http.StatusOK, func(t *testing.T, r *http.Response) {
			if body := readAll(t, r); strings.Contains(body, "<script>window.__pwned") {
				t.Error("the sources admin page does not escape a source's YAML")
			}
		}},
		// Triage: reopen, assignee, merge by picking, bulk causes, events.
		{"reopen by a viewer", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", vivTok, `{"action":"reopen","note":"x","version":1}`)
		}, http.StatusForbidden, nil},
		{"reopen form without CSRF", func() *http.Response {
			return ana.postForm("/leads/"+fire+"/action", url.Values{"action": {"reopen"}, "note": {"x"}, "version": {"1"}}, false)
		}, http.StatusForbidden, nil},
		{"reopen without a version", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"reopen","note":"x"}`)
		}, http.StatusBadRequest, nil},
		{"reopen of an open lead", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"reopen","note":"x","version":1}`)
		}, http.StatusConflict, nil},
		{"reopen note over 10k characters", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"reopen","version":1,"note":"`+strings.Repeat("注", MaxNoteLen+1)+`"}`)
		}, http.StatusBadRequest, nil},
		{"5 MB reopen note by form", func() *http.Response {
			return form(ana, "/leads/"+fire+"/action", url.Values{"action": {"reopen"}, "version": {"1"}, "note": {big}})
		}, http.StatusRequestEntityTooLarge, nil},
		{"assign to an unknown user by API", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"assign","assignee":"ghost","version":1}`)
		}, http.StatusBadRequest, func(t *testing.T, r *http.Response) {
			if body := readAll(t, r); !strings.Contains(body, "assignee") {
				t.Errorf("error does not name the field: %s", body)
			}
		}},
		{"assign to an unknown user by form", func() *http.Response {
			return form(ana, "/leads/"+fire+"/action", url.Values{"action": {"assign"}, "assignee": {"ghost"}, "version": {"1"}})
		}, http.StatusBadRequest, nil},
		{"assign to a viewer", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"assign","assignee":"viv","version":1}`)
		}, http.StatusBadRequest, nil},
		{"assignee with invisible characters", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"assign","assignee":"ana\u200b","version":1}`)
		}, http.StatusBadRequest, nil},
		{"assignee over 64 characters", func() *http.Response {
			return api("POST", "/api/v1/leads/"+fire+"/transition", anaTok, `{"action":"assign","version":1,"assignee":"`+strings.Repeat("a", MaxAssigneeLen+1)+`"}`)
		}, http.StatusBadRequest, nil},
		{"merge pick with a stale version", func() *http.Response {
			return form(ana, "/leads/"+hostile+"/action", url.Values{"action": {"merge"}, "merge_into": {fire}, "version": {"9"}})
		}, http.StatusConflict, nil},
		{"merge pick into itself", func() *http.Response {
			return form(ana, "/leads/"+hostile+"/action", url.Values{"action": {"merge"}, "merge_into": {hostile}, "version": {"1"}})
		}, http.StatusBadRequest, nil},
		{"merge pick by a viewer", func() *http.Response {
			return form(w.login("viv"), "/leads/"+hostile+"/action", url.Values{"action": {"merge"}, "merge_into": {fire}, "version": {"1"}})
		}, http.StatusForbidden, nil},
		{"bulk dismiss without a reason", func() *http.Response {
			return api("POST", "/api/v1/leads/bulk", anaTok, `{"leads":[{"id":"`+fire+`","version":1}],"action":"dismiss"}`)
		}, http.StatusOK, func(t *testing.T, r *http.Response) {
			if body := readAll(t, r); !strings.Contains(body, `"code":"reason_required"`) {
				t.Errorf("bulk result does not name the missing reason: %s", body)
			}
		}},
		{"bulk form without CSRF", func() *http.Response {
			return ana.postForm("/leads/bulk", url.Values{"id": {fire + ":1"}, "action": {"confirm"}}, false)
		}, http.StatusForbidden, nil},
		{"events without a login", func() *http.Response { return api("GET", "/api/v1/events", "", "") }, http.StatusUnauthorized, nil},
		{"events with a wrong token", func() *http.Response { return api("GET", "/api/v1/events", "not-a-token", "") }, http.StatusUnauthorized, nil},
		{"events by POST", func() *http.Response { return api("POST", "/api/v1/events", vivTok, `{}`) }, http.StatusNotFound, nil},
		{"events by a viewer", func() *http.Response { return api("GET", "/api/v1/events", vivTok, "") }, http.StatusOK,
			func(t *testing.T, r *http.Response) {
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
					t.Errorf("content type %q", ct)
				}
				r.Body.Close()
			}},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := tc.do()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.check != nil {
				tc.check(t, resp)
			}
		})
	}

	// Stateful ones, in order.
	t.Run("password change revokes tokens", func(t *testing.T) {
		tok, _ := w.srv.store.CreateToken(context.Background(), "viv", "t")
		if err := w.srv.store.SetPassword(context.Background(), "viv", "a-brand-new-passphrase"); err != nil {
			t.Fatal(err)
		}
		if st := api("GET", "/api/v1/me", tok, "").StatusCode; st != http.StatusUnauthorized {
			t.Fatalf("token after password change: %d, want 401", st)
		}
	})
	t.Run("bearer guessing is throttled", func(t *testing.T) {
		var last int
		for i := 0; i < 25; i++ {
			last = api("GET", "/api/v1/me", fmt.Sprintf("rmk_guess%d", i), "").StatusCode
		}
		if last != http.StatusTooManyRequests {
			t.Fatalf("25th wrong token: %d, want 429", last)
		}
		// The operator's bootstrap token is not throttled.
		if st := api("GET", "/api/v1/me", adminToken, "").StatusCode; st != http.StatusOK {
			t.Fatalf("RISKMINE_API_TOKEN while throttled: %d", st)
		}
		w.clock.Add(2 * time.Hour)
	})
	t.Run("X-Forwarded-For is ignored without trusted proxies", func(t *testing.T) {
		var last int
		for i := 0; i < 8; i++ {
			c := w.client()
			v := url.Values{"username": {"viv"}, "password": {"not-the-right-one"}}
			m := csrfInput.FindStringSubmatch(c.getBody("/login"))
			v.Set("csrf", m[1])
			req, _ := http.NewRequest("POST", w.http.URL+"/login", strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
			last = c.do(req).StatusCode
		}
		if last != http.StatusTooManyRequests {
			t.Fatalf("8th failure with rotating X-Forwarded-For: %d, want 429", last)
		}
	})
}
