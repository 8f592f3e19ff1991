package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DingTalkSign returns the sign parameter of a DingTalk custom robot
// request, as DingTalk documents it: base64 of HMAC-SHA256 with the
// robot's secret (the SEC… string) as key over the millisecond timestamp,
// a line feed and the secret. The caller URL-encodes it with the query.
func DingTalkSign(secret string, timestampMS int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(timestampMS, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// dingtalkURL adds timestamp and sign to the robot's webhook address
// (which carries its access_token).
func dingtalkURL(raw, secret string, now time.Time) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	ts := now.UnixMilli()
	q := u.Query()
	q.Set("timestamp", strconv.FormatInt(ts, 10))
	q.Set("sign", DingTalkSign(secret, ts))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

type dingtalkMarkdown struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
}

type wecomMarkdown struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Content string `json:"content"`
	} `json:"markdown"`
}

// robotBody is the JSON body of m for a dingtalk or wecom endpoint.
func robotBody(format string, m message) ([]byte, error) {
	if format == FormatDingTalk {
		var b dingtalkMarkdown
		b.MsgType = "markdown"
		b.Markdown.Title = md(m.Title)
		b.Markdown.Text = m.markdown()
		return json.Marshal(b)
	}
	var b wecomMarkdown
	b.MsgType = "markdown"
	b.Markdown.Content = m.markdown()
	return json.Marshal(b)
}

// robotAnswer is what both robots answer: errcode 0 is success.
type robotAnswer struct {
	ErrCode *int   `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// RobotError is a robot's answer with a non-zero errcode (or none): the
// attempt failed and is retried on the schedule.
type RobotError struct {
	Format  string
	ErrCode int
	ErrMsg  string
}

func (e *RobotError) Error() string {
	return fmt.Sprintf("%s answered errcode %d: %s", e.Format, e.ErrCode, e.ErrMsg)
}

// robotRateLimited maps the errcodes that mean "too many messages" to how
// long the robot refuses: DingTalk throttles a robot for 10 minutes once it
// sends more than 20 a minute (130101 send too fast); WeCom answers 45009
// (api freq out of limit) for its 20 a minute.
func robotRateLimited(format string, code int) (time.Duration, bool) {
	switch {
	case format == FormatDingTalk && code == 130101:
		return 10 * time.Minute, true
	case format == FormatWeCom && code == 45009:
		return time.Minute, true
	}
	return 0, false
}

// postRobot sends m to a DingTalk or WeCom robot. It returns the HTTP
// status and headers; a 2xx answer whose errcode is not 0 is an error
// (*RobotError). When the robot says it is rate-limited the headers carry
// a Retry-After of its penalty so the retry waits it out.
func (d *Dispatcher) postRobot(ctx context.Context, ep endpointKey, m message, now time.Time) (int, http.Header, error) {
	body, err := robotBody(ep.Format, m)
	if err != nil {
		return 0, nil, err
	}
	target := ep.URL
	if ep.Format == FormatDingTalk {
		if target, err = dingtalkURL(ep.URL, ep.Secret, now); err != nil {
			return 0, nil, fmt.Errorf("webhook %s: url: %w", ep.Name, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, ep.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "riskmine-webhooks/1")
	c, err := d.client(ctx, ep)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL carries the robot's token: keep it out of the record.
		var ue *url.Error
		if errors.As(err, &ue) {
			return 0, nil, ue.Err
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, resp.Header, nil
	}
	var ans robotAnswer
	if err := json.Unmarshal(raw, &ans); err != nil || ans.ErrCode == nil {
		return resp.StatusCode, resp.Header, &RobotError{Format: ep.Format, ErrCode: -1, ErrMsg: "answer without errcode: " + oneLine(clip(string(raw), 200))}
	}
	if *ans.ErrCode != 0 {
		h := resp.Header.Clone()
		if wait, ok := robotRateLimited(ep.Format, *ans.ErrCode); ok {
			h.Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
			d.rateFor(ep.Endpoint).block(now.Add(wait))
		}
		return resp.StatusCode, h, &RobotError{Format: ep.Format, ErrCode: *ans.ErrCode, ErrMsg: oneLine(clip(ans.ErrMsg, 300))}
	}
	return resp.StatusCode, resp.Header, nil
}
