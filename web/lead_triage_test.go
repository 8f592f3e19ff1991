package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

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
