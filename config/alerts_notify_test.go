package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// notifyHook is a webhook of format with extra lines at 6 spaces.
func notifyHook(format string, extra ...string) string {
	s := "    - name: n\n      format: " + format + "\n"
	for _, e := range extra {
		s += "      " + e + "\n"
	}
	return s
}

const (
	dingURL  = "url: https://oapi.dingtalk.com/robot/send?access_token=abc"
	wecomURL = "url: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
)

// TestNotificationWebhooks parses one webhook of each notification format
// and checks the defaults they get.
func TestNotificationWebhooks(t *testing.T) {
	t.Setenv("RM_SMTP_PASSWORD", "s3cret")
	c, err := Parse("c.yaml", []byte("alerts:\n  webhooks:\n"+
		"    - name: ding\n      format: dingtalk\n      "+dingURL+"\n      secret: SECabc123\n      rate_limit: 10\n"+
		"    - name: wx\n      format: wecom\n      "+wecomURL+"\n      allow_private: true\n"+
		"    - name: mail\n      format: email\n      smtp: smtp.example.org:587\n      from: 风险线索 <riskmine@example.org>\n"+
		"      to: [duty@example.org]\n      username: riskmine\n      password: ${RM_SMTP_PASSWORD}\n"))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Alerts.Webhooks
	if w[0].Secret != "SECabc123" || w[0].RateLimit != 10 || w[1].RateLimit != 0 || !w[1].AllowPrivate {
		t.Errorf("robots: %+v %+v", w[0], w[1])
	}
	if w[2].StartTLS != "required" || w[2].Password != "s3cret" || w[2].SMTP != "smtp.example.org:587" || w[2].URL != "" {
		t.Errorf("email: %+v", w[2])
	}
}

// TestNotificationConfigErrors: each new key, written wrong, gives one line
// naming the file, the line and the key.
func TestNotificationConfigErrors(t *testing.T) {
	mail := []string{"smtp: smtp.example.org:587", "from: riskmine@example.org", "to: [duty@example.org]"}
	cases := []struct {
		name string
		hook string
		key  string
		line int
		msg  string
	}{
		{"unknown format", notifyHook("feishu", dingURL), "format", 4, `got "feishu", expected standard, thehive, dingtalk, wecom or email`},
		{"dingtalk without secret", notifyHook("dingtalk", dingURL), "secret", 3, "needs its signing secret"},
		{"dingtalk with a whsec secret", notifyHook("dingtalk", dingURL, "secret: whsec_c2VjcmV0c2VjcmV0"), "secret", 6, "got a whsec_ secret"},
		{"dingtalk without url", notifyHook("dingtalk", "secret: SECabc"), "url", 3, "expected an http:// or https:// URL"},
		{"wecom with a secret", notifyHook("wecom", wecomURL, "secret: abc"), "secret", 6, "the robot's key is in its url"},
		{"negative rate limit", notifyHook("wecom", wecomURL, "rate_limit: -1"), "rate_limit", 6, "got -1"},
		{"rate limit on a standard webhook", hook("w", "rate_limit: 5"), "rate_limit", 6, "applies only to dingtalk, wecom and email"},
		{"smtp on a robot", notifyHook("wecom", wecomURL, "smtp: a:25"), "smtp", 6, "applies only to email webhooks"},
		{"to on a standard webhook", hook("w", "to: [a@example.org]"), "to", 6, "applies only to email webhooks"},
		{"email with a url", notifyHook("email", append([]string{"url: http://x.test/"}, mail...)...), "url", 5, "has no url"},
		{"email without smtp", notifyHook("email", mail[1:]...), "smtp", 3, "is required for an email webhook"},
		{"smtp without port", notifyHook("email", "smtp: smtp.example.org", mail[1], mail[2]), "smtp", 5, "expected host:port"},
		{"smtp with a bad port", notifyHook("email", "smtp: smtp.example.org:smtp", mail[1], mail[2]), "smtp", 5, "expected host:port"},
		{"email without from", notifyHook("email", mail[0], mail[2]), "from", 3, "is required"},
		{"bad from", notifyHook("email", mail[0], "from: riskmine", mail[2]), "from", 6, `got "riskmine"`},
		{"email without to", notifyHook("email", mail[:2]...), "to", 3, "is required"},
		{"bad recipient", notifyHook("email", mail[0], mail[1], "to: [duty@example.org, nobody]"), "to", 7, `got "nobody"`},
		{"bad starttls", notifyHook("email", append(mail, "starttls: maybe")...), "starttls", 8, `got "maybe", expected required or off`},
		{"credentials without TLS", notifyHook("email", append(mail, "starttls: off", "username: u", "password: p")...), "starttls", 8, "credentials are never sent without TLS"},
		{"username without password", notifyHook("email", append(mail, "username: u")...), "password", 3, "is required with a username"},
		{"password without username", notifyHook("email", append(mail, "password: p")...), "username", 3, "is required with a password"},
		{"email with a secret", notifyHook("email", append(mail, "secret: whsec_c2VjcmV0c2VjcmV0")...), "secret", 8, "use username and password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte("alerts:\n  webhooks:\n"+tc.hook))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a config error", err)
			}
			key := "alerts.webhooks[0]." + tc.key
			if ce.Key != key || ce.Line != tc.line {
				t.Fatalf("error %q names key %q line %d, want key %q line %d", err, ce.Key, ce.Line, key, tc.line)
			}
			prefix := fmt.Sprintf("config: c.yaml:%d: %s: ", tc.line, key)
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q, want one line starting with %q and containing %q", err, prefix, tc.msg)
			}
		})
	}
}
