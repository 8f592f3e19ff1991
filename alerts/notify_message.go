package alerts

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai resolves on a minimal container too
	"unicode/utf8"
)

// The Chinese names of levels, categories and states in notifications.
// They are the zh texts of web/messages.go (level.*, cat.*, state.*):
// alerts may not import web, so the few a message needs are kept here. A
// code without a name (a lexicon may add categories) is shown as is.
var (
	levelNames = map[string]string{
		"critical": "严重", "high": "高", "medium": "中", "low": "低", "none": "无",
	}
	categoryNames = map[string]string{
		"fire": "火灾", "explosion": "爆炸", "hazmat_leak": "危化品/燃气泄漏", "collapse": "坍塌",
		"traffic_accident": "交通事故", "natural_disaster": "自然灾害", "food_safety": "食品安全",
		"public_health": "公共卫生", "fraud": "诈骗", "illegal_fundraising": "非法集资/传销",
		"mass_incident": "群体性事件", "violence": "暴力犯罪", "drugs": "毒品", "weapons": "枪支爆炸物",
		"self_harm": "自伤自杀", "environment": "环境污染", "work_safety": "安全生产",
		"city_management": "城市管理",
	}
	stateNames = map[string]string{
		"new": "待研判", "confirmed": "已立案", "dispatched": "已派遣", "handled": "已处置",
		"verified": "已核查", "closed": "已结案", "dismissed": "已驳回", "merged": "已合并",
	}
	eventNames = map[string]string{
		EventLeadCreated: "新线索", EventLeadUpdated: "线索更新", EventLeadStateChanged: "状态变更", "test": "测试消息",
	}
)

func nameOr(names map[string]string, code string) string {
	if n, ok := names[code]; ok {
		return n
	}
	return code
}

// defaultLocation is the zone notification times are shown in when the
// dispatcher is given none.
func defaultLocation() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}

// notifyTime is how a notification shows a time: in the configured zone,
// with its offset, so a reader elsewhere is not misled.
const notifyTime = "2006-01-02 15:04:05 -07:00"

// message is one notification before it is rendered for a channel:
// Markdown for the chat robots, plain text for email.
type message struct {
	// Title is the plain-text headline (DingTalk's title, the email
	// subject).
	Title string
	// Heading is the first line.
	Heading string
	// Fields are label/value pairs of plain text from the lead.
	Fields [][2]string
	// Quote is the lead's summary, plain text.
	Quote string
	// Items are the leads of a digest.
	Items []digestItem
	// Link is the lead's address in the web UI ("" without web.public_url).
	Link string
	// LinkText is the link's label ("": 查看线索).
	LinkText string
	// Footer is a closing plain-text line.
	Footer string
}

// digestItem is one lead in a digest.
type digestItem struct {
	Line string // plain text: level · category · place · time · title
	Link string
}

// Limits of what a message carries from a post, so that a WeCom message
// (at most 4096 bytes of content) always fits.
const (
	maxTitleRunes   = 60
	maxSummaryRunes = 200
	maxPlaceRunes   = 60
	maxLocations    = 3
	// maxMarkdownBytes keeps a rendered message under WeCom's 4096-byte
	// limit with room to spare; DingTalk allows more.
	maxMarkdownBytes = 3800
)

// leadLink is the lead's page under publicURL, or "" when it is not set.
func leadLink(publicURL, id string) string {
	if publicURL == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + "/leads/" + url.PathEscape(id)
}

// leadMessage describes event for lead l.
func leadMessage(event string, l *Lead, loc *time.Location, publicURL string) message {
	level := nameOr(levelNames, l.Level)
	cats := make([]string, 0, len(l.Categories))
	for _, c := range l.Categories {
		cats = append(cats, nameOr(categoryNames, c.Code))
	}
	top := nameOr(categoryNames, l.TopCategory())
	title := clip(oneLine(l.Title), maxTitleRunes)
	m := message{
		Title:   fmt.Sprintf("【%s】%s · %s：%s", nameOr(eventNames, event), level, top, title),
		Heading: fmt.Sprintf("【%s】%s", nameOr(eventNames, event), title),
		Link:    leadLink(publicURL, l.ID),
	}
	m.Fields = append(m.Fields,
		[2]string{"级别", fmt.Sprintf("%s（评分 %s）", level, strconv.FormatFloat(l.Score, 'f', 1, 64))},
		[2]string{"类别", strings.Join(cats, "、")})
	if w := levelWhy(l); w != "" {
		m.Fields = append(m.Fields, [2]string{"依据", w})
	}
	if p := leadPlace(l); p != "" {
		m.Fields = append(m.Fields, [2]string{"地点", p})
	}
	when := l.FirstSeen.In(loc).Format(notifyTime)
	if l.LastSeen.Sub(l.FirstSeen) >= time.Minute {
		when += "（最近 " + l.LastSeen.In(loc).Format(notifyTime) + "）"
	}
	m.Fields = append(m.Fields,
		[2]string{"时间", when},
		[2]string{"来源", strconv.Itoa(l.SourceCount) + " 条"},
		[2]string{"状态", nameOr(stateNames, l.State)})
	m.Quote = clip(oneLine(l.Summary), maxSummaryRunes)
	if m.Link == "" {
		m.Footer = "线索编号 " + l.ID + "（设置 web.public_url 后附链接）"
	}
	return m
}

// levelWhy quotes the phrases that set the lead's level (Lead.LevelReasons),
// 「两人被困」「爆炸」, or "" when its posts kept none.
func levelWhy(l *Lead) string {
	var b strings.Builder
	for _, q := range l.LevelReasons(4) {
		b.WriteString("「" + oneLine(q.Text) + "」")
	}
	return clip(b.String(), maxPlaceRunes)
}

// leadPlace joins the lead's division names and its precise place.
func leadPlace(l *Lead) string {
	var parts []string
	for i, loc := range l.Locations {
		if i == maxLocations {
			parts = append(parts, "等")
			break
		}
		if loc.Name != "" {
			parts = append(parts, loc.Name)
		} else {
			parts = append(parts, loc.Code)
		}
	}
	if l.Place != "" {
		parts = append(parts, l.Place)
	}
	return clip(oneLine(strings.Join(parts, "；")), maxPlaceRunes)
}

// digestMessage folds leads that went over a channel's rate into one
// message. leads are in the order they were queued; a lead queued twice
// (created, then updated) is listed once, where it first came, as it was
// last.
func digestMessage(leads []*Lead, loc *time.Location, publicURL string, perMinute int) message {
	latest := map[string]*Lead{}
	for _, l := range leads {
		latest[l.ID] = l
	}
	var items []digestItem
	for _, l := range leads {
		if latest[l.ID] == nil {
			continue
		}
		l, latest[l.ID] = latest[l.ID], nil
		line := fmt.Sprintf("%s · %s", nameOr(levelNames, l.Level), nameOr(categoryNames, l.TopCategory()))
		if p := leadPlace(l); p != "" {
			line += " · " + p
		}
		line += " · " + l.FirstSeen.In(loc).Format("01-02 15:04") + " · " + clip(oneLine(l.Title), 30)
		it := digestItem{Line: line, Link: leadLink(publicURL, l.ID)}
		if it.Link == "" {
			it.Line += "（" + l.ID + "）"
		}
		items = append(items, it)
	}
	n := len(items)
	return message{
		Title:   fmt.Sprintf("另有 %d 条线索", n),
		Heading: fmt.Sprintf("另有 %d 条线索", n),
		Fields:  [][2]string{{"说明", fmt.Sprintf("超出每分钟 %d 条的发送上限，合并为一条摘要", perMinute)}},
		Items:   items,
	}
}

// oneLine folds a post's line breaks and tabs into spaces.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "")
	return strings.Join(strings.Fields(s), " ")
}

// clip cuts s to n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// markdownNeutral replaces the ASCII characters that Markdown (and the
// HTML-ish tags WeCom and DingTalk accept) give meaning to with their
// full-width forms, and breaks "://" and "www." so no bare address is
// auto-linked: a
// post's text reads the same to a person but can make no link, emphasis,
// heading, image or colour. Backslash escapes are not used: the robots'
// renderers do not document them. Line breaks become spaces and every
// value follows a label, so characters that matter only at the start of a
// line (-, +, =, digits) stay as they are.
var markdownNeutral = strings.NewReplacer(
	"[", "［", "]", "］", "(", "（", ")", "）", "<", "＜", ">", "＞",
	"*", "＊", "_", "＿", "`", "｀", "#", "＃", "!", "！", "~", "～",
	"|", "｜", "\\", "＼", "&", "＆",
	"://", "：//", "www.", "www．", "WWW.", "WWW．", "\r", " ", "\n", " ",
)

func md(s string) string { return markdownNeutral.Replace(s) }

func (m message) linkText() string {
	if m.LinkText == "" {
		return "查看线索"
	}
	return m.LinkText
}

// markdown renders m for the chat robots. Only the links riskmine builds
// are links; every text from a post goes through md.
func (m message) markdown() string {
	var b strings.Builder
	b.WriteString("### " + md(m.Heading) + "\n\n")
	for _, f := range m.Fields {
		b.WriteString("**" + f[0] + "**：" + md(f[1]) + "\n\n")
	}
	if m.Quote != "" {
		b.WriteString("> " + md(m.Quote) + "\n\n")
	}
	if m.Link != "" {
		b.WriteString("[" + m.linkText() + "](" + m.Link + ")\n\n")
	}
	for i, it := range m.Items {
		line := fmt.Sprintf("%d. %s", i+1, md(it.Line))
		if it.Link != "" {
			line += " [查看](" + it.Link + ")"
		}
		// Keep the message under the robots' size limit: the leads that
		// do not fit are counted, and the list of leads has them all.
		if b.Len()+len(line)+200 > maxMarkdownBytes {
			fmt.Fprintf(&b, "……以及其余 %d 条，见线索列表", len(m.Items)-i)
			if m.Items[0].Link != "" {
				list := m.Items[0].Link[:strings.LastIndex(m.Items[0].Link, "/")]
				b.WriteString(" [线索列表](" + list + ")")
			}
			b.WriteString("\n\n")
			break
		}
		b.WriteString(line + "\n\n")
	}
	if m.Footer != "" {
		b.WriteString(md(m.Footer) + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// text renders m as the plain text of an email.
func (m message) text() string {
	var b strings.Builder
	b.WriteString(m.Heading + "\n\n")
	for _, f := range m.Fields {
		b.WriteString(f[0] + "：" + f[1] + "\n")
	}
	if m.Quote != "" {
		b.WriteString("\n" + m.Quote + "\n")
	}
	if m.Link != "" {
		b.WriteString("\n" + m.linkText() + "：" + m.Link + "\n")
	}
	if len(m.Items) > 0 {
		b.WriteString("\n")
	}
	for i, it := range m.Items {
		fmt.Fprintf(&b, "%d. %s\n", i+1, it.Line)
		if it.Link != "" {
			b.WriteString("   " + it.Link + "\n")
		}
	}
	if m.Footer != "" {
		b.WriteString("\n" + m.Footer + "\n")
	}
	return b.String()
}
