package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/service"
)

const cliTestSecret = "whsec_dGVzdC1zZWNyZXQtZm9yLWNsaQ=="

func runAlertsCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb}, args)
	return code, out.String(), errb.String()
}

func TestLeadsWebhooksAndLexiconStatsCommands(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := alerts.Verify(cliTestSecret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body, r.Header.Get("webhook-signature"), time.Now(), time.Minute); err != nil {
			t.Errorf("receiver: %v", err)
		}
		mu.Lock()
		got = append(got, r.Header.Get("webhook-id"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, "received")
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	yaml := "data_dir: " + filepath.Join(dir, "data") + "\nalerts:\n  webhooks:\n    - name: case\n      url: " + srv.URL + "/hook\n      secret: " + cliTestSecret + "\n      allow_private: true\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		t.Fatal(err)
	}
	st, err := alerts.OpenSQLite(filepath.Join(cfg.DataDir, "riskmine.db"), service.AlertsOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, url := range []string{"https://a.test/1", "https://b.test/2"} {
		res, err := st.File(context.Background(), alerts.Candidate{
			URL: url, Title: "仓库起火", Snippet: "马尾区一仓库起火", Level: "high", Score: 7,
			Categories:    []alerts.CategoryScore{{Code: "fire", Score: 7}},
			LocationCodes: []string{"350105"}, LocationNames: []string{"福建省/福州市/马尾区"},
			SimHash:  uint64(i+1) * 0x1111111111111111,
			Evidence: []alerts.Evidence{{Rule: "fire/warehouse", Category: "fire", Field: "title", Text: "起火", Start: 2, End: 4, Weight: 3}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.LeadID)
	}
	st.Close()
	c := []string{"--config", cfgPath}

	code, out, errs := runAlertsCmd(t, append([]string{"leads", "list", "--json"}, c...)...)
	var list struct {
		Total int           `json:"total"`
		Leads []alerts.Lead `json:"leads"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || list.Total != 2 {
		t.Fatalf("leads list --json: %d %q %q", code, out, errs)
	}
	if code, out, _ = runAlertsCmd(t, append([]string{"leads", "list", "--state", "new", "--category", "fire"}, c...)...); code != 0 || !strings.Contains(out, "2 of 2 leads") || !strings.Contains(out, "马尾区") {
		t.Fatalf("leads list: %d %q", code, out)
	}
	if code, out, errs = runAlertsCmd(t, append([]string{"leads", "transition", ids[0], "--to", "confirmed", "--version", "1", "--actor", "li"}, c...)...); code != 0 || !strings.Contains(out, "new → confirmed (version 2)") {
		t.Fatalf("transition: %d %q %q", code, out, errs)
	}
	if code, _, errs = runAlertsCmd(t, append([]string{"leads", "transition", ids[0], "--to", "dispatched", "--unit", "u", "--version", "1"}, c...)...); code != 1 || !strings.Contains(errs, "stale") {
		t.Fatalf("stale version: %d %q", code, errs)
	}
	if code, _, errs = runAlertsCmd(t, append([]string{"leads", "transition", ids[0], "--to", "closed"}, c...)...); code != 1 || !strings.Contains(errs, "illegal transition confirmed → closed") {
		t.Fatalf("illegal transition: %d %q", code, errs)
	}
	if code, _, errs = runAlertsCmd(t, append([]string{"leads", "transition", ids[1], "--to", "dismissed"}, c...)...); code != 1 || !strings.Contains(errs, "needs a reason") {
		t.Fatalf("dismiss without reason: %d %q", code, errs)
	}
	if code, _, _ = runAlertsCmd(t, append([]string{"leads", "transition", ids[1], "--to", "dismissed", "--reason", "演练"}, c...)...); code != 0 {
		t.Fatal("dismiss failed")
	}
	if code, out, _ = runAlertsCmd(t, append([]string{"leads", "show", ids[0]}, c...)...); code != 0 || !strings.Contains(out, "Audit:") || !strings.Contains(out, "li transition new → confirmed") || !strings.Contains(out, "fire/warehouse") {
		t.Fatalf("leads show: %d %q", code, out)
	}
	if code, _, _ = runAlertsCmd(t, append([]string{"leads", "show", "nope"}, c...)...); code != 1 {
		t.Fatal("show of a missing lead succeeded")
	}
	if code, out, _ = runAlertsCmd(t, append([]string{"lexicon", "stats"}, c...)...); code != 0 || !lineHasBoth(out, "fire/warehouse", "0.50") {
		t.Fatalf("lexicon stats: %d %q", code, out)
	}
	if code, out, errs = runAlertsCmd(t, append([]string{"webhooks", "test", "case"}, c...)...); code != 0 || !strings.Contains(out, "HTTP 202") || !strings.Contains(out, "Content-Type: text/plain") || strings.Contains(out, "received") {
		t.Fatalf("webhooks test (status and headers, never the body): %d %q %q", code, out, errs)
	}
	if code, _, errs = runAlertsCmd(t, append([]string{"webhooks", "test", "nope"}, c...)...); code != 1 || !strings.Contains(errs, "no webhook named") {
		t.Fatalf("webhooks test unknown: %d %q", code, errs)
	}
	code, out, _ = runAlertsCmd(t, append([]string{"webhooks", "list", "--json"}, c...)...)
	var dl struct {
		Total      int               `json:"total"`
		Deliveries []alerts.Delivery `json:"deliveries"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &dl) != nil || dl.Total != 4 {
		t.Fatalf("webhooks list: %d %q", code, out)
	}
	// A pending delivery is not replayable; once delivered it is, and it
	// keeps its webhook-id.
	id := dl.Deliveries[0].ID
	if code, _, errs = runAlertsCmd(t, append([]string{"webhooks", "replay", id}, c...)...); code != 1 || !strings.Contains(errs, "still pending") {
		t.Fatalf("replay pending: %d %q", code, errs)
	}
	st, err = alerts.OpenSQLite(filepath.Join(cfg.DataDir, "riskmine.db"), service.AlertsOptions(cfg, nil))
	if err != nil {
		t.Fatal(err)
	}
	d, err := alerts.NewDispatcher(st, service.WebhookEndpoints(cfg), alerts.DispatcherOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := d.ProcessDue(context.Background()); err != nil || n != 4 {
		t.Fatalf("process: %d %v", n, err)
	}
	st.Close()
	if code, out, errs = runAlertsCmd(t, append([]string{"webhooks", "replay", id}, c...)...); code != 0 || !strings.Contains(out, "delivered (HTTP 202)") {
		t.Fatalf("replay: %d %q %q", code, out, errs)
	}
	mu.Lock()
	last := got[len(got)-1]
	mu.Unlock()
	if last != id {
		t.Fatalf("replay sent webhook-id %s, want %s", last, id)
	}
	if code, out, _ = runAlertsCmd(t, append([]string{"webhooks", "show", id}, c...)...); code != 0 || strings.Count(out, " delivered status 202") != 2 {
		t.Fatalf("webhooks show: %d %q", code, out)
	}
}
