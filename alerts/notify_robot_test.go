package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const dingSecret = "SEC4f1e0c7a9b2d3e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7"

// robotMsg is what a robot receiver got: the markdown and, for DingTalk,
// its title.
type robotMsg struct {
	title, text string
}

// robot is a loopback DingTalk or WeCom group robot. It checks requests as
// the platforms document them and answers their JSON: errcode 0 and "ok",
// or the errcode the test queues.
type robot struct {
	t      testing.TB
	format string
	secret string // DingTalk: the secret the robot checks against
	srv    *httptest.Server
	mu     sync.Mutex
	got    []robotMsg
	// answers are errcodes to answer, in order, before answering 0.
	answers []int
}

func newRobot(t testing.TB, format, secret string) *robot {
	rb := &robot{t: t, format: format, secret: secret}
	rb.srv = httptest.NewServer(http.HandlerFunc(rb.serve))
	t.Cleanup(rb.srv.Close)
	return rb
}

func (rb *robot) answer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"errcode":%d,"errmsg":%q}`, code, msg)
}

// checkDingTalkSign verifies timestamp and sign the way DingTalk's
// documentation describes, written here from the documentation and not
// with the package's DingTalkSign: timestamp is milliseconds within an hour
// of now; sign is the base64 of HMAC-SHA256 keyed with the secret over
// "<timestamp>\n<secret>", URL-encoded in the query.
func checkDingTalkSign(secret string, rawQuery string) error {
	// Decode the query by hand: the sign must arrive URL-encoded ('+', '/'
	// and '=' of base64 escaped), so that decoding gives the base64 back.
	var ts, sign string
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "timestamp":
			ts = v
		case "sign":
			if strings.ContainsAny(v, "+/=") {
				return fmt.Errorf("sign %q is not URL-encoded", v)
			}
			dec, err := urlDecode(v)
			if err != nil {
				return err
			}
			sign = dec
		}
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not milliseconds", ts)
	}
	if d := time.Since(time.UnixMilli(ms)); d > time.Hour || d < -time.Hour {
		return fmt.Errorf("timestamp %s is more than an hour off", ts)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, ts+"\n"+secret)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sign), []byte(want)) {
		return fmt.Errorf("sign %q does not match", sign)
	}
	return nil
}

// urlDecode undoes %XX escapes.
func urlDecode(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

func (rb *robot) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		rb.answer(w, 40008, "invalid message type")
		return
	}
	var m robotMsg
	switch rb.format {
	case FormatDingTalk:
		if r.URL.Query().Get("access_token") != "tok" {
			rb.answer(w, 300001, "token is not exist")
			return
		}
		if err := checkDingTalkSign(rb.secret, r.URL.RawQuery); err != nil {
			rb.t.Logf("dingtalk robot: %v", err)
			rb.answer(w, 310000, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]")
			return
		}
		var b struct {
			MsgType  string `json:"msgtype"`
			Markdown *struct {
				Title string `json:"title"`
				Text  string `json:"text"`
			} `json:"markdown"`
		}
		if err := json.Unmarshal(body, &b); err != nil || b.MsgType != "markdown" || b.Markdown == nil || b.Markdown.Title == "" || b.Markdown.Text == "" {
			rb.answer(w, 40035, "缺少参数 json")
			return
		}
		m = robotMsg{b.Markdown.Title, b.Markdown.Text}
	case FormatWeCom:
		if r.URL.Query().Get("key") != "k-1" {
			rb.answer(w, 93000, "invalid webhook url")
			return
		}
		var b struct {
			MsgType  string `json:"msgtype"`
			Markdown *struct {
				Content string `json:"content"`
			} `json:"markdown"`
		}
		if err := json.Unmarshal(body, &b); err != nil || b.MsgType != "markdown" || b.Markdown == nil || b.Markdown.Content == "" {
			rb.answer(w, 40008, "invalid message type")
			return
		}
		if len(b.Markdown.Content) > 4096 {
			rb.answer(w, 40058, "markdown.content exceed max length 4096")
			return
		}
		m = robotMsg{"", b.Markdown.Content}
	}
	rb.mu.Lock()
	rb.got = append(rb.got, m)
	code := 0
	if len(rb.answers) > 0 {
		code, rb.answers = rb.answers[0], rb.answers[1:]
	}
	rb.mu.Unlock()
	if code != 0 {
		rb.answer(w, code, "queued failure")
		return
	}
	rb.answer(w, 0, "ok")
}

func (rb *robot) messages() []robotMsg {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return append([]robotMsg(nil), rb.got...)
}

func (rb *robot) queue(codes ...int) {
	rb.mu.Lock()
	rb.answers = append(rb.answers, codes...)
	rb.mu.Unlock()
}

func (rb *robot) endpoint(name, secret string) Endpoint {
	ep := Endpoint{Name: name, Format: rb.format, Secret: secret, Timeout: 2 * time.Second, AllowPrivate: true,
		Events: []string{EventLeadCreated}}
	if rb.format == FormatDingTalk {
		ep.URL = rb.srv.URL + "/robot/send?access_token=tok"
	} else {
		ep.URL = rb.srv.URL + "/cgi-bin/webhook/send?key=k-1"
	}
	return ep
}

const testPublicURL = "https://riskmine.example.org"

func notifyDispatcher(t testing.TB, s Store, clock *fakeClock, eps ...Endpoint) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(s, eps, DispatcherOptions{Now: clock.Now, Rand: func() float64 { return 0.5 }, PublicURL: testPublicURL})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// placePost is a fire post in Mawei district with a road-level place.
func placePost(url string, sim uint64) Candidate {
	c := post(url, "fire", "350105", sim, "起火")
	c.Place, c.PlaceCode = "马江路与江滨东大道交叉口", "350105"
	c.LevelCues = []LevelCue{{Kind: "spreading", Level: "high", Field: "text", Text: "火势蔓延", Start: 2, End: 6},
		{Kind: "injuries", Level: "high", Field: "text", Text: "两人受伤", Start: 8, End: 12},
		{Kind: "many_people", Field: "text", Text: "两人", Start: 8, End: 10}}
	return c
}

func onlyDelivery(t *testing.T, s *SQLStore) (Delivery, []Attempt) {
	t.Helper()
	ds, _, err := s.Deliveries(t.Context(), DeliveryFilter{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries %+v %v", ds, err)
	}
	as, err := s.Attempts(t.Context(), ds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return ds[0], as
}

// show prints a delivery without its body.
func show(d Delivery) string {
	d.Body = nil
	return fmt.Sprintf("%+v", d)
}

// TestDingTalkSignedMarkdown sends a lead to a DingTalk robot that checks
// the signature as documented; the same robot refuses a dispatcher that
// signs with another secret, which proves the check would catch a bad
// signature, and that refusal (HTTP 200, errcode 310000) is a failed
// attempt, retried, with DingTalk's errmsg in the record.
func TestDingTalkSignedMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		ok           bool
	}{
		{"right secret", dingSecret, true},
		{"wrong secret", dingSecret[:len(dingSecret)-1] + "8", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// DingTalk refuses timestamps an hour off: sign with the real time.
			clock := &fakeClock{t: time.Now()}
			rb := newRobot(t, FormatDingTalk, dingSecret)
			ep := rb.endpoint("ding", tc.secret)
			s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
			d := notifyDispatcher(t, s, clock, ep)
			r := mustFile(t, s, placePost("https://x.test/a", 1))
			process(t, d)
			del, as := onlyDelivery(t, s)
			msgs := rb.messages()
			if !tc.ok {
				if len(msgs) != 0 || del.State != DeliveryPending || len(as) != 1 || as[0].Outcome != outcomeRetry ||
					as[0].Status != 200 || !strings.Contains(del.LastError, "errcode 310000: sign not match") {
					t.Fatalf("a wrongly signed message: robot got %d, delivery %s, attempts %+v", len(msgs), show(del), as)
				}
				if got := as[0].Error; strings.Contains(got, "access_token") || strings.Contains(got, "tok") && strings.Contains(got, "sign=") {
					t.Fatalf("the record carries the robot's URL: %q", got)
				}
				return
			}
			if len(msgs) != 1 || del.State != DeliveryDelivered || as[0].Status != 200 {
				t.Fatalf("robot got %d messages; delivery %s", len(msgs), show(del))
			}
			l, err := s.GetLead(t.Context(), r.LeadID)
			if err != nil {
				t.Fatal(err)
			}
			shanghai, _ := time.LoadLocation("Asia/Shanghai")
			m := msgs[0]
			for _, want := range []string{
				"**级别**：高",
				"**类别**：火灾",
				"**依据**：「火势蔓延」「两人受伤」",
				"**地点**：福建省/福州市/马尾区；马江路与江滨东大道交叉口",
				"**时间**：" + l.FirstSeen.In(shanghai).Format("2006-01-02 15:04:05") + " +08:00",
				"[查看线索](" + testPublicURL + "/leads/" + r.LeadID + ")",
			} {
				if !strings.Contains(m.text, want) {
					t.Errorf("message lacks %q:\n%s", want, m.text)
				}
			}
			if !strings.Contains(m.title, "新线索") || !strings.Contains(m.title, "火灾") {
				t.Errorf("title %q", m.title)
			}
		})
	}
}

// TestRobotErrcodeRetriesThenSucceeds: an answer with HTTP 200 but an
// errcode is a failed attempt, retried on the schedule (5 s first); a rate
// limit errcode waits out the robot's penalty; then errcode 0 delivers.
func TestRobotErrcodeRetriesThenSucceeds(t *testing.T) {
	for _, tc := range []struct {
		format string
		code   int
		msg    string
		wait   time.Duration
	}{
		{FormatDingTalk, 300005, "queued failure", 5 * time.Second},
		{FormatDingTalk, 130101, "queued failure", 10 * time.Minute},
		{FormatWeCom, 45009, "queued failure", time.Minute},
		{FormatWeCom, 93000, "queued failure", 5 * time.Second},
	} {
		t.Run(fmt.Sprintf("%s %d", tc.format, tc.code), func(t *testing.T) {
			clock := &fakeClock{t: time.Now().Truncate(time.Millisecond)}
			rb := newRobot(t, tc.format, dingSecret)
			secret := ""
			if tc.format == FormatDingTalk {
				secret = dingSecret
			}
			ep := rb.endpoint("bot", secret)
			s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
			d := notifyDispatcher(t, s, clock, ep)
			mustFile(t, s, placePost("https://x.test/a", 1))
			rb.queue(tc.code)
			process(t, d)
			del, as := onlyDelivery(t, s)
			wantErr := fmt.Sprintf("errcode %d: %s", tc.code, tc.msg)
			if del.State != DeliveryPending || !strings.Contains(del.LastError, wantErr) || len(as) != 1 || as[0].Outcome != outcomeRetry {
				t.Fatalf("after errcode %d: delivery %s attempts %+v", tc.code, show(del), as)
			}
			if got := del.NextAttemptAt.Sub(clock.Now()); got != tc.wait {
				t.Fatalf("retry in %v, want %v", got, tc.wait)
			}
			clock.Advance(tc.wait - time.Millisecond)
			if n := process(t, d); n != 0 {
				t.Fatalf("%d attempts before the retry was due", n)
			}
			clock.Advance(time.Millisecond)
			if n := process(t, d); n != 1 {
				t.Fatalf("%d attempts when the retry was due", n)
			}
			del, as = onlyDelivery(t, s)
			if del.State != DeliveryDelivered || len(as) != 2 || as[1].Outcome != outcomeDelivered || len(rb.messages()) != 2 {
				t.Fatalf("after errcode 0: delivery %s attempts %+v", show(del), as)
			}
		})
	}
}

// TestRobotSSRFGuard: a robot URL on loopback is refused without
// allow_private, before any request, and the delivery is dead at once.
func TestRobotSSRFGuard(t *testing.T) {
	for _, format := range []string{FormatDingTalk, FormatWeCom} {
		t.Run(format, func(t *testing.T) {
			clock := &fakeClock{t: time.Now()}
			rb := newRobot(t, format, dingSecret)
			ep := rb.endpoint("bot", map[string]string{FormatDingTalk: dingSecret}[format])
			ep.AllowPrivate = false
			s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
			d := notifyDispatcher(t, s, clock, ep)
			mustFile(t, s, placePost("https://x.test/a", 1))
			process(t, d)
			del, as := onlyDelivery(t, s)
			if del.State != DeliveryDead || len(as) != 1 || !strings.Contains(as[0].Error, "loopback") || !strings.Contains(as[0].Error, "allow_private") {
				t.Fatalf("delivery %s attempts %+v", show(del), as)
			}
			if _, err := d.SendTest(t.Context(), "bot"); err == nil || !strings.Contains(err.Error(), "loopback") {
				t.Fatalf("send test: %v", err)
			}
			if n := len(rb.messages()); n != 0 {
				t.Fatalf("the robot on loopback got %d messages", n)
			}
		})
	}
}

// TestHostileMarkdownMakesNoLink files a post whose title and summary try
// Markdown links, images, emphasis, headings and WeCom's font tags: the
// robot's message has the lead's link and no other.
func TestHostileMarkdownMakesNoLink(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	rb := newRobot(t, FormatWeCom, "")
	ep := rb.endpoint("wx", "")
	s, _ := openTestStore(t, Options{Now: clock.Now, Endpoints: []Endpoint{ep}})
	d := notifyDispatcher(t, s, clock, ep)
	c := placePost("https://x.test/evil", 1)
	c.Title = "起火 [点此查看](https://evil.example/steal) ![x](https://evil.example/p.png)"
	c.Snippet = "**加粗** _斜_ `代码`\n### 假标题 <font color=\"warning\">紧急</font> <@all> <a href=\"https://evil.example\">链接</a> https://evil.example/bare www.evil.example\n> 引用\n- 列表"
	c.Place = "[地点](javascript:alert(1))"
	r := mustFile(t, s, c)
	process(t, d)
	msgs := rb.messages()
	if len(msgs) != 1 {
		t.Fatalf("robot got %d messages", len(msgs))
	}
	text := msgs[0].text
	lead := "[查看线索](" + testPublicURL + "/leads/" + r.LeadID + ")"
	if strings.Count(text, "](") != 1 || !strings.Contains(text, lead) {
		t.Fatalf("the message has links other than the lead's:\n%s", text)
	}
	for _, bad := range []string{"https://evil", "<font", "<a ", "<@", "javascript:alert(1)", "`", "\n### 假", "\n> 引用", "\n- 列表", "**加粗**"} {
		if strings.Contains(text, bad) {
			t.Errorf("message keeps %q:\n%s", bad, text)
		}
	}
	for _, kept := range []string{"点此查看", "假标题", "紧急", "evil.example"} {
		if !strings.Contains(text, kept) {
			t.Errorf("message lost the words %q:\n%s", kept, text)
		}
	}
}
