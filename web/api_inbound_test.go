package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/alerts"
)

const platformSecret = "whsec_cGxhdGZvcm0tc2VjcmV0LWtleS0xMjM0NQ=="

// inboundReq POSTs body to the inbound API of platform, signed with secret
// at time at under webhook-id id.
func (w *world) inboundReq(t *testing.T, platform, secret, id string, at time.Time, body string) *http.Response {
	t.Helper()
	key, err := alerts.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", w.http.URL+"/api/v1/inbound/"+platform, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", alerts.Sign(key, id, at.Unix(), []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func inboundBody(lead, state, caseNo string) string {
	return `{"type":"case.updated","data":{"lead_id":"` + lead + `","case_number":"` + caseNo + `","state":"` + state + `","unit":"马尾区消防救援大队","note":"received"}}`
}

// TestInboundCaseUpdate: a signed request moves the lead with the platform
// as the actor and records the case number; a replay answers the same
// without acting; wrong signatures, stale timestamps, unknown platforms,
// illegal moves and oversized bodies are refused.
func TestInboundCaseUpdate(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	_, fire := w.seed(t)
	w.srv.deps.Platforms = map[string]string{"cases": platformSecret}
	ctx := context.Background()
	if _, err := w.leads.Transition(ctx, fire, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	now := w.srv.now()
	body := inboundBody(fire, "dispatched", "C-2026-0017")
	r := w.inboundReq(t, "cases", platformSecret, "msg_1", now, body)
	first, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", r.StatusCode, first)
	}
	var got alerts.Lead
	if err := json.Unmarshal(first, &got); err != nil || got.State != alerts.StateDispatched || got.CaseNumber != "C-2026-0017" {
		t.Fatalf("answer %s (%v)", first, err)
	}
	audit, err := w.leads.Audit(ctx, fire)
	if err != nil {
		t.Fatal(err)
	}
	if last := audit[len(audit)-1]; last.Actor != "platform:cases" {
		t.Fatalf("last audit entry %+v, want actor platform:cases", last)
	}
	before := got.Version
	if page := readAll(t, w.login("ana").get("/leads/"+fire)); !strings.Contains(page, "C-2026-0017") {
		t.Fatal("the lead page does not show the case number")
	}
	if csv := readAll(t, w.apiReq("GET", "/api/v1/export/leads", adminToken, "")); !strings.Contains(csv, "C-2026-0017") {
		t.Fatal("the lead export does not carry the case number")
	}

	// Replay: the same answer, no second change.
	r = w.inboundReq(t, "cases", platformSecret, "msg_1", now, body)
	again, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || string(again) != string(first) {
		t.Fatalf("replay %d %s, want 200 %s", r.StatusCode, again, first)
	}
	if l, _ := w.leads.GetLead(ctx, fire); l.Version != before {
		t.Fatalf("replay changed the lead: version %d → %d", before, l.Version)
	}

	refused := []struct {
		name   string
		do     func() *http.Response
		status int
	}{
		{"wrong secret", func() *http.Response {
			return w.inboundReq(t, "cases", "whsec_d3JvbmctZnJvbS10aGUtc3RhcnQ=", "msg_2", now, inboundBody(fire, "handled", ""))
		}, http.StatusUnauthorized},
		{"stale timestamp", func() *http.Response {
			return w.inboundReq(t, "cases", platformSecret, "msg_3", now.Add(-6*time.Minute), inboundBody(fire, "handled", ""))
		}, http.StatusUnauthorized},
		{"unknown platform", func() *http.Response {
			return w.inboundReq(t, "nobody", platformSecret, "msg_4", now, inboundBody(fire, "handled", ""))
		}, http.StatusNotFound},
		{"illegal transition", func() *http.Response {
			return w.inboundReq(t, "cases", platformSecret, "msg_5", now, inboundBody(fire, "dispatched", ""))
		}, http.StatusConflict},
		{"state not a platform's", func() *http.Response {
			return w.inboundReq(t, "cases", platformSecret, "msg_6", now, inboundBody(fire, "dismissed", ""))
		}, http.StatusBadRequest},
		{"body over the cap", func() *http.Response {
			return w.inboundReq(t, "cases", platformSecret, "msg_7", now, `{"type":"case.updated","data":{"note":"`+strings.Repeat("x", maxInboundBytes)+`"}}`)
		}, http.StatusRequestEntityTooLarge},
	}
	for _, c := range refused {
		r := c.do()
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != c.status {
			t.Errorf("%s: status %d (%s), want %d", c.name, r.StatusCode, b, c.status)
		}
	}
	if l, _ := w.leads.GetLead(ctx, fire); l.State != alerts.StateDispatched || l.Version != before {
		t.Fatalf("a refused request changed the lead: %s v%d", l.State, l.Version)
	}
}

// TestInboundConcurrentDeliveries: a platform that sends the same event
// several times at once has it acted on once; the other deliveries are
// told to retry or get the first answer.
func TestInboundConcurrentDeliveries(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	_, fire := w.seed(t)
	w.srv.deps.Platforms = map[string]string{"cases": platformSecret}
	ctx := context.Background()
	if _, err := w.leads.Transition(ctx, fire, alerts.TransitionRequest{To: alerts.StateConfirmed, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	now := w.srv.now()
	body := inboundBody(fire, "dispatched", "C-2026-0042")
	type answer struct {
		status   int
		replayed bool
		body     string
	}
	const deliveries = 16
	answers := make(chan answer, deliveries)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range deliveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := w.inboundReq(t, "cases", platformSecret, "msg_same", now, body)
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			answers <- answer{r.StatusCode, r.Header.Get("Idempotent-Replayed") == "true", string(b)}
		}()
	}
	close(start)
	wg.Wait()
	close(answers)
	acted := 0
	for a := range answers {
		switch {
		case a.status == http.StatusOK && !a.replayed:
			acted++
		case a.status == http.StatusOK && a.replayed:
		case a.status == http.StatusConflict && strings.Contains(a.body, "being processed"):
			// Told to retry, not refused as a second move.
		default:
			t.Errorf("a delivery got %d (replayed %v): %s", a.status, a.replayed, a.body)
		}
	}
	if acted != 1 {
		t.Fatalf("%d deliveries acted, want 1", acted)
	}
	audit, err := w.leads.Audit(ctx, fire)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range audit {
		if e.Actor == "platform:cases" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d audit entries by the platform, want 1", n)
	}
	r := w.inboundReq(t, "cases", platformSecret, "msg_same", now, body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("a later delivery got %d (replayed %q)", r.StatusCode, r.Header.Get("Idempotent-Replayed"))
	}
}
