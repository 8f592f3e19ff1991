package alerts

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzNotificationMarkdown feeds any title, summary and place to a lead's
// message: the Markdown keeps exactly one link (the lead's), no character
// Markdown or the robots' tags give meaning to, no line of the post's own,
// and stays valid UTF-8 under WeCom's size limit.
func FuzzNotificationMarkdown(f *testing.F) {
	for _, seed := range [][3]string{
		{"[点我](https://evil.example)", "**粗** <font color=\"warning\">x</font>\n# 标题", "[地](javascript:x)"},
		{"![img](http://x/p.png)", "www.evil.example https://evil.example `code`", "<@all>"},
		{"\xff\xfe坏字节", "&lt;font&gt; \\[x\\]\\(y\\)", strings.Repeat("长", 500)},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, title, summary, place string) {
		l := &Lead{ID: "01LEAD", Title: title, Summary: summary, Place: place, Level: "high",
			Categories: []CategoryScore{{Code: "fire", Score: 1}}, Locations: []Location{{Code: "350105", Name: place}},
			FirstSeen: now, LastSeen: now, State: StateNew,
			Sources: []Source{{Level: "high", LevelCues: []LevelCue{{Kind: "injuries", Level: "high", Text: place}, {Kind: "spreading", Level: "high", Text: summary}}}}}
		m := leadMessage(EventLeadCreated, l, defaultLocation(), testPublicURL)
		text := m.markdown()
		link := "[查看线索](" + testPublicURL + "/leads/01LEAD)"
		if strings.Count(text, "](") != 1 || strings.Count(text, link) != 1 {
			t.Fatalf("links besides the lead's:\n%s", text)
		}
		// What is left once the lead's link and the summary's quote mark,
		// both riskmine's, are taken out.
		rest := strings.Replace(strings.Replace(text, link, "", 1), "\n> ", "\n", 1)
		for _, bad := range []string{"[", "]", "(", ")", "<", ">", "`", "://", "www.", "|", "!", "~"} {
			if strings.Contains(rest, bad) {
				t.Fatalf("%q in:\n%s", bad, text)
			}
		}
		// Only riskmine's own bold labels and heading remain.
		if strings.Count(rest, "*") != 4*len(m.Fields) || strings.Count(rest, "#") != 3 {
			t.Fatalf("emphasis or headings from the post:\n%s", text)
		}
		for _, line := range strings.Split(text, "\n") {
			if line != "" && !strings.HasPrefix(line, "### ") && !strings.HasPrefix(line, "**") && !strings.HasPrefix(line, "> ") && line != link {
				t.Fatalf("a line of the post's own %q in:\n%s", line, text)
			}
		}
		if !utf8.ValidString(text) || len(text) > 4096 {
			t.Fatalf("%d bytes, valid UTF-8 %v", len(text), utf8.ValidString(text))
		}
		if !utf8.ValidString(m.text()) {
			t.Fatal("email text is not valid UTF-8")
		}
	})
}
