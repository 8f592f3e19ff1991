package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"riskmine/alerts"
	"riskmine/config"
	"riskmine/service"
)

// TestWebhooksTestNotificationChannels wires dingtalk, wecom and email
// webhooks from a config file: `webhooks test` posts a signed test message
// to the DingTalk robot, linked under web.public_url, its time in the
// configured zone; a robot that answers
// an errcode fails the command with its errmsg; the email settings reach
// the endpoint.
func TestWebhooksTestNotificationChannels(t *testing.T) {
	const secret = "SECcli0123456789abcdef"
	var mu sync.Mutex
	var texts []string
	errcode := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b struct {
			MsgType  string `json:"msgtype"`
			Markdown struct {
				Title, Text, Content string
			} `json:"markdown"`
		}
		json.Unmarshal(body, &b)
		q := r.URL.Query()
		if strings.HasPrefix(r.URL.Path, "/robot") {
			var ms int64
			fmt.Sscan(q.Get("timestamp"), &ms)
			if q.Get("sign") != alerts.DingTalkSign(secret, ms) {
				io.WriteString(w, `{"errcode":310000,"errmsg":"sign not match"}`)
				return
			}
		}
		mu.Lock()
		texts = append(texts, b.Markdown.Text+b.Markdown.Content)
		code := errcode
		mu.Unlock()
		fmt.Fprintf(w, `{"errcode":%d,"errmsg":"%s"}`, code, map[int]string{0: "ok", 93000: "invalid webhook url"}[code])
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "riskmine.yaml")
	yaml := "data_dir: " + filepath.Join(dir, "data") + "\ntimezone: Asia/Tokyo\nweb:\n  public_url: https://riskmine.example.org\nalerts:\n  webhooks:\n" +
		"    - name: ding\n      format: dingtalk\n      url: " + srv.URL + "/robot/send?access_token=t\n      secret: " + secret + "\n      allow_private: true\n" +
		"    - name: wx\n      format: wecom\n      url: " + srv.URL + "/cgi-bin/webhook/send?key=k\n      allow_private: true\n      rate_limit: 5\n" +
		"    - name: mail\n      format: email\n      smtp: 127.0.0.1:2525\n      from: riskmine@example.org\n      to: [duty@example.org]\n      allow_private: true\n      starttls: off\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := []string{"--config", cfgPath}
	code, out, errs := runAlertsCmd(t, append([]string{"webhooks", "test", "ding"}, c...)...)
	if code != 0 || !strings.Contains(out, "ding: HTTP 200") {
		t.Fatalf("webhooks test ding: %d %q %q", code, out, errs)
	}
	mu.Lock()
	if len(texts) != 1 || !strings.Contains(texts[0], "测试消息") || !strings.Contains(texts[0], "(https://riskmine.example.org/leads/test_") || !strings.Contains(texts[0], " +09:00") {
		t.Fatalf("robot got %q", texts)
	}
	errcode = 93000
	mu.Unlock()
	code, _, errs = runAlertsCmd(t, append([]string{"webhooks", "test", "wx"}, c...)...)
	if code != 1 || !strings.Contains(errs, "errcode 93000: invalid webhook url") {
		t.Fatalf("webhooks test wx with errcode 93000: %d %q", code, errs)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	eps := service.WebhookEndpoints(cfg)
	if len(eps) != 3 || eps[1].RateLimit != 5 || eps[0].Email != nil {
		t.Fatalf("endpoints %+v", eps)
	}
	if e := eps[2].Email; eps[2].URL != "smtp://127.0.0.1:2525" || e == nil || e.Addr != "127.0.0.1:2525" || e.From != "riskmine@example.org" || len(e.To) != 1 || e.StartTLS != alerts.StartTLSOff {
		t.Fatalf("email settings %+v", e)
	}
}
