package web

import (
	"strings"
	"testing"
	"unicode/utf8"

	"riskmine/alerts"
	"riskmine/index"
)

func TestMaskPII(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"mobile", "联系电话13812345678，速来", "联系电话138****5678，速来"},
		{"mobile with +86 and spaces", "手机 +86 138 1234 5678 找王先生", "手机 +86 138 **** 5678 找王先生"},
		{"full-width mobile", "电话１３８１２３４５６７８", "电话１３８****５６７８"},
		{"landline", "举报电话0571-88886666", "举报电话0571-****6666"},
		{"grouped bank card", "转账到6222 0212 3456 7894即可", "转账到6222 **** **** 7894即可"},
		{"bank card of 19 digits", "卡号6217001234567890122", "卡号6217***********0122"},
		{"QQ", "加QQ12345689咨询", "加QQ12****89咨询"},
		{"short QQ", "QQ号：10086", "QQ号：****6"},
		{"WeChat id", "加微信abc_12345领取", "加微信ab*_***45领取"},
		{"WeChat id in upper case", "加VX Lucky888888", "加VX Lu*******88"},
		{"mixed", "王先生13812345678，QQ 87654321，卡号6222021234567894", "王先生138****5678，QQ 87****21，卡号6222********7894"},
		{"no personal data", "仓山区一仓库发生火灾，2人受伤，损失50000元", "仓山区一仓库发生火灾，2人受伤，损失50000元"},
		{"a URL stays", "详见 www.example.com/a?id=13", "详见 www.example.com/a?id=13"},
		{"a resident id is no card", "身份证110101199003077578", "身份证110101199003077578"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, found := MaskPII(tc.in)
			if got != tc.want {
				t.Errorf("MaskPII(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if found != (tc.in != tc.want) {
				t.Errorf("found = %v", found)
			}
			if utf8.RuneCountInString(got) != utf8.RuneCountInString(tc.in) {
				t.Errorf("length changed: %d runes, was %d", utf8.RuneCountInString(got), utf8.RuneCountInString(tc.in))
			}
		})
	}
}

func TestPIIKeepHidesEnough(t *testing.T) {
	for _, kind := range []string{"phone", "bank_card", "qq", "wechat"} {
		for n := 5; n <= 20; n++ {
			if kind == "phone" && n < 10 || kind == "bank_card" && n < 16 {
				continue
			}
			front, back := piiKeep(kind, n)
			if hidden := n - front - back; hidden < 4 || front < 0 || back < 0 {
				t.Errorf("%s of %d characters: keeps %d+%d, hides %d", kind, n, front, back, hidden)
			}
		}
	}
}

func TestMaskFragmentKeepsMarks(t *testing.T) {
	cases := []struct{ in, want string }{
		// A number split by a highlight is still one number.
		{"联系<mark>138</mark>12345678 &amp; 王", "联系<mark>138</mark>****5678 &amp; 王"},
		{"<mark>电话</mark>13812345678", "<mark>电话</mark>138****5678"},
		{"卡<mark>6222 0212 3456 7894</mark>转账", "卡<mark>6222 **** **** 7894</mark>转账"},
		{"&lt;b&gt;QQ 87654321&lt;/b&gt; <mark>诈骗</mark>", "&lt;b&gt;QQ 87****21&lt;/b&gt; <mark>诈骗</mark>"},
		{"no data <mark>火灾</mark> 2人", "no data <mark>火灾</mark> 2人"},
	}
	for _, tc := range cases {
		got, _ := maskFragment(tc.in)
		if got != tc.want {
			t.Errorf("maskFragment(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// What users see differs only in the masked digits.
		if a, b := plainFragment(got), plainFragment(tc.in); utf8.RuneCountInString(a) != utf8.RuneCountInString(b) {
			t.Errorf("plain text length changed: %q vs %q", a, b)
		}
	}
}

// Evidence offsets stay right after masking: each span still fits the
// masked text and the lead page marks the same places.
func TestMaskLeadKeepsEvidenceOffsets(t *testing.T) {
	title := "冒充客服诈骗 电话13812345678"
	text := "骗子自称客服，让转账到6222021234567894，并加QQ87654321，受害人被骗5万元。"
	runes := []rune(text)
	span := func(field, s string) alerts.Evidence {
		src := runes
		if field == "title" {
			src = []rune(title)
		}
		i := strings.Index(string(src), s)
		start := utf8.RuneCountInString(string(src)[:i])
		return alerts.Evidence{Rule: "r", Field: field, Text: s, Start: start, End: start + utf8.RuneCountInString(s)}
	}
	evs := []alerts.Evidence{span("title", "诈骗"), span("text", "转账到6222021234567894"), span("text", "被骗5万元"), span("title", "电话13812345678"),
		{Rule: "off", Field: "text", Text: "打13812345678", Start: 200, End: 211}}
	money := span("text", "被骗5万元")
	cues := []alerts.LevelCue{{Kind: "money_loss", Level: "high", Field: "text", Text: money.Text, Start: money.Start, End: money.End},
		{Kind: "threat", Level: "high", Field: "text", Text: evs[1].Text, Start: evs[1].Start, End: evs[1].End},
		{Kind: "threat", Level: "high", Field: "text", Text: "打13812345678", Start: 200, End: 211}}
	lead := &alerts.Lead{ID: "L1", Title: title, Summary: text, Sources: []alerts.Source{{Title: title, Snippet: text, Evidence: evs, LevelCues: cues}},
		Notes: []alerts.Note{{Text: "已致电13812345678"}}}
	pv := &piiView{mask: true}
	m := pv.lead(lead)
	if !pv.found {
		t.Fatal("personal data not found")
	}
	if lead.Sources[0].Snippet != text || lead.Sources[0].Evidence[1].Text != evs[1].Text {
		t.Fatal("masking changed the store's lead")
	}
	src := m.Sources[0]
	for _, s := range []string{m.Title, m.Summary, src.Title, src.Snippet, m.Notes[0].Text} {
		for _, secret := range []string{"13812345678", "6222021234567894", "87654321", "12345"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q still shows %s", s, secret)
			}
		}
	}
	if want := "转账到6222********7894"; src.Evidence[1].Text != want {
		t.Errorf("evidence %q, want %q", src.Evidence[1].Text, want)
	}
	if src.Evidence[2].Text != "被骗5万元" {
		t.Errorf("evidence without personal data changed: %q", src.Evidence[2].Text)
	}
	if src.Evidence[4].Text != "打138****5678" {
		t.Errorf("unplaced evidence %q, want it masked on its own", src.Evidence[4].Text)
	}
	if lead.Sources[0].LevelCues[1].Text != evs[1].Text {
		t.Fatal("masking changed the store's level cues")
	}
	if got := []string{src.LevelCues[0].Text, src.LevelCues[1].Text, src.LevelCues[2].Text}; strings.Join(got, "|") != "被骗5万元|转账到6222********7894|打138****5678" {
		t.Errorf("level cues %q: want them masked like evidence", got)
	}
	p := placeEvidence(src)
	if len(p.Unplaced) != 1 {
		t.Fatalf("%d evidence items unplaced, want only the one outside the text: %+v", len(p.Unplaced), p.Unplaced)
	}
	var marked []string
	for _, seg := range append(p.Title, p.Text...) {
		if seg.Mark {
			marked = append(marked, seg.Text)
		}
	}
	want := []string{"诈骗", "电话138****5678", "转账到6222********7894", "被骗5万元"}
	if strings.Join(marked, "|") != strings.Join(want, "|") {
		t.Errorf("marked %q, want %q", marked, want)
	}

	// An allowed role sees it all, and the view knows it saw personal data.
	pv = &piiView{mask: false}
	if u := pv.lead(lead); u.Sources[0].Snippet != text || !pv.unmaskedShown() {
		t.Errorf("unmasked view: %q, shown %v", u.Sources[0].Snippet, pv.unmaskedShown())
	}
}

func TestMaskSearchHit(t *testing.T) {
	h := index.Hit{Title: "出售银行卡6222021234567894", Fragments: map[string][]string{
		"title": {"出售<mark>银行卡</mark>6222021234567894"},
		"body":  {"联系<mark>13812345678</mark>", "无个人信息"},
	}}
	pv := &piiView{mask: true}
	m := pv.hit(h)
	if m.Title != "出售银行卡6222********7894" || m.Fragments["title"][0] != "出售<mark>银行卡</mark>6222********7894" ||
		m.Fragments["body"][0] != "联系<mark>138****5678</mark>" || m.Fragments["body"][1] != "无个人信息" {
		t.Errorf("masked hit: %+v", m)
	}
	if h.Fragments["body"][0] != "联系<mark>13812345678</mark>" {
		t.Error("masking changed the index's hit")
	}
}

func BenchmarkMaskPII(b *testing.B) {
	text := strings.Repeat("今天下午仓山区一仓库起火，浓烟滚滚，消防车已赶到现场。", 8) + "联系电话13812345678。"
	plain := strings.Repeat("今天下午仓山区一仓库起火，浓烟滚滚，消防车已赶到现场。", 8)
	b.Run("with a phone", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for i := 0; i < b.N; i++ {
			MaskPII(text)
		}
	})
	b.Run("without digits", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for i := 0; i < b.N; i++ {
			MaskPII(plain)
		}
	})
}
