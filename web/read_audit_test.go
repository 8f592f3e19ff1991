package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/alerts"
)

// The personal data of the fraud post the privacy tests file.
const (
	piiPhone    = "13812345678"
	piiPhoneMsk = "138****5678"
	piiCard     = "6222021234567894"
	piiCardMsk  = "6222********7894"
	piiQQ       = "87654321"
)

// seedPII files a fraud post with a phone, a bank card and a QQ id and
// returns its lead id.
func (w *world) seedPII(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	title := "冒充客服诈骗 电话" + piiPhone
	text := "有骗子冒充客服实施诈骗，让受害人转账到银行卡" + piiCard + "，联系电话" + piiPhone + "，加QQ" + piiQQ + "，已有多人被骗走5万元，请大家警惕电信诈骗。"
	if err := w.ingest(ctx, testAnalyzer(t), "http://forum.example/t/pii", "forum", "本地论坛", title, text, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	leads, _, err := w.leads.ListLeads(ctx, alerts.LeadFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leads {
		if strings.Contains(l.Title, "冒充客服") {
			return l.ID
		}
	}
	t.Fatalf("the fraud post filed no lead: %+v", leads)
	return ""
}

// bodyOf reads a response and checks its status.
func bodyOf(t *testing.T, what string, r *http.Response, status int) string {
	t.Helper()
	b := readAll(t, r)
	if r.StatusCode != status {
		t.Fatalf("%s: status %d, want %d: %.300s", what, r.StatusCode, status, b)
	}
	return b
}

// Every way post text leaves the server masks the personal data for a
// viewer and shows it to the roles of PIIRoles.
func TestPIIMaskedByRole(t *testing.T) {
	for _, tc := range []struct {
		name    string
		roles   []Role
		masked  []string // users who see masks
		clearly []string // users who see the numbers
	}{
		{"default roles", nil, []string{"viv"}, []string{"ana", "admin"}},
		{"admin only", []Role{RoleAdmin}, []string{"viv", "ana"}, []string{"admin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, Options{PIIRoles: tc.roles})
			id := w.seedPII(t)
			q := url.QueryEscape("诈骗")
			paths := []string{"/leads/" + id, "/leads", "/", "/search?q=" + q, "/export/leads?format=csv", "/export/leads?format=jsonl",
				"/export/search?format=csv&q=" + q, "/export/search?format=jsonl&q=" + q,
				"/api/v1/leads/" + id, "/api/v1/leads", "/api/v1/search?q=" + q, "/api/v1/export/leads?format=jsonl",
				"/api/v1/export/search?format=csv&q=" + q}
			check := func(user string, masked bool) {
				c := w.login(user)
				for _, p := range paths {
					body := bodyOf(t, user+" "+p, c.get(p), http.StatusOK)
					secrets := []string{piiPhone, piiCard, "QQ" + piiQQ}
					if p == "/" || p == "/leads" {
						secrets = secrets[:1] // lists show the title only
					}
					for _, secret := range secrets {
						if got := strings.Contains(body, secret); got == masked {
							t.Errorf("%s %s: shows %s = %v", user, p, secret, got)
						}
					}
					if masked && !strings.Contains(body, piiPhoneMsk) {
						t.Errorf("%s %s: no masked phone %s", user, p, piiPhoneMsk)
					}
				}
				// The lead page still marks the evidence in the masked text.
				if body := c.getBody("/leads/" + id); !strings.Contains(body, `<mark class="ev"`) {
					t.Errorf("%s: lead page marks no evidence", user)
				}
			}
			for _, u := range tc.masked {
				check(u, true)
			}
			for _, u := range tc.clearly {
				check(u, false)
			}
			// The lead an action answers with is masked like any other,
			// notes included.
			tok, _ := w.srv.store.CreateToken(context.Background(), "ana", "t")
			body := bodyOf(t, "note", w.apiReq("POST", "/api/v1/leads/"+id+"/transition", tok, `{"action":"note","note":"已回电 `+piiPhone+`"}`), http.StatusOK)
			if masked := slices.Contains(tc.masked, "ana"); strings.Contains(body, piiPhone) == masked || strings.Contains(body, "已回电 "+piiPhoneMsk) != masked {
				t.Errorf("analyst's action answer (masked %v): %.400s", masked, body)
			}
		})
	}
}

// TestPIIMaskedInSearchWithTheNumber: a viewer who searches for the
// number finds the post but sees the number masked, highlight and all.
func TestPIIMaskedInSearchWithTheNumber(t *testing.T) {
	w := newWorld(t, Options{})
	w.seedPII(t)
	tok, _ := w.srv.store.CreateToken(context.Background(), "viv", "t")
	body := bodyOf(t, "search", w.apiReq("GET", "/api/v1/search?q="+piiPhone, tok, ""), http.StatusOK)
	var res struct {
		Total int `json:"total"`
		Hits  []struct {
			Title     string              `json:"title"`
			Fragments map[string][]string `json:"fragments"`
		} `json:"hits"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if res.Total == 0 || strings.Contains(body, piiPhone) {
		t.Fatalf("search for the number: %s", body)
	}
	if !strings.Contains(body, piiPhoneMsk) {
		t.Errorf("no masked number in %s", body)
	}
}

func TestReadAuditRecordsReads(t *testing.T) {
	w := newWorld(t, Options{})
	id := w.seedPII(t)
	ctx := context.Background()
	viv, ana, admin := w.login("viv"), w.login("ana"), w.login("admin")
	vivTok, _ := w.srv.store.CreateToken(ctx, "viv", "t")
	anaTok, _ := w.srv.store.CreateToken(ctx, "ana", "t")

	bodyOf(t, "viewer search", viv.get("/search?q="+url.QueryEscape("诈骗")+"&category=fraud"), http.StatusOK)
	bodyOf(t, "viewer API search", w.apiReq("GET", "/api/v1/search?q=fire&level=high", vivTok, ""), http.StatusOK)
	bodyOf(t, "viewer lead view", viv.get("/leads/"+id), http.StatusOK)
	bodyOf(t, "analyst lead view", ana.get("/leads/"+id), http.StatusOK)
	bodyOf(t, "analyst API lead", w.apiReq("GET", "/api/v1/leads/"+id, anaTok, ""), http.StatusOK)
	bodyOf(t, "viewer leads queue", viv.get("/leads?state=new"), http.StatusOK)
	exp := bodyOf(t, "viewer export", viv.get("/export/leads?format=csv&category=fraud"), http.StatusOK)
	expRows := strings.Count(exp, "\n") - 1

	// Admins see it all on the page, newest first.
	page := bodyOf(t, "audit page", admin.get("/read-audit"), http.StatusOK)
	for _, want := range []string{"viv", "ana", "诈骗", "category=fraud", "127.0.0.1", id, "未脱敏"} {
		if !strings.Contains(page, want) {
			t.Errorf("audit page lacks %q", want)
		}
	}
	var got struct {
		Total int         `json:"total"`
		Items []ReadEvent `json:"items"`
	}
	api := func(query string) {
		t.Helper()
		got.Items = nil
		body := bodyOf(t, "audit API "+query, w.apiReq("GET", "/api/v1/read-audit?"+query, anaTokAdmin(t, w), ""), http.StatusOK)
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
	}
	api("user=viv&kind=search")
	if got.Total != 2 {
		t.Fatalf("viewer searches: %+v", got)
	}
	if e := got.Items[0]; e.Via != "api" || e.Query != "fire" || e.Filters != "level=high" || e.Role != RoleViewer || e.ClientIP != "127.0.0.1" {
		t.Errorf("API search recorded as %+v", e)
	}
	if e := got.Items[1]; e.Via != "ui" || e.Query != "诈骗" || e.Filters != "category=fraud" || e.Rows < 1 || e.PII {
		t.Errorf("page search recorded as %+v", e)
	}
	api("kind=view")
	if got.Total != 3 {
		t.Fatalf("views: %+v", got)
	}
	for _, e := range got.Items {
		if e.Target != id || e.PII != (e.User == "ana") {
			t.Errorf("view %+v: want target %s and pii only for the analyst", e, id)
		}
	}
	api("kind=export")
	if got.Total != 1 || got.Items[0].Target != "leads" || got.Items[0].Rows != expRows || got.Items[0].Filters != "category=fraud&format=csv" {
		t.Errorf("export recorded as %+v, want leads with %d rows", got.Items, expRows)
	}
	api("kind=list&user=viv")
	if got.Total != 1 || got.Items[0].Filters != "state=new" {
		t.Errorf("queue recorded as %+v", got.Items)
	}
	// Date filters (days of the configured zone): nothing before today,
	// everything until today.
	today := w.srv.now().In(w.srv.opts.Location).Format("2006-01-02")
	api("until=" + w.srv.now().In(w.srv.opts.Location).AddDate(0, 0, -1).Format("2006-01-02"))
	if got.Total != 0 {
		t.Errorf("reads until yesterday: %d", got.Total)
	}
	api("since=" + today + "&until=" + today + "&limit=2")
	if got.Total != 7 || len(got.Items) != 2 {
		t.Errorf("reads of today: total %d, %d items with limit 2", got.Total, len(got.Items))
	}

	// Only admins see the audit.
	for _, c := range []*client{viv, ana} {
		for _, p := range []string{"/read-audit", "/export/read-audit?format=csv"} {
			if st := c.get(p).StatusCode; st != http.StatusForbidden {
				t.Errorf("non-admin %s: %d, want 403", p, st)
			}
		}
	}
	for _, tok := range []string{vivTok, anaTok} {
		for _, p := range []string{"/api/v1/read-audit", "/api/v1/export/read-audit"} {
			if st := w.apiReq("GET", p, tok, "").StatusCode; st != http.StatusForbidden {
				t.Errorf("non-admin %s: %d, want 403", p, st)
			}
		}
	}
	if nav := viv.getBody("/"); strings.Contains(nav, `href="/read-audit"`) {
		t.Error("the viewer's navigation links the read audit")
	}
	if nav := admin.getBody("/"); !strings.Contains(nav, `href="/read-audit"`) {
		t.Error("the admin's navigation does not link the read audit")
	}

	// Exports: CSV with Chinese headers in zh, English in en; JSON Lines.
	csvZh := bodyOf(t, "audit CSV", admin.get("/export/read-audit?format=csv&kind=view"), http.StatusOK)
	if !strings.HasPrefix(csvZh, "\ufeff时间,用户,角色,客户端地址,类型,途径,对象,查询内容,筛选条件,条数,个人信息\n") || strings.Count(csvZh, "\n") != 4 {
		t.Errorf("zh CSV:\n%s", csvZh)
	}
	admin.lang = "en"
	csvEn := bodyOf(t, "audit CSV en", admin.get("/export/read-audit?format=csv&kind=view"), http.StatusOK)
	if !strings.HasPrefix(csvEn, "\ufeffTime,User,Role,Client address,Kind,Via,Target,Query,Filters,Rows,Personal data\n") {
		t.Errorf("en CSV:\n%s", csvEn)
	}
	jl := bodyOf(t, "audit JSONL", w.apiReq("GET", "/api/v1/export/read-audit?user=ana", anaTokAdmin(t, w), ""), http.StatusOK)
	sc := bufio.NewScanner(strings.NewReader(jl))
	lines := 0
	for sc.Scan() {
		var e ReadEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.User != "ana" {
			t.Errorf("JSON line %q: %+v %v", sc.Text(), e, err)
		}
		lines++
	}
	if lines != 2 {
		t.Errorf("%d JSON lines of ana's reads, want 2", lines)
	}
	// The exports of the audit are reads too.
	api("kind=export&user=admin")
	if got.Total != 3 || got.Items[0].Target != "read_audit" || got.Items[0].Via != "api" || got.Items[0].Rows != 2 {
		t.Errorf("audit exports recorded as %+v", got.Items)
	}
}

// anaTokAdmin is a fresh admin token.
func anaTokAdmin(t *testing.T, w *world) string {
	t.Helper()
	tok, err := w.srv.store.CreateToken(context.Background(), "admin", "audit")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestReadAuditPaginates(t *testing.T) {
	e := newTestEnv(t, Options{}, Deps{})
	ctx := context.Background()
	var evs []ReadEvent
	for i := 0; i < 120; i++ {
		evs = append(evs, ReadEvent{At: e.clock.Now().Add(time.Duration(i) * time.Second), User: "viv", Role: RoleViewer, ClientIP: "10.0.0.1",
			Kind: ReadSearch, Via: "ui", Query: "q" + itoa(i)})
	}
	if err := e.srv.store.AddReads(ctx, evs); err != nil {
		t.Fatal(err)
	}
	admin := e.login("admin")
	p1 := admin.getBody("/read-audit?kind=search")
	if !strings.Contains(p1, "q119") || strings.Contains(p1, "q69<") || !strings.Contains(p1, "page=2") {
		t.Errorf("page 1 is not the newest 50 with a link to page 2")
	}
	p3 := admin.getBody("/read-audit?kind=search&page=3")
	if !strings.Contains(p3, "q19") || strings.Contains(p3, "q20<") || strings.Contains(p3, "page=4") {
		t.Errorf("page 3 is not the oldest 20")
	}
	if st := admin.get("/read-audit?kind=peek").StatusCode; st != http.StatusBadRequest {
		t.Errorf("unknown kind: %d", st)
	}
}

func TestReadAuditTTL(t *testing.T) {
	for _, tc := range []struct {
		name      string
		retention time.Duration
		left      int
	}{
		{"30 days", 30 * 24 * time.Hour, 2},
		{"default 180 days", 0, 3},
		{"keep", -1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, Options{ReadAuditTTL: tc.retention}, Deps{})
			ctx := context.Background()
			now := e.clock.Now()
			var evs []ReadEvent
			for _, age := range []time.Duration{0, 10 * 24 * time.Hour, 100 * 24 * time.Hour, 400 * 24 * time.Hour} {
				evs = append(evs, ReadEvent{At: now.Add(-age), User: "viv", Role: RoleViewer, Kind: ReadView, Via: "ui", Target: "L"})
			}
			if err := e.srv.store.AddReads(ctx, evs); err != nil {
				t.Fatal(err)
			}
			e.srv.reads.prune(ctx)
			_, n, err := e.srv.store.Reads(ctx, ReadFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.left {
				t.Errorf("%d reads left, want %d", n, tc.left)
			}
		})
	}
}

// syncBuffer is a log sink safe for the writer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A read that cannot be stored is not lost without a trace: the log has it.
func TestReadAuditWriteFailureIsLogged(t *testing.T) {
	var logs syncBuffer
	e := newTestEnv(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, Deps{})
	if _, err := e.srv.store.(*Store).db.Exec(`DROP TABLE web_read_audit`); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/search?q=x&level=high", nil)
	req.RemoteAddr = "192.0.2.7:1234"
	u := &User{Name: "viv", Role: RoleViewer}
	req = req.WithContext(context.WithValue(req.Context(), principalKey, &principal{User: u}))
	e.srv.recordRead(req, ReadEvent{Kind: ReadSearch, Query: "燃气", Filters: "level=high"})
	e.srv.reads.flush()
	out := logs.String()
	if !strings.Contains(out, "read audit record lost") || !strings.Contains(out, "user=viv") || !strings.Contains(out, "kind=search") || !strings.Contains(out, "client_ip=192.0.2.7") ||
		!strings.Contains(out, `filters="level=high"`) {
		t.Errorf("log does not record the lost read:\n%s", out)
	}
}

// Reads queued when the server closes are written, not dropped.
func TestReadAuditFlushedOnClose(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(dir + "/riskmine.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Options{Store: st, Logger: slog.New(slog.DiscardHandler)}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/search", nil)
	req.RemoteAddr = "192.0.2.7:1234"
	for i := 0; i < 10; i++ {
		srv.recordRead(req, ReadEvent{Kind: ReadSearch, Query: "q"})
	}
	srv.Close()
	_, n, err := st.Reads(context.Background(), ReadFilter{})
	if err != nil || n != 10 {
		t.Fatalf("%d reads stored after Close, want 10 (%v)", n, err)
	}
	// A request still running when the server closes is written directly.
	srv.recordRead(req, ReadEvent{Kind: ReadView, Target: "late"})
	if _, n, err = st.Reads(context.Background(), ReadFilter{}); err != nil || n != 11 {
		t.Fatalf("%d reads stored after a late read, want 11 (%v)", n, err)
	}
}

// BenchmarkRecordRead is what a search pays for its read audit record.
func BenchmarkRecordRead(b *testing.B) {
	st, err := OpenStore(b.TempDir() + "/riskmine.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Options{Store: st, Logger: slog.New(slog.DiscardHandler)}, Deps{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	req, _ := http.NewRequest("GET", "/search?q=x", nil)
	req.RemoteAddr = "192.0.2.7:1234"
	req = req.WithContext(context.WithValue(req.Context(), principalKey, &principal{User: &User{Name: "viv", Role: RoleViewer}}))
	e := ReadEvent{Kind: ReadSearch, Query: "燃气泄漏", Filters: "category=hazmat_leak&level=high", Rows: 42}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		srv.recordRead(req, e)
	}
	b.StopTimer()
	srv.reads.flush()
	if _, n, err := st.Reads(context.Background(), ReadFilter{}); err != nil || n != b.N {
		b.Fatalf("%d reads stored of %d (%v)", n, b.N, err)
	}
}
