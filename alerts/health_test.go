package alerts

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

func healthEvent(failing bool) SourceHealthEvent {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	return SourceHealthEvent{Source: "city-forum", Site: "城市论坛", Problem: HealthSelectors, Failing: failing,
		Since: at.Add(-time.Hour), At: at, Runs: 2, ListPages: 1, EmptyLists: 1}
}

// TestSourceHealthChannels queues a source health change and sends it to
// a signed DingTalk robot, a WeCom robot, an SMTP server and a standard
// webhook on loopback, all opted in; an endpoint that did not opt in gets
// nothing, nor does a thehive one.
func TestSourceHealthChannels(t *testing.T) {
	clock := &fakeClock{t: time.Now()} // DingTalk checks the timestamp
	ding := newRobot(t, FormatDingTalk, dingSecret)
	wecom := newRobot(t, FormatWeCom, "")
	smtp, pool := newSMTPServer(t, true, "rm", "s3cret")
	var mu sync.Mutex
	var std []*http.Request
	var stdBodies [][]byte
	stdSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		std, stdBodies = append(std, r), append(stdBodies, b)
		mu.Unlock()
	}))
	t.Cleanup(stdSrv.Close)

	dep := ding.endpoint("ding", dingSecret)
	wep := wecom.endpoint("wecom", "")
	mep := emailEndpoint(smtp, "rm", "s3cret", "")
	sep := Endpoint{Name: "std", URL: stdSrv.URL, Format: FormatStandard, Secret: testSecret, AllowPrivate: true, Timeout: 2 * time.Second}
	hive := Endpoint{Name: "hive", URL: stdSrv.URL + "/hive", Format: FormatTheHive, Secret: testSecret, AllowPrivate: true, SourceHealth: true}
	leadsOnly := Endpoint{Name: "leads-only", URL: stdSrv.URL + "/leads", Format: FormatStandard, Secret: testSecret, AllowPrivate: true}
	eps := []Endpoint{dep, wep, mep, sep, hive, leadsOnly}
	for i := range 4 {
		eps[i].SourceHealth = true
	}
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: eps})
	d := emailDispatcher(t, s, clock, pool, eps...)

	n, err := s.NotifySourceHealth(t.Context(), healthEvent(true))
	if err != nil || n != 4 {
		t.Fatalf("queued %d (%v), want 4: the opted-in channels but not thehive", n, err)
	}
	if _, err := s.NotifySourceHealth(t.Context(), SourceHealthEvent{Source: "x", Problem: "gremlins"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown problem: %v", err)
	}
	process(t, d)
	ds, _, err := s.Deliveries(t.Context(), DeliveryFilter{})
	if err != nil || len(ds) != 4 {
		t.Fatalf("deliveries %d %v", len(ds), err)
	}
	for _, del := range ds {
		if del.State != DeliveryDelivered || del.Event != EventSourceHealth {
			t.Errorf("delivery %s", show(del))
		}
	}

	for _, rb := range []*robot{ding, wecom} {
		msgs := rb.messages()
		if len(msgs) != 1 {
			t.Fatalf("%s robot got %d messages", rb.format, len(msgs))
		}
		for _, want := range []string{"采集源异常：city-forum · 列表选择器失效", "**采集源**：city-forum（城市论坛）",
			"list.items 选择器没有匹配到任何条目", "**开始**：2026-03-02 16:00:00 +08:00", "[查看采集源](" + testPublicURL + "/sources)"} {
			if !strings.Contains(msgs[0].text, want) {
				t.Errorf("%s message lacks %q:\n%s", rb.format, want, msgs[0].text)
			}
		}
	}
	if m := ding.messages()[0]; !strings.HasPrefix(m.title, "【采集源】") {
		t.Errorf("dingtalk title %q", m.title)
	}

	ss := smtp.all()
	if len(ss) != 1 {
		t.Fatalf("%d SMTP sessions", len(ss))
	}
	msg, err := mail.ReadMessage(strings.NewReader(ss[0].data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	body, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
	if !strings.Contains(subject, "采集源异常：city-forum") || !strings.Contains(string(body), "查看采集源："+testPublicURL+"/sources") {
		t.Errorf("email subject %q body:\n%s", subject, body)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(std) != 1 || std[0].URL.Path != "/" {
		t.Fatalf("standard receivers got %d requests", len(std))
	}
	if err := checkSignature(testSecret, std[0].Header, stdBodies[0]); err != nil {
		t.Errorf("standard webhook signature: %v", err)
	}
	var b struct {
		Type string            `json:"type"`
		Data SourceHealthEvent `json:"data"`
	}
	if err := json.Unmarshal(stdBodies[0], &b); err != nil || b.Type != SourceHealthType || b.Data.Source != "city-forum" || !b.Data.Failing {
		t.Errorf("standard body %s (%v)", stdBodies[0], err)
	}
}

// TestSourceHealthRecoveryAndDigest: a recovery reads as one; over the
// channel's rate, health changes ride in the digest with the leads.
func TestSourceHealthRecoveryAndDigest(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	wecom := newRobot(t, FormatWeCom, "")
	ep := wecom.endpoint("wecom", "")
	ep.SourceHealth, ep.RateLimit = true, 2
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d := notifyDispatcher(t, s, clock, ep)

	if _, err := s.NotifySourceHealth(t.Context(), healthEvent(false)); err != nil {
		t.Fatal(err)
	}
	process(t, d)
	msgs := wecom.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].text, "采集源已恢复：city-forum") || !strings.Contains(msgs[0].text, "共 2 次采集") {
		t.Fatalf("recovery messages %+v", msgs)
	}

	// The next minute: three leads and two health changes, room for two.
	clock.Advance(2 * time.Minute)
	fileLeads(t, s, 3)
	ev := healthEvent(true)
	ev.Source, ev.Problem = "river-news", HealthRobots
	s.NotifySourceHealth(t.Context(), ev)
	ev.Source, ev.Problem = "gov-notices", HealthNoItems
	s.NotifySourceHealth(t.Context(), ev)
	process(t, d)
	msgs = wecom.messages()[1:]
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want one lead and a digest", len(msgs))
	}
	// The two go out side by side, so either may arrive first.
	digest := msgs[1].text
	if strings.Contains(msgs[0].text, "另有") {
		digest = msgs[0].text
	}
	for _, want := range []string{"另有 2 条线索、2 条采集源状态", "采集源异常：river-news · robots.txt 禁止抓取", "采集源异常：gov-notices · 连续多次未采集到内容"} {
		if !strings.Contains(digest, want) {
			t.Errorf("digest lacks %q:\n%s", want, digest)
		}
	}
}
