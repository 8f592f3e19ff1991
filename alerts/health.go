package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EventSourceHealth is the outbox event of a crawl source's health
// changing: a problem began or ended. Endpoints opt in with SourceHealth.
const EventSourceHealth = "source_health"

// SourceHealthType is the type of a standard webhook body of a source
// health event.
const SourceHealthType = "source.health"

// Source health problems (the crawler's words; alerts does not import it).
const (
	HealthNoItems   = "no_items"
	HealthSelectors = "selectors"
	HealthRobots    = "robots"
)

// SourceHealthEvent is a change of a crawl source's health, as the crawler
// judged it after a run.
type SourceHealthEvent struct {
	Source  string `json:"source"`
	Site    string `json:"site,omitempty"`
	Problem string `json:"problem"` // no_items, selectors or robots
	// Failing is true when the problem began, false when it ended.
	Failing bool      `json:"failing"`
	Since   time.Time `json:"since"`
	At      time.Time `json:"at"`
	// Runs is how many runs in a row showed the problem.
	Runs int `json:"runs"`
	// The counts of the run that changed the state.
	ListPages     int64 `json:"list_pages"`
	EmptyLists    int64 `json:"empty_lists"`
	Items         int64 `json:"items"`
	RobotsRefused int64 `json:"robots_refused"`
}

// healthBody is the standard webhook body of a source health event.
type healthBody struct {
	Type      string             `json:"type"`
	Timestamp time.Time          `json:"timestamp"`
	Data      *SourceHealthEvent `json:"data"`
}

// wantsHealth reports whether the endpoint takes source health events:
// it opted in, and it is not thehive (whose alerts are leads).
func (e Endpoint) wantsHealth() bool {
	return e.SourceHealth && e.Format != FormatTheHive
}

// NotifySourceHealth queues ev for every endpoint that opted in to source
// health (the outbox, its retries and the channels' rates as for leads)
// and returns how many deliveries it queued. The outbox rows have no lead.
func (s *SQLStore) NotifySourceHealth(ctx context.Context, ev SourceHealthEvent) (int, error) {
	now := s.now()
	rows, err := SourceHealthRows(s.opts, ev, now)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("alerts: source health of %s: %w", ev.Source, err)
	}
	defer tx.Rollback()
	for _, r := range rows {
		if _, err := s.exec(ctx, tx, `INSERT INTO alerts_delivery(id, endpoint, event, lead_id, body, state, created_at, next_attempt_at)
			VALUES (?,?,?,?,?,?,?,?)`, r.ID, r.Endpoint, r.Event, "", r.Body, DeliveryPending, ms(now), ms(now)); err != nil {
			return 0, fmt.Errorf("alerts: source health of %s: %w", ev.Source, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("alerts: source health of %s: %w", ev.Source, err)
	}
	s.notify()
	return len(rows), nil
}

// queuedHealth decodes the outbox body of a source health event.
func queuedHealth(del Delivery) (*SourceHealthEvent, error) {
	var b healthBody
	if err := json.Unmarshal(del.Body, &b); err != nil || b.Data == nil {
		return nil, fmt.Errorf("delivery %s: body is not a queued source health event: %w (%w)", del.ID, err, errFinal)
	}
	return b.Data, nil
}

// The Chinese words of a health message.
var healthProblemNames = map[string]string{
	HealthNoItems:   "连续多次未采集到内容",
	HealthSelectors: "列表选择器失效",
	HealthRobots:    "robots.txt 禁止抓取",
}

// healthHeadline is the one-line description of ev.
func healthHeadline(ev *SourceHealthEvent) string {
	state := "异常"
	if !ev.Failing {
		state = "已恢复"
	}
	return fmt.Sprintf("采集源%s：%s · %s", state, ev.Source, nameOr(healthProblemNames, ev.Problem))
}

// healthMessage describes a source health event for the people who keep
// the sources (the same channels as leads).
func healthMessage(ev *SourceHealthEvent, loc *time.Location, publicURL string) message {
	head := healthHeadline(ev)
	m := message{Title: "【采集源】" + head, Heading: "【采集源】" + head}
	source := ev.Source
	if ev.Site != "" && ev.Site != ev.Source {
		source += "（" + ev.Site + "）"
	}
	m.Fields = append(m.Fields, [2]string{"采集源", source}, [2]string{"问题", nameOr(healthProblemNames, ev.Problem)})
	if ev.Failing {
		var why string
		switch ev.Problem {
		case HealthNoItems:
			why = "连续 " + strconv.Itoa(ev.Runs) + " 次采集未找到任何条目（网站无法访问、超时或返回错误）"
		case HealthSelectors:
			why = "列表页正常返回（" + strconv.FormatInt(ev.ListPages, 10) + " 页），但 list.items 选择器没有匹配到任何条目，网站可能已改版"
		case HealthRobots:
			why = "robots.txt 拒绝了 " + strconv.FormatInt(ev.RobotsRefused, 10) + " 个列表页/订阅地址，本次未能读取任何列表"
		}
		m.Fields = append(m.Fields, [2]string{"说明", why})
		m.Fields = append(m.Fields, [2]string{"开始", ev.Since.In(loc).Format(notifyTime)})
	} else {
		m.Fields = append(m.Fields,
			[2]string{"说明", "本次采集恢复正常（找到 " + strconv.FormatInt(ev.Items, 10) + " 个条目）"},
			[2]string{"持续", "自 " + ev.Since.In(loc).Format(notifyTime) + " 起，共 " + strconv.Itoa(ev.Runs) + " 次采集"})
	}
	m.Fields = append(m.Fields, [2]string{"时间", ev.At.In(loc).Format(notifyTime)})
	if publicURL != "" {
		m.Link, m.LinkText = strings.TrimRight(publicURL, "/")+"/sources", "查看采集源"
	}
	return m
}

// healthDigestLine is a source health event as one line of a digest.
func healthDigestLine(ev *SourceHealthEvent, loc *time.Location) string {
	return healthHeadline(ev) + " · " + ev.At.In(loc).Format("01-02 15:04")
}
