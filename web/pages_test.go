package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/crawler"
	"riskmine/index"
	"riskmine/nlp"
)

const adminToken = "test-admin-token-0123456789"

func decode[T any](t *testing.T, r *http.Response) T {
	t.Helper()
	var v T
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, b)
	}
	return v
}

func TestDashboardAndLeadsQueue(t *testing.T) {
	w := newWorld(t, Options{})
	hostile, fire := w.seed(t)
	c := w.login("viv")
	body := c.getBody("/")
	if !strings.Contains(body, `id="fig-open">2<`) {
		t.Errorf("dashboard does not show 2 open leads")
	}
	if !strings.Contains(body, "<svg class=\"chart\"") {
		t.Errorf("dashboard has no chart")
	}
	body = c.getBody("/leads?level=high,critical,medium")
	for _, id := range []string{hostile, fire} {
		if !strings.Contains(body, `data-lead="`+id+`"`) {
			t.Errorf("queue lacks lead %s", id)
		}
	}
	if strings.Contains(body, "<script>window.__pwned") || !strings.Contains(body, "&lt;script&gt;window.__pwned") {
		t.Errorf("hostile title not escaped in the queue")
	}
	if resp := c.get("/leads?state=bogus"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad state filter: %d", resp.StatusCode)
	}
	// Viewers see no bulk form.
	if strings.Contains(body, `id="bulk"`) {
		t.Error("viewer sees bulk actions")
	}
}

func TestOverdueLeads(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	w.seed(t)
	resp := w.apiReq("GET", "/api/v1/leads?overdue=true", adminToken, "")
	if n := decode[struct{ Total int }](t, resp).Total; n != 0 {
		t.Fatalf("%d overdue leads at once", n)
	}
	w.clock.Add(8 * 24 * time.Hour) // past every level's SLA
	resp = w.apiReq("GET", "/api/v1/leads?overdue=true", adminToken, "")
	if n := decode[struct{ Total int }](t, resp).Total; n != 2 {
		t.Fatalf("%d overdue leads a week later, want 2", n)
	}
	c := w.login("viv")
	if body := c.getBody("/"); !strings.Contains(body, `id="fig-overdue"><a href="/leads?overdue=true">2<`) {
		t.Error("dashboard does not count 2 overdue leads")
	}
	if body := c.getBody("/leads?overdue=true"); strings.Count(body, `class="overdue"`) != 2 {
		t.Error("queue does not mark 2 overdue leads")
	}
}

func TestLeadPageShowsEvidenceEscaped(t *testing.T) {
	w := newWorld(t, Options{})
	hostile, _ := w.seed(t)
	c := w.login("ana")
	resp := c.get("/leads/" + hostile)
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if strings.Contains(body, "<script>window") || strings.Contains(body, "<img src=x") {
		t.Fatal("hostile markup rendered as markup")
	}
	if !strings.Contains(body, "&lt;img src=x onerror=") {
		t.Error("hostile text not shown as text")
	}
	if !strings.Contains(body, `<mark class="ev" title="hazmat_leak/`) {
		t.Errorf("evidence not marked in the post text")
	}
	if !strings.Contains(body, `name="version" value="1"`) {
		t.Error("no version in the action forms")
	}
	if c.get("/leads/nope").StatusCode != http.StatusNotFound {
		t.Error("unknown lead is not 404")
	}
}

func TestTriageThroughTheLoopWithConflicts(t *testing.T) {
	w := newWorld(t, Options{})
	_, fire := w.seed(t)
	c := w.login("ana")
	act := func(v url.Values) *http.Response {
		return c.postForm("/leads/"+fire+"/action", v, true)
	}
	steps := []url.Values{
		{"action": {"confirm"}, "version": {"1"}},
		{"action": {"dispatch"}, "unit": {"仓山消防救援站"}, "version": {"2"}},
		{"action": {"handled"}, "reason": {"明火已扑灭"}, "version": {"3"}},
		{"action": {"verify"}, "version": {"4"}},
		{"action": {"close"}, "version": {"5"}},
	}
	// A stale version is refused with a clear message.
	w.leads.Assign(context.Background(), fire, alerts.AssignRequest{Actor: "someone", Assignee: "bob"})
	resp := act(url.Values{"action": {"confirm"}, "version": {"1"}})
	if body := readAll(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "已被他人修改") || strings.Contains(body, "alerts: ") {
		t.Fatalf("stale version: %d, or the message carries the store's English", resp.StatusCode)
	}
	for i, v := range steps {
		n, _ := strconv.Atoi(v.Get("version"))
		v.Set("version", strconv.Itoa(n+1)) // the assignment bumped the version
		resp := act(v)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("step %d (%s): %d %s", i, v.Get("action"), resp.StatusCode, readAll(t, resp))
		}
	}
	l, _ := w.leads.GetLead(context.Background(), fire)
	if l.State != alerts.StateClosed {
		t.Fatalf("state %s", l.State)
	}
	body := c.getBody("/leads/" + fire)
	if !strings.Contains(body, `data-state="closed"`) || strings.Count(body, "<li><small") < 6 {
		t.Errorf("closed lead page lacks state or timeline")
	}
	// Dismissing needs a reason.
	resp = c.postForm("/leads/"+fire+"/action", url.Values{"action": {"dismiss"}}, true)
	if resp.StatusCode != http.StatusConflict && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("dismiss closed lead without reason: %d", resp.StatusCode)
	}
}

func TestLeadAPI(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	hostile, fire := w.seed(t)
	resp := w.apiReq("GET", "/api/v1/leads", adminToken, "")
	list := decode[struct {
		Total int           `json:"total"`
		Items []alerts.Lead `json:"items"`
	}](t, resp)
	if list.Total != 2 || len(list.Items) != 2 {
		t.Fatalf("list %d items %d", list.Total, len(list.Items))
	}
	resp = w.apiReq("GET", "/api/v1/leads?category=fire", adminToken, "")
	if l := decode[struct{ Total int }](t, resp); l.Total != 1 {
		t.Errorf("category filter: %d", l.Total)
	}
	if st := w.apiReq("GET", "/api/v1/leads?sort=sideways", adminToken, "").StatusCode; st != http.StatusBadRequest {
		t.Errorf("bad sort: %d", st)
	}
	resp = w.apiReq("GET", "/api/v1/leads/"+hostile, adminToken, "")
	got := decode[struct {
		ID      string              `json:"id"`
		Sources []alerts.Source     `json:"sources"`
		Audit   []alerts.AuditEntry `json:"audit"`
	}](t, resp)
	if got.ID != hostile || len(got.Sources) != 1 || len(got.Audit) == 0 {
		t.Fatalf("lead %+v", got)
	}
	if st := w.apiReq("GET", "/api/v1/leads/missing", adminToken, "").StatusCode; st != http.StatusNotFound {
		t.Errorf("missing lead: %d", st)
	}
	tr := func(body string) *http.Response {
		return w.apiReq("POST", "/api/v1/leads/"+fire+"/transition", adminToken, body)
	}
	if st := tr(`{"action":"confirm","version":1}`).StatusCode; st != http.StatusOK {
		t.Fatalf("confirm: %d", st)
	}
	if st := tr(`{"action":"dispatch","unit":"x","version":1}`).StatusCode; st != http.StatusConflict {
		t.Errorf("stale version: %d, want 409", st)
	}
	if st := tr(`{"action":"close","version":2}`).StatusCode; st != http.StatusConflict {
		t.Errorf("illegal move: %d, want 409", st)
	}
	for _, body := range []string{`{"action":"dispatch","unit":"x"}`, `{"action":"dispatch","unit":"x","version":0}`} {
		if st := tr(body).StatusCode; st != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400 (version required)", body, st)
		}
	}
	if st := tr(`{"action":"dismiss","version":2}`).StatusCode; st != http.StatusBadRequest {
		t.Errorf("dismiss without reason: %d, want 400", st)
	}
	if st := tr(`{"action":"explode"}`).StatusCode; st != http.StatusBadRequest {
		t.Errorf("unknown action: %d, want 400", st)
	}
	if st := tr(`{"action":"note","note":"已电话联系"}`).StatusCode; st != http.StatusOK {
		t.Errorf("note: %d", st)
	}
	if st := w.apiReq("POST", "/api/v1/leads/bulk", adminToken, `{"ids":["`+hostile+`"],"action":"dismiss","reason":"演练"}`).StatusCode; st != http.StatusBadRequest {
		t.Errorf("bulk without versions: %d, want 400", st)
	}
	resp = w.apiReq("POST", "/api/v1/leads/bulk", adminToken, `{"leads":[{"id":"`+hostile+`","version":1},{"id":"missing","version":1},{"id":"`+fire+`","version":1}],"action":"dismiss","reason":"演练"}`)
	bulk := decode[struct{ Results []bulkResult }](t, resp)
	if len(bulk.Results) != 3 || !bulk.Results[0].OK || bulk.Results[1].OK || bulk.Results[2].OK || !strings.Contains(bulk.Results[2].Error, "conflict") {
		t.Errorf("bulk results %+v (the fire lead moved on: a conflict)", bulk.Results)
	}
	// A viewer's token cannot change leads.
	tok, _ := w.srv.store.CreateToken(context.Background(), "viv", "t")
	if st := w.apiReq("POST", "/api/v1/leads/"+fire+"/transition", tok, `{"action":"note","note":"x"}`).StatusCode; st != http.StatusForbidden {
		t.Errorf("viewer transition: %d, want 403", st)
	}
}

func TestBulkFormOnQueue(t *testing.T) {
	w := newWorld(t, Options{})
	hostile, fire := w.seed(t)
	c := w.login("ana")
	if st := c.postForm("/leads/bulk", url.Values{"id": {hostile, fire}, "action": {"confirm"}, "back": {"/leads"}}, true).StatusCode; st != http.StatusBadRequest {
		t.Fatalf("bulk without versions: %d, want 400", st)
	}
	resp := c.postForm("/leads/bulk", url.Values{"id": {hostile + ":1", fire + ":1"}, "action": {"confirm"}, "back": {"/leads"}}, true)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "ok=bulk_done") {
		t.Fatalf("bulk: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	leads, _, _ := w.leads.ListLeads(context.Background(), alerts.LeadFilter{States: []string{"confirmed"}})
	if len(leads) != 2 {
		t.Fatalf("%d confirmed", len(leads))
	}
}

func TestSearchAPIIsTheIndexJSON(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	w.seed(t)
	resp := w.apiReq("GET", "/api/v1/search?q="+url.QueryEscape("火灾"), adminToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	gotRaw, _ := io.ReadAll(resp.Body)
	res, err := w.idx.Search(context.Background(), index.Query{Text: "火灾", Size: searchPageSize})
	if err != nil {
		t.Fatal(err)
	}
	// The API gives times in the configured zone (Asia/Shanghai by default).
	shanghai, err := time.LoadLocation(DefaultTimezone)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Hits {
		res.Hits[i].PublishedAt = res.Hits[i].PublishedAt.In(shanghai)
	}
	var wantRaw bytes.Buffer
	res.WriteJSON(&wantRaw)
	// Identical bytes but for the time taken.
	took := regexp.MustCompile(`"took_ms":[0-9.e+-]+`)
	got, want := took.ReplaceAllString(string(gotRaw), ""), took.ReplaceAllString(wantRaw.String(), "")
	if got != want {
		t.Errorf("API search JSON differs from riskmine search --json:\n got %s\nwant %s", got, want)
	}
	if !strings.Contains(got, "<mark>") {
		t.Error("no readable <mark> in the search JSON")
	}
	if res.Total == 0 {
		t.Fatal("no hits for 火灾")
	}
	for _, bad := range []string{"q=" + url.QueryEscape(`"unterminated`), "level=extreme", "since=yesterday", "size=100000"} {
		resp := w.apiReq("GET", "/api/v1/search?"+bad, adminToken, "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, resp.StatusCode)
		}
		if e := decode[apiError](t, resp); e.Error == "" {
			t.Errorf("%s: no JSON error", bad)
		}
	}
}

func TestSearchPageHighlightsAndEscapes(t *testing.T) {
	w := newWorld(t, Options{})
	w.seed(t)
	c := w.login("ana")
	body := c.getBody("/search?q=" + url.QueryEscape("燃气泄漏"))
	if !strings.Contains(body, "<mark>") {
		t.Error("no highlight")
	}
	if strings.Contains(body, "<script>window") || strings.Contains(body, "<img src=x") {
		t.Fatal("hostile post rendered as markup on the search page")
	}
	if !strings.Contains(body, `class="card facets"`) {
		t.Error("no facets")
	}
	resp := c.get("/search?q=" + url.QueryEscape(`"unterminated`))
	if b := readAll(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, "查询有误") {
		t.Errorf("bad query page: %d", resp.StatusCode)
	}
}

func TestSavedSearchAndAlertRule(t *testing.T) {
	w := newWorld(t, Options{})
	admin := w.login("admin")
	resp := admin.postForm("/search/saved", url.Values{"name": {"燃气"}, "params": {"q=燃气&level=medium&page=3"}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	saved, _ := w.srv.store.SavedSearches(context.Background(), "admin")
	if len(saved) != 1 || saved[0].Params != "level=medium&q=%E7%87%83%E6%B0%94" {
		t.Fatalf("saved %+v", saved)
	}
	resp = admin.postForm("/search/saved/"+strconv.FormatInt(saved[0].ID, 10)+"/rule", url.Values{"min_level": {"high"}, "interval": {"15m"}}, true)
	if !strings.Contains(resp.Header.Get("Location"), "rule_created") {
		t.Fatalf("rule: %s", resp.Header.Get("Location"))
	}
	rules, err := w.srv.AlertRules(context.Background())
	if err != nil || len(rules) != 1 {
		t.Fatalf("rules %v %v", rules, err)
	}
	q, err := rules[0].Query(time.UTC)
	if err != nil || q.Text != "燃气" || q.MinLevel != "high" {
		t.Fatalf("rule query %+v %v", q, err)
	}
	if !rules[0].Due(time.Now()) {
		t.Error("new rule not due")
	}
	w.srv.store.MarkAlertRuleRun(context.Background(), rules[0].ID, time.Now())
	rules, _ = w.srv.AlertRules(context.Background())
	if rules[0].Due(time.Now()) || !rules[0].Due(time.Now().Add(16*time.Minute)) {
		t.Error("Due ignores the interval")
	}
	// A run refused by the search bounds says why, on the page and in the
	// API, until a run succeeds; it waits its interval like a run.
	if err := w.srv.store.MarkAlertRuleRefused(context.Background(), rules[0].ID, time.Now(), `search "燃*": bad query: 燃* matches more than 1024 words`); err != nil {
		t.Fatal(err)
	}
	rules, _ = w.srv.AlertRules(context.Background())
	if rules[0].Due(time.Now()) || !strings.Contains(rules[0].LastError, "more than 1024 words") {
		t.Errorf("refused rule: %+v", rules[0])
	}
	if page := admin.getBody("/search"); !strings.Contains(page, "上次运行被拒绝") || !strings.Contains(page, "more than 1024 words") {
		t.Error("the search page does not say why the rule's last run was refused")
	}
	w.srv.store.MarkAlertRuleRun(context.Background(), rules[0].ID, time.Now())
	if rules, _ = w.srv.AlertRules(context.Background()); rules[0].LastError != "" {
		t.Errorf("a run that succeeded keeps the old refusal: %q", rules[0].LastError)
	}
	// Analysts may save searches but not make rules.
	ana := w.login("ana")
	if st := ana.postForm("/search/saved/"+strconv.FormatInt(saved[0].ID, 10)+"/rule", url.Values{"min_level": {"high"}, "interval": {"15m"}}, true).StatusCode; st != http.StatusForbidden {
		t.Errorf("analyst rule: %d", st)
	}
	// Deleting the saved search deletes its rule.
	if st := admin.postForm("/search/saved/"+strconv.FormatInt(saved[0].ID, 10)+"/delete", url.Values{}, true).StatusCode; st != http.StatusSeeOther {
		t.Fatalf("delete: %d", st)
	}
	if rules, _ = w.srv.AlertRules(context.Background()); len(rules) != 0 {
		t.Errorf("rule survived its search: %+v", rules)
	}
}

func TestSourceRunRefusedNamesLeaseHolder(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	// Another process sharing the data folder (riskmine crawl) runs forum.
	other, err := crawler.OpenStore(w.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lease, err := other.AcquireLease(context.Background(), "forum", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := w.apiReq("POST", "/api/v1/sources/forum/run", adminToken, "")
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("run while another process holds the lease: %d %s", resp.StatusCode, readAll(t, resp))
	}
	c := decode[leaseConflict](t, resp)
	if c.Holder == nil || c.Holder.Instance == nil || c.Holder.Instance.ID != other.Instance().ID || !strings.Contains(c.Error, other.Instance().ID) {
		t.Fatalf("409 does not name the holder: %+v", c)
	}
	lease.Release(context.Background())
	if resp := w.apiReq("POST", "/api/v1/sources/forum/run", adminToken, ""); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("run after release: %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(w.sched.Running()) > 0; time.Sleep(20 * time.Millisecond) {
	}
}

func TestSourcesRunNow(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	resp := w.apiReq("POST", "/api/v1/sources/forum/run", adminToken, "")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("run: %d %s", resp.StatusCode, readAll(t, resp))
	}
	var p runProgress
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		p = decode[runProgress](t, w.apiReq("GET", "/api/v1/sources/forum/progress", adminToken, ""))
		if p.Done {
			break
		}
	}
	if !p.Done || p.LastRun == nil || p.LastRun.New != 2 {
		t.Fatalf("progress %+v", p)
	}
	list := decode[struct {
		Items []sourceRow `json:"items"`
	}](t, w.apiReq("GET", "/api/v1/sources", adminToken, ""))
	if len(list.Items) != 1 || list.Items[0].LastRun == nil || list.Items[0].LastRun.Fetched < 3 {
		t.Fatalf("sources %+v", list.Items)
	}
	if st := w.apiReq("POST", "/api/v1/sources/nope/run", adminToken, "").StatusCode; st != http.StatusNotFound {
		t.Errorf("unknown source: %d", st)
	}
	// The fire post became a lead; the page lists the run.
	leads, _, _ := w.leads.ListLeads(context.Background(), alerts.LeadFilter{})
	if len(leads) != 1 {
		t.Errorf("%d leads after the run, want 1", len(leads))
	}
	body := w.login("viv").getBody("/sources")
	if !strings.Contains(body, `data-source="forum"`) || !strings.Contains(body, "新增 2") {
		t.Error("sources page lacks the run figures")
	}
}

func TestLexiconTry(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	resp := w.apiReq("POST", "/api/v1/lexicons/try", adminToken, `{"text":"小区楼道里燃气泄漏，气味很大，已疏散居民"}`)
	a := decode[struct {
		Level    string
		Evidence []struct{ Rule string }
	}](t, resp)
	if a.Level == "none" || len(a.Evidence) == 0 {
		t.Fatalf("assessment %+v", a)
	}
	c := w.login("viv")
	c.csrf = c.csrfFromPage("/lexicons")
	resp = c.postForm("/lexicons/try", url.Values{"text": {"楼道燃气泄漏<b>x</b>"}}, true)
	body := readAll(t, resp)
	if !strings.Contains(body, `<mark class="ev"`) || !strings.Contains(body, "&lt;b&gt;x&lt;/b&gt;") {
		t.Errorf("try box: %d", resp.StatusCode)
	}
	if !strings.Contains(c.getBody("/lexicons"), "hazmat_leak") {
		t.Error("lexicon page lacks a category")
	}
	// A suppressed hit says why in Chinese.
	body = readAll(t, c.postForm("/lexicons/try", url.Values{"text": {"今天上午小区开展消防演练，模拟楼道起火，居民有序疏散。"}}, true))
	if strings.Contains(body, "excluded: ") || !strings.Contains(body, "排除语境：") {
		t.Errorf("the try box does not give the suppression reason in Chinese")
	}
}

func TestWebhooksPageTestAndReplay(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	w.seed(t)
	if _, err := w.disp.ProcessDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	list := decode[struct {
		Total int               `json:"total"`
		Items []alerts.Delivery `json:"items"`
	}](t, w.apiReq("GET", "/api/v1/webhooks/deliveries?state=delivered", adminToken, ""))
	if list.Total < 2 {
		t.Fatalf("deliveries %+v", list)
	}
	id := list.Items[0].ID
	if st := w.apiReq("POST", "/api/v1/webhooks/deliveries/"+id+"/replay", adminToken, "").StatusCode; st != http.StatusAccepted {
		t.Fatalf("replay: %d", st)
	}
	if st := w.apiReq("POST", "/api/v1/webhooks/deliveries/"+id+"/replay", adminToken, "").StatusCode; st != http.StatusConflict {
		t.Errorf("replay of a pending delivery: %d, want 409", st)
	}
	for len(w.received) > 0 {
		<-w.received
	}
	admin := w.login("admin")
	resp := admin.postForm("/webhooks/cases/test", url.Values{}, true)
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, "HTTP 204") {
		t.Fatalf("send test: %d", resp.StatusCode)
	}
	select {
	case r := <-w.received:
		if r.Header.Get("webhook-signature") == "" {
			t.Error("test request unsigned")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("receiver got no test")
	}
	if st := w.apiReq("POST", "/api/v1/webhooks/cases/enable", adminToken, "").StatusCode; st != http.StatusOK {
		t.Errorf("enable: %d", st)
	}
	if st := w.apiReq("POST", "/api/v1/webhooks/nope/enable", adminToken, "").StatusCode; st != http.StatusNotFound {
		t.Errorf("enable unknown: %d", st)
	}
	body := admin.getBody("/webhooks?delivery=" + id)
	if !strings.Contains(body, `id="attempts"`) || strings.Contains(body, w.secret) {
		t.Error("webhooks page lacks attempts or shows the secret")
	}
	if st := w.login("ana").get("/webhooks").StatusCode; st != http.StatusForbidden {
		t.Errorf("analyst webhooks page: %d", st)
	}
}

func TestExports(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	hostile, _ := w.seed(t)
	w.leads.AddNote(context.Background(), hostile, "ana", "=HYPERLINK(\"x\")")
	resp := w.apiReq("GET", "/api/v1/export/leads?format=jsonl", adminToken, "")
	b, _ := io.ReadAll(resp.Body)
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if resp.StatusCode != http.StatusOK || len(lines) != 2 {
		t.Fatalf("jsonl: %d, %d lines", resp.StatusCode, len(lines))
	}
	var first exportedLead
	if err := json.Unmarshal(lines[0], &first); err != nil || len(first.Sources) == 0 || len(first.Audit) == 0 {
		t.Fatalf("jsonl line lacks sources or audit: %v", err)
	}
	c := w.login("viv")
	resp = c.get("/export/leads?format=csv&category=hazmat_leak")
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(readAll(t, resp), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != hostile {
		t.Fatalf("csv rows %v %v", rows, err)
	}
	// The UI's export is in the user's language: headers, level, state
	// and the audit trail's actions.
	if rows[0][0] != "编号" || rows[1][2] != "高" && rows[1][2] != "严重" && rows[1][2] != "中" || !strings.Contains(rows[1][17], "添加备注") || !strings.Contains(rows[1][17], "待研判") {
		t.Errorf("UI export not in Chinese: header %v, level %q, audit %q", rows[0], rows[1][2], rows[1][17])
	}
	// The API's export keeps the stable codes for programs.
	resp = w.apiReq("GET", "/api/v1/export/leads?format=csv&category=hazmat_leak", adminToken, "")
	rows, _ = csv.NewReader(strings.NewReader(strings.TrimPrefix(readAll(t, resp), "\ufeff"))).ReadAll()
	if len(rows) != 2 || rows[0][0] != "id" || rows[0][17] != "audit" || !strings.Contains(rows[1][17], "note") {
		t.Errorf("API export: header %v, audit %q", rows[0], rows[len(rows)-1][17])
	}
	resp = w.apiReq("GET", "/api/v1/export/search?q="+url.QueryEscape("火灾")+"&format=csv", adminToken, "")
	rows, _ = csv.NewReader(strings.NewReader(strings.TrimPrefix(readAll(t, resp), "\ufeff"))).ReadAll()
	if len(rows) < 2 || strings.Contains(rows[1][12], "<mark>") || rows[0][0] != "id" {
		t.Fatalf("search csv %v", rows)
	}
	if st := w.apiReq("GET", "/api/v1/export/leads?format=xls", adminToken, "").StatusCode; st != http.StatusBadRequest {
		t.Errorf("bad format: %d", st)
	}
}

func TestMergeFromLeadPage(t *testing.T) {
	w := newWorld(t, Options{})
	hostile, fire := w.seed(t)
	c := w.login("ana")
	resp := c.postForm("/leads/"+hostile+"/action", url.Values{"action": {"merge"}, "merge_into": {fire}, "version": {"1"}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("merge: %d %s", resp.StatusCode, readAll(t, resp))
	}
	l, _ := w.leads.GetLead(context.Background(), hostile)
	if l.State != alerts.StateMerged || l.MergedInto != fire {
		t.Fatalf("state %s into %q", l.State, l.MergedInto)
	}
	if body := c.getBody("/leads/" + hostile); !strings.Contains(body, `href="/leads/`+fire+`"`) {
		t.Error("merged lead does not link to its target")
	}
}

func TestLexiconPrecisionFromVerdicts(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	hostile, fire := w.seed(t)
	ctx := context.Background()
	if _, err := w.leads.Transition(ctx, hostile, alerts.TransitionRequest{To: alerts.StateDismissed, Actor: "ana", Reason: "演练"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.leads.Transition(ctx, fire, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	out := decode[struct {
		Categories []struct {
			Code  string
			Rules []struct {
				Rule                        string
				Confirmed, Dismissed, Leads int
				Precision                   float64
			}
		}
	}](t, w.apiReq("GET", "/api/v1/lexicons", adminToken, ""))
	seen := map[string]float64{}
	for _, c := range out.Categories {
		for _, r := range c.Rules {
			if r.Leads > 0 {
				seen[c.Code] = r.Precision
			}
		}
	}
	if p, ok := seen["hazmat_leak"]; !ok || p != 0 {
		t.Errorf("hazmat_leak precision %v (%v), want 0 after a dismissal", p, ok)
	}
	if p, ok := seen["fire"]; !ok || p != 1 {
		t.Errorf("fire precision %v (%v), want 1 after a confirmation", p, ok)
	}
	body := w.login("viv").getBody("/lexicons")
	if !strings.Contains(body, "100%") || !strings.Contains(body, "0%") {
		t.Error("lexicon page does not show the precisions")
	}
	// Entries limited to short posts (max_field_runes) say so.
	if !strings.Contains(body, "仅当标题或正文不超过 6 字时计入") {
		t.Error("lexicon page does not show the max_field_runes limit of a default self_harm entry")
	}
}

// The remaining API routes, end to end against the real stores.
func TestAPISavedSearchesRulesDashboardWebhooks(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	w.seed(t)
	st := decode[alerts.Stats](t, w.apiReq("GET", "/api/v1/dashboard", adminToken, ""))
	if st.Open != 2 || st.ByState["new"] != 2 {
		t.Errorf("dashboard stats %+v", st)
	}
	// The environment's admin token is no stored user: it owns no searches.
	resp := w.apiReq("POST", "/api/v1/saved-searches", adminToken, `{"name":"燃气","params":"q=燃气&level=medium"}`)
	if e := decode[apiError](t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "user's API token") {
		t.Fatalf("save with the environment token: %d %q", resp.StatusCode, e.Error)
	}
	tok, _ := w.srv.store.CreateToken(context.Background(), "admin", "t")
	if st := w.apiReq("POST", "/api/v1/saved-searches", tok, `{"name":"bad","params":"since=yesterday"}`).StatusCode; st != http.StatusBadRequest {
		t.Errorf("bad saved search: %d", st)
	}
	ss := decode[SavedSearch](t, w.apiReq("POST", "/api/v1/saved-searches", tok, `{"name":"燃气","params":"q=燃气&level=medium"}`))
	if ss.ID == 0 || decode[struct{ Total int }](t, w.apiReq("GET", "/api/v1/saved-searches", tok, "")).Total != 1 {
		t.Fatalf("saved search %+v", ss)
	}
	resp = w.apiReq("POST", "/api/v1/alert-rules", tok, fmt.Sprintf(`{"saved_search_id":%d,"min_level":"high","interval":"10m"}`, ss.ID))
	rule := decode[AlertRule](t, resp)
	if rule.ID == 0 || rule.Interval != 10*time.Minute {
		t.Fatalf("rule %+v", rule)
	}
	if st := w.apiReq("POST", "/api/v1/alert-rules", tok, fmt.Sprintf(`{"saved_search_id":%d,"min_level":"extreme","interval":"10m"}`, ss.ID)).StatusCode; st != http.StatusBadRequest {
		t.Errorf("bad level: %d", st)
	}
	if n := decode[struct{ Total int }](t, w.apiReq("GET", "/api/v1/alert-rules", tok, "")).Total; n != 1 {
		t.Errorf("%d rules", n)
	}
	if st := w.apiReq("DELETE", "/api/v1/alert-rules/"+itoa64(rule.ID), tok, "").StatusCode; st != http.StatusNoContent {
		t.Errorf("delete rule: %d", st)
	}
	if st := w.apiReq("DELETE", "/api/v1/saved-searches/"+itoa64(ss.ID), tok, "").StatusCode; st != http.StatusNoContent {
		t.Errorf("delete saved search: %d", st)
	}
	eps := decode[struct {
		Items []endpointView `json:"items"`
	}](t, w.apiReq("GET", "/api/v1/webhooks", adminToken, ""))
	if len(eps.Items) != 1 || eps.Items[0].Name != "cases" {
		t.Fatalf("endpoints %+v", eps.Items)
	}
	resp = w.apiReq("POST", "/api/v1/webhooks/cases/test", adminToken, "")
	if res := decode[alerts.TestResult](t, resp); res.Status != http.StatusNoContent {
		t.Errorf("test delivery answered %d", res.Status)
	}
	if st := w.apiReq("POST", "/api/v1/webhooks/nope/test", adminToken, "").StatusCode; st != http.StatusNotFound {
		t.Errorf("test unknown endpoint: %d", st)
	}
}

// TestLexiconPageShowsModel checks that the lexicon page names the embedded
// model with its version and per-category figures.
func TestLexiconPageShowsModel(t *testing.T) {
	w := newWorld(t, Options{})
	m := w.srv.deps.Analyzer.(modelHolder).Model()
	if m == nil {
		t.Skip("no embedded model")
	}
	body := w.login("viv").getBody("/lexicons")
	for _, want := range []string{m.Info.Version, "识别模型", "召回率"} {
		if !strings.Contains(body, want) {
			t.Errorf("lexicon page lacks %q", want)
		}
	}
	// How levels are set: learned (with the figures) or the rubric's alone.
	want := "风险级别：仅按分级规则。"
	if lm := m.Info.Levels; lm != nil && lm.Figures != nil {
		want = fmt.Sprintf("风险级别：分级规则加上从 %d 条标注级别的样本学得的判断", lm.Posts)
	}
	if !strings.Contains(body, want) {
		t.Errorf("lexicon page lacks %q", want)
	}
}

// reloadingAnalyzer counts model reloads and fails them when told to.
type reloadingAnalyzer struct {
	*nlp.Analyzer
	calls int
	err   error
}

func (r *reloadingAnalyzer) ReloadModel() (string, error) {
	r.calls++
	return "riskmine-test", r.err
}

// TestModelReloadButton: an administrator puts a new model file live from
// the lexicon page; others may not, and a failed reload says why.
func TestModelReloadButton(t *testing.T) {
	w := newWorld(t, Options{})
	ra := &reloadingAnalyzer{Analyzer: testAnalyzer(t)}
	w.srv.deps.Analyzer = ra
	if st := w.login("viv").postForm("/lexicons/model/reload", url.Values{}, true).StatusCode; st != http.StatusForbidden || ra.calls != 0 {
		t.Errorf("viewer reload: %d, %d calls", st, ra.calls)
	}
	admin := w.login("admin")
	if body := admin.getBody("/lexicons"); ra.Model() != nil && !strings.Contains(body, "/lexicons/model/reload") {
		t.Error("the lexicon page offers no reload to an administrator")
	}
	resp := admin.postForm("/lexicons/model/reload", url.Values{}, true)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || ra.calls != 1 || !strings.Contains(admin.getBody(loc), "模型已重新加载") {
		t.Errorf("admin reload: %d to %q, %d calls", resp.StatusCode, loc, ra.calls)
	}
	ra.err = errors.New("nlp.model: nlp: model site.rmm: truncated model (the running model stays)")
	resp = admin.postForm("/lexicons/model/reload", url.Values{}, true)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "truncated model") {
		t.Errorf("failed reload: %d", resp.StatusCode)
	}
}

// On an api node of a cluster (a scheduler with a job queue that does not
// crawl) "run now" queues a job, and the answers say so rather than
// "running".
func TestSourceRunOnApiNodeQueued(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	st, err := crawler.OpenStore(w.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cr, err := crawler.New(crawler.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	api, err := crawler.NewScheduler(cr, w.sched.Sources(), func(context.Context, crawler.Page) error { return nil },
		crawler.SchedulerOptions{Jobs: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Stop(context.Background()) })
	env := newTestEnv(t, Options{AdminToken: adminToken}, Deps{Leads: w.leads, Sources: api})
	resp := env.apiReq("POST", "/api/v1/sources/forum/run", adminToken, "")
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("run now on an api node: %d %s", resp.StatusCode, readAll(t, resp))
	}
	got := decode[map[string]string](t, resp)
	if got["state"] != "queued" || got["source"] != "forum" || got["message"] == "" {
		t.Fatalf("answer %v; want state queued with a message", got)
	}
	jobs, err := api.Jobs(context.Background(), "forum", 0)
	if err != nil || len(jobs) != 1 || jobs[0].State != crawler.JobQueued || jobs[0].Reason != crawler.JobManual {
		t.Fatalf("jobs %+v, %v; want one manual job queued", jobs, err)
	}
	if len(api.Running()) != 0 {
		t.Fatalf("the api node runs %v itself", api.Running())
	}
	form := env.login("ana").postForm("/sources/forum/run", url.Values{}, true)
	if form.StatusCode != http.StatusSeeOther || !strings.Contains(form.Header.Get("Location"), "ok=run_queued") {
		t.Fatalf("the form's answer: %d to %q; want a redirect saying queued", form.StatusCode, form.Header.Get("Location"))
	}
}
