package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
)

// The assignee is picked from the active analysts and admins; the form,
// the API and the bulk form refuse anyone else with a 400 naming the field.
func TestAssigneeMustBeActiveUser(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	hostile, fire := w.seed(t)
	ctx := context.Background()
	if _, err := w.srv.store.AddUser(ctx, "gone", testPassword, RoleAnalyst); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.store.SetDisabled(ctx, "gone", true); err != nil {
		t.Fatal(err)
	}
	c := w.login("ana")
	body := c.getBody("/leads/" + fire)
	for _, want := range []string{`<option value="ana" >ana</option>`, `<option value="admin" >admin</option>`} {
		if !strings.Contains(body, want) {
			t.Errorf("lead page lacks assignee option %s", want)
		}
	}
	for _, absent := range []string{`value="viv"`, `value="gone"`} {
		if strings.Contains(body, absent) {
			t.Errorf("lead page offers %s (a viewer or a disabled user)", absent)
		}
	}
	if q := c.getBody("/leads"); !strings.Contains(q, `<select name="assignee" id="bulk-assignee">`) || !strings.Contains(q, `<option value="ana" >ana</option>`) {
		t.Error("bulk form has no assignee select")
	}
	for _, name := range []string{"ghost", "gone", "viv"} {
		resp := c.postForm("/leads/"+fire+"/action", url.Values{"action": {"assign"}, "assignee": {name}, "version": {"1"}}, true)
		if b := readAll(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, "assignee") {
			t.Errorf("form assign to %s: %d, want 400 naming the assignee", name, resp.StatusCode)
		}
	}
	resp := c.postForm("/leads/"+fire+"/action", url.Values{"action": {"assign"}, "assignee": {"ana"}, "version": {"1"}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form assign to ana: %d %s", resp.StatusCode, readAll(t, resp))
	}
	if l, _ := w.leads.GetLead(ctx, fire); l.Assignee != "ana" {
		t.Fatalf("assignee %q", l.Assignee)
	}
	if body := c.getBody("/leads/" + fire); !strings.Contains(body, `<option value="ana" selected>ana</option>`) {
		t.Error("the current assignee is not selected")
	}

	resp = w.apiReq("POST", "/api/v1/leads/"+hostile+"/transition", adminToken, `{"action":"assign","assignee":"ghost","version":1}`)
	if b := readAll(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, "assignee") || !strings.Contains(b, "ghost") {
		t.Errorf("API assign to ghost: %d %s", resp.StatusCode, b)
	}
	// Full-width letters are the same user, stored under the plain name.
	resp = w.apiReq("POST", "/api/v1/leads/"+hostile+"/transition", adminToken, `{"action":"assign","assignee":"ａｎａ","version":1}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("API assign to ａｎａ: %d %s", resp.StatusCode, readAll(t, resp))
	}
	if l, _ := w.leads.GetLead(ctx, hostile); l.Assignee != "ana" {
		t.Errorf("assignee %q, want ana", l.Assignee)
	}
	resp = w.apiReq("POST", "/api/v1/leads/bulk", adminToken, `{"leads":[{"id":"`+hostile+`","version":2}],"action":"assign","assignee":"ghost"}`)
	bulk := decode[struct{ Results []bulkResult }](t, resp)
	if len(bulk.Results) != 1 || bulk.Results[0].OK || !strings.Contains(bulk.Results[0].Error, "assignee") {
		t.Errorf("bulk assign to ghost: %+v", bulk.Results)
	}
	if l, _ := w.leads.GetLead(ctx, hostile); l.Assignee != "ana" || l.State != alerts.StateNew {
		t.Errorf("refused bulk assign changed the lead: %+v", l)
	}
}

// A dismissed or closed lead is reopened from its page or the API with a
// note; the note and the actor are in the timeline.
func TestReopenFromPageAndAPI(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	hostile, fire := w.seed(t)
	ctx := context.Background()
	c := w.login("ana")
	act := func(id string, v url.Values) *http.Response { return c.postForm("/leads/"+id+"/action", v, true) }
	if resp := act(hostile, url.Values{"action": {"dismiss"}, "reason": {"演练"}, "version": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dismiss: %d", resp.StatusCode)
	}
	body := c.getBody("/leads/" + hostile)
	if !strings.Contains(body, `id="act-reopen"`) || !strings.Contains(body, `<textarea name="note" required`) {
		t.Fatal("a dismissed lead's page offers no reopen with a required note")
	}
	if strings.Contains(c.getBody("/leads/"+fire), `id="act-reopen"`) {
		t.Error("an open lead offers reopen")
	}
	resp := act(hostile, url.Values{"action": {"reopen"}, "version": {"2"}})
	if b := readAll(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, "note") {
		t.Fatalf("reopen without a note: %d, want 400 naming the note", resp.StatusCode)
	}
	resp = act(hostile, url.Values{"action": {"reopen"}, "note": {"群众再次反映"}, "version": {"2"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "ok=lead_reopen") {
		t.Fatalf("reopen: %d %s", resp.StatusCode, readAll(t, resp))
	}
	l, _ := w.leads.GetLead(ctx, hostile)
	if l.State != alerts.StateNew || l.Resolution != "" {
		t.Fatalf("reopened lead: state %s resolution %q", l.State, l.Resolution)
	}
	body = c.getBody("/leads/" + hostile + "?ok=lead_reopen")
	if !strings.Contains(body, "已重新打开") || !strings.Contains(body, "群众再次反映") || !strings.Contains(body, "<b>ana</b>") {
		t.Error("timeline lacks the reopen note or its actor")
	}
	// An open lead cannot be reopened: 409 from the API.
	tr := func(id, body string) *http.Response {
		return w.apiReq("POST", "/api/v1/leads/"+id+"/transition", adminToken, body)
	}
	if st := tr(fire, `{"action":"reopen","note":"x","version":1}`).StatusCode; st != http.StatusConflict {
		t.Errorf("API reopen of an open lead: %d, want 409", st)
	}
	for i, step := range []string{`{"action":"confirm"`, `{"action":"dispatch","unit":"消防"`, `{"action":"handled"`, `{"action":"verify"`, `{"action":"close"`} {
		if resp := tr(fire, step+`,"version":`+itoa(i+1)+`}`); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", step, resp.StatusCode, readAll(t, resp))
		}
	}
	if st := tr(fire, `{"action":"reopen","version":6}`).StatusCode; st != http.StatusBadRequest {
		t.Errorf("API reopen without a note: %d, want 400", st)
	}
	if st := tr(fire, `{"action":"reopen","note":"复燃","version":5}`).StatusCode; st != http.StatusConflict {
		t.Errorf("API reopen with a stale version: %d, want 409", st)
	}
	resp = tr(fire, `{"action":"reopen","note":"复燃","version":6}`)
	got := decode[alerts.Lead](t, resp)
	if got.State != alerts.StateConfirmed || got.ClosedAt != nil {
		t.Fatalf("API reopen of a closed lead: state %s closed %v", got.State, got.ClosedAt)
	}
}

// Every action form carries an optional note, kept in the timeline.
func TestActionNoteInTimeline(t *testing.T) {
	w := newWorld(t, Options{})
	_, fire := w.seed(t)
	c := w.login("ana")
	body := c.getBody("/leads/" + fire)
	for _, form := range []string{"act-confirm", "act-dismiss", "act-merge"} {
		i := strings.Index(body, `class="`+form+`"`)
		j := strings.Index(body[max(i, 0):], "</form>")
		if i < 0 || j < 0 || !strings.Contains(body[i:i+j], `name="note"`) {
			t.Errorf("form %s has no note field", form)
		}
	}
	resp := c.postForm("/leads/"+fire+"/action", url.Values{"action": {"confirm"}, "note": {"已电话核实，情况属实"}, "version": {"1"}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	body = c.getBody("/leads/" + fire)
	tl := body[strings.Index(body, `id="timeline"`):]
	if !strings.Contains(tl, "已电话核实，情况属实") {
		t.Error("the confirm note is not in the timeline")
	}
	for _, form := range []string{"act-dispatch", "act-dismiss"} {
		i := strings.Index(body, `class="`+form+`"`)
		j := strings.Index(body[max(i, 0):], "</form>")
		if i < 0 || j < 0 || !strings.Contains(body[i:i+j], `name="note"`) {
			t.Errorf("form %s has no note field", form)
		}
	}
}

// A bulk action names the cause per lead in the user's language.
func TestBulkErrorsNameTheCause(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	hostile, fire := w.seed(t)
	ctx := context.Background()
	c := w.login("ana")
	// Dismiss without a reason: every lead says the reason is missing.
	resp := c.postForm("/leads/bulk", url.Values{"id": {hostile + ":1", fire + ":1"}, "action": {"dismiss"}, "back": {"/leads?state=new"}}, true)
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || strings.Count(body, `data-code="reason_required">驳回需要填写原因`) != 2 {
		t.Fatalf("bulk dismiss without reason: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, "0 条已完成，2 条未执行") || !strings.Contains(body, `name="back" value="/leads?state=new"`) {
		t.Error("bulk report lacks the counts or the queue lost its filters")
	}
	// Confirm the fire lead, then a bulk confirm meets a stale version,
	// an illegal move and a missing lead, while the hostile lead goes through.
	if _, err := w.leads.Transition(ctx, fire, alerts.TransitionRequest{To: alerts.StateConfirmed, Version: 1}); err != nil {
		t.Fatal(err)
	}
	resp = c.postForm("/leads/bulk", url.Values{"id": {hostile + ":1", fire + ":1", "missing:1"}, "action": {"confirm"}, "back": {"/leads"}}, true)
	body = readAll(t, resp)
	for _, want := range []string{`data-code="conflict">已被他人修改`, `data-code="not_found">线索不存在`, "1 条已完成，2 条未执行"} {
		if !strings.Contains(body, want) {
			t.Errorf("bulk confirm report lacks %q", want)
		}
	}
	resp = c.postForm("/leads/bulk", url.Values{"id": {fire + ":2"}, "action": {"confirm"}, "back": {"/leads"}}, true)
	if body = readAll(t, resp); !strings.Contains(body, `data-code="illegal_transition">当前状态「已立案」不允许此操作`) {
		t.Errorf("illegal move not named with its state:\n%s", body)
	}
	// In English, and through the API with a code per lead.
	req, _ := http.NewRequest("POST", w.http.URL+"/api/v1/leads/bulk", strings.NewReader(`{"leads":[{"id":"`+hostile+`","version":2},{"id":"`+fire+`","version":2}],"action":"dismiss"}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept-Language", "en")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	bulk := decode[struct{ Results []bulkResult }](t, r2)
	if len(bulk.Results) != 2 || bulk.Results[0].Code != "reason_required" || bulk.Results[0].Message != "dismissing needs a reason" ||
		bulk.Results[1].Code != "reason_required" {
		t.Errorf("API bulk dismiss without reason: %+v", bulk.Results)
	}
	resp = w.apiReq("POST", "/api/v1/leads/bulk", adminToken, `{"leads":[{"id":"`+fire+`","version":1}],"action":"confirm"}`)
	bulk = decode[struct{ Results []bulkResult }](t, resp)
	if len(bulk.Results) != 1 || bulk.Results[0].Code != "conflict" {
		t.Errorf("API bulk stale: %+v", bulk.Results)
	}
}

// fileSimilarPair files two leads whose simhashes are too far apart to
// join and close enough to be listed as similar.
func fileSimilarPair(t *testing.T, w *world) (a, b string) {
	t.Helper()
	file := func(url string, sim uint64, term string) string {
		res, err := w.leads.File(context.Background(), alerts.Candidate{URL: url, Site: "example.test", Title: "仓库起火 " + url,
			Snippet: "仓库起火，浓烟很大", Level: "high", Score: 7, Categories: []alerts.CategoryScore{{Code: "fire", Score: 7}},
			SimHash: sim, Terms: []string{term}, SeenAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return res.LeadID
	}
	return file("https://a.test/1", 0xF0F0F0F0F0F0F0F0, "仓库"), file("https://b.test/1", 0xF0F0F0F0F0F0F0F0^0b11111, "别的")
}

// The similar leads each offer a merge button: no id is typed.
func TestMergeByPickingASimilarLead(t *testing.T) {
	w := newWorld(t, Options{})
	a, b := fileSimilarPair(t, w)
	c := w.login("ana")
	body := c.getBody("/leads/" + a)
	if !strings.Contains(body, `name="merge_into" value="`+b+`"`) || !strings.Contains(body, `id="merge-into-`+b+`"`) {
		t.Fatalf("similar lead %s has no merge button", b)
	}
	if strings.Contains(w.login("viv").getBody("/leads/"+a), `id="merge-into-`) {
		t.Error("a viewer sees merge buttons")
	}
	resp := c.postForm("/leads/"+a+"/action", url.Values{"action": {"merge"}, "merge_into": {b}, "version": {"1"}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("merge: %d %s", resp.StatusCode, readAll(t, resp))
	}
	la, _ := w.leads.GetLead(context.Background(), a)
	lb, _ := w.leads.GetLead(context.Background(), b)
	if la.State != alerts.StateMerged || la.MergedInto != b || lb.SourceCount != 2 {
		t.Fatalf("after merge: %s into %q, target has %d sources", la.State, la.MergedInto, lb.SourceCount)
	}
	// The merged lead offers no more merges; its target offers none into
	// the merged (closed) lead.
	if body := c.getBody("/leads/" + a); strings.Contains(body, `id="merge-into-`) {
		t.Error("a merged lead still offers merge buttons")
	}
	if body := c.getBody("/leads/" + b); strings.Contains(body, `id="merge-into-`+a+`"`) {
		t.Error("the target offers a merge into the merged lead")
	}
}
