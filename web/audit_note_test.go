package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
)

// A transition's reason, unit and merge target are stored beside the note
// and shown under labels in the user's language on the lead page, in the
// UI's CSV export and in the evidence report; the API and its export carry
// them as fields of their own.
func TestAuditFieldsShownInTheUsersLanguage(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	hostile, fire := w.seed(t)
	ctx := context.Background()
	steps := []struct {
		id  string
		req alerts.TransitionRequest
	}{
		{fire, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana", Version: 1}},
		{fire, alerts.TransitionRequest{To: alerts.StateDispatched, Actor: "ana", Note: "速去现场", Unit: "马尾消防站", Version: 2}},
		{hostile, alerts.TransitionRequest{To: alerts.StateDismissed, Actor: "ana", Note: "核实", Reason: "演练", Version: 1}},
	}
	for _, s := range steps {
		if _, err := w.leads.Transition(ctx, s.id, s.req); err != nil {
			t.Fatal(err)
		}
	}
	c := w.login("ana")
	if body := c.getBody("/leads/" + fire); !strings.Contains(body, "速去现场（处置单位：马尾消防站）") || strings.Contains(body, "(unit:") {
		t.Errorf("the Chinese timeline does not label the unit")
	}
	if body := c.getBody("/leads/" + hostile); !strings.Contains(body, "核实（原因：演练）") {
		t.Errorf("the Chinese timeline does not label the reason")
	}
	c.lang = "en"
	if !strings.Contains(c.getBody("/leads/"+fire), "速去现场 (unit: 马尾消防站)") {
		t.Errorf("the English timeline does not label the unit")
	}
	c.lang = ""
	csv := readAll(t, c.get("/export/leads?format=csv"))
	for _, want := range []string{"速去现场（处置单位：马尾消防站）", "核实（原因：演练）"} {
		if !strings.Contains(csv, want) {
			t.Errorf("the UI's CSV export lacks %q", want)
		}
	}
	if strings.Contains(csv, "(unit:") || strings.Contains(csv, "(reason:") {
		t.Error("the UI's CSV export carries English labels")
	}
	api := readAll(t, w.apiReq("GET", "/api/v1/export/leads?format=csv", adminToken, ""))
	if !strings.Contains(api, "速去现场 unit=马尾消防站") || !strings.Contains(api, "核实 reason=演练") {
		t.Errorf("the API's CSV export lacks the coded fields")
	}
	var detail struct {
		Audit []alerts.AuditEntry `json:"audit"`
	}
	resp := w.apiReq("GET", "/api/v1/leads/"+fire, adminToken, "")
	if err := json.NewDecoder(resp.Body).Decode(&detail); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, a := range detail.Audit {
		if a.To == alerts.StateDispatched {
			found = a.Note == "速去现场" && a.Unit == "马尾消防站"
		}
	}
	if !found {
		t.Errorf("the API's audit has no dispatch with note and unit apart: %+v", detail.Audit)
	}
	l, err := w.leads.GetLead(ctx, hostile)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := w.leads.Audit(ctx, hostile)
	if err != nil {
		t.Fatal(err)
	}
	report, err := EvidenceReport(l, audit, nil, time.UTC, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "核实 （原因 reason：演练）") {
		t.Error("the evidence report does not show the reason")
	}
}
