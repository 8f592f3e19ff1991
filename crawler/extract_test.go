package crawler

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/extract")

// extractGolden is the golden form of an Article.
type extractGolden struct {
	Title       string `json:"title"`
	Text        string `json:"text"`
	PublishedAt string `json:"published_at"`
	Author      string `json:"author"`
	Charset     string `json:"charset"`
	Error       string `json:"error,omitempty"`
}

func goldenOf(a Article, err error) extractGolden {
	g := extractGolden{Title: a.Title, Text: a.Text, Author: a.Author, Charset: a.Charset}
	if !a.PublishedAt.IsZero() {
		g.PublishedAt = a.PublishedAt.Format(time.RFC3339)
	}
	if err != nil {
		g.Error = err.Error()
	}
	return g
}

// TestExtractGolden runs Extract on every page in testdata/extract and
// compares the result with the page's .golden.json file; -update rewrites
// them.
func TestExtractGolden(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("testdata", "extract", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, page := range pages {
		if strings.HasSuffix(page, ".golden.json") {
			continue
		}
		n++
		t.Run(filepath.Base(page), func(t *testing.T) {
			raw, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Extract(raw, "", "")
			got, _ := json.MarshalIndent(goldenOf(a, err), "", "  ")
			got = append(got, '\n')
			golden := strings.TrimSuffix(page, filepath.Ext(page)) + ".golden.json"
			if *updateGolden {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Extract(%s) differs from %s:\ngot:\n%s\nwant:\n%s", page, golden, got, want)
			}
		})
	}
	if n < 10 {
		t.Fatalf("found only %d test pages", n)
	}
}

func readTestPage(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "extract", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestExtractPages checks what matters on each test page, independently of
// the golden files: the charset, the headline with the site name stripped,
// the publish time, the author, sentences that must be in the main text and
// boilerplate that must not.
func TestExtractPages(t *testing.T) {
	cst := time.FixedZone("", 8*3600)
	const title = "长宁路工地附近路面塌陷 货车后轮陷入坑中"
	const lead = "4月19日上午8时许，滨江区长宁路与新华街交叉口附近一处正在施工的工地发生路面塌陷"
	const last = "请及时拨打城市服务热线反映。"
	boiler := []string{"首页", "相关阅读", "本市启动汛期安全大检查", "网友评论", "早该修了", "热门排行", "版权所有", "责任编辑"}
	tests := []struct {
		page        string
		contentType string
		charset     string
		title       string
		published   time.Time
		author      string
		want        []string
		notWant     []string
	}{
		{page: "gbk.html", charset: "gbk", title: title, published: time.Date(2024, 4, 19, 8, 4, 0, 0, cst), author: "林晓", want: []string{lead, last}, notWant: boiler},
		{page: "gbk.html", contentType: "text/html; charset=GB2312", charset: "gbk", title: title, want: []string{lead}},
		{page: "gb2312_declared_utf8.html", charset: "utf-8", title: title, want: []string{lead, last}, notWant: boiler},
		{page: "gb2312_declared_utf8.html", contentType: "text/html;charset=gb2312", charset: "utf-8", title: title, want: []string{lead}},
		{page: "big5.html", charset: "big5", title: "長寧路工地附近路面塌陷 貨車後輪陷入坑中", author: "林曉",
			want: []string{"4月19日上午8時許，濱江區長寧路與新華街交叉口", "具體原因仍在調查中。"}, notWant: []string{"相關閱讀", "熱門排行", "版權所有"}},
		{page: "bom_utf8.html", charset: "utf-8", title: title, want: []string{lead, last}},
		{page: "bom_utf8.html", contentType: "text/html; charset=gbk", charset: "utf-8", title: title, want: []string{lead}},
		{page: "undeclared_gb18030.html", charset: "gb18030", title: title, want: []string{lead, last}, notWant: boiler},
		{page: "date_chinese.html", charset: "utf-8", title: title, published: time.Date(2024, 4, 19, 8, 4, 0, 0, cst), author: "林晓", want: []string{lead, last}},
		{page: "jsonld_date.html", charset: "utf-8", title: title, published: time.Date(2024, 4, 18, 23, 30, 0, 0, cst), author: "林晓", want: []string{lead}},
		{page: "nav_comments.html", charset: "utf-8", title: title, published: time.Date(2024, 4, 19, 8, 4, 0, 0, cst), want: []string{lead, last}, notWant: boiler},
		{page: "malformed.html", charset: "utf-8", title: "暴雨致多处道路积水",
			want: []string{"多处低洼路段出现积水", "连夜排涝疏通管网", "请市民减少不必要的外出"}},
		{page: "gb2312_table_layout.html", charset: "gbk", title: "关于开展汛期城市道路安全隐患排查的通知",
			published: time.Date(2024, 4, 19, 0, 0, 0, 0, cst), author: "区住建局",
			want:    []string{"各街道办事处、区直各有关单位：", "一、排查范围。", "联系电话：城市服务热线。"},
			notWant: []string{"网站首页", "通知公告", "主办单位", "星期一", "浏览次数"}},
		{page: "short_article_teasers.html", charset: "utf-8", title: "小区电梯困人 消防员破门救援",
			published: time.Date(2024, 5, 2, 10, 20, 0, 0, cst), author: "城市晚报",
			want:    []string{"三名居民被困轿厢内。", "被困人员安全脱险。"},
			notWant: []string{"更多新闻", "这是第0条新闻的摘要", "相关新闻标题"}},
		{page: "section_title.html", charset: "utf-8", title: "示例市举行危化品泄漏应急演练 三百余人参加",
			published: time.Date(2024, 6, 12, 0, 0, 0, 0, cst), author: "示例市应急管理学会",
			want:    []string{"6月12日上午，示例市在港区化工园区", "提升突发事件处置能力。"},
			notWant: []string{"热门新闻", "版权所有", "首页"}},
		{page: "chunked_article.html", charset: "utf-8", title: "City tests new flood barriers on the riverfront",
			published: time.Date(2024, 5, 10, 13, 0, 0, 0, time.UTC),
			want:      []string{"Work crews spent Thursday night", "in under six hours.", "Engineers will now check the seals", "planned for early June."},
			notWant:   []string{"Advertisement", "Copyright", "Home"}},
		{page: "english.html", charset: "utf-8", title: "Bridge closed after cracks found in support pier", author: "Jane Holt",
			published: time.Date(2024, 3, 2, 14, 30, 0, 0, time.UTC),
			want:      []string{"The Elm Street bridge was closed", "we want to keep it that way."},
			notWant:   []string{"School fair returns", "Copyright", "Weather"}},
	}
	for _, tt := range tests {
		t.Run(tt.page+"/"+tt.contentType, func(t *testing.T) {
			a, err := Extract(readTestPage(t, tt.page), tt.contentType, "")
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if a.Charset != tt.charset {
				t.Errorf("charset = %q, want %q", a.Charset, tt.charset)
			}
			if a.Title != tt.title {
				t.Errorf("title = %q, want %q", a.Title, tt.title)
			}
			if !tt.published.IsZero() && !a.PublishedAt.Equal(tt.published) {
				t.Errorf("published = %v, want %v", a.PublishedAt, tt.published)
			}
			if tt.author != "" && a.Author != tt.author {
				t.Errorf("author = %q, want %q", a.Author, tt.author)
			}
			for _, w := range tt.want {
				if !strings.Contains(a.Text, w) {
					t.Errorf("text lacks %q; text:\n%s", w, a.Text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(a.Text, w) {
					t.Errorf("text holds boilerplate %q; text:\n%s", w, a.Text)
				}
			}
		})
	}
}

func TestExtractBadInput(t *testing.T) {
	if _, err := Extract(nil, "", ""); !errors.Is(err, ErrEmptyPage) {
		t.Errorf("Extract(nil) error = %v, want ErrEmptyPage", err)
	}
	if _, err := Extract([]byte(" \n\t "), "text/html", ""); !errors.Is(err, ErrEmptyPage) {
		t.Errorf("Extract(blank) error = %v, want ErrEmptyPage", err)
	}
	if a, err := Extract(readTestPage(t, "garbage.bin"), "", ""); !errors.Is(err, ErrBinaryPage) || a.Text != "" {
		t.Errorf("Extract(garbage) = %q, %v; want ErrBinaryPage", a.Text, err)
	}
	// Deep nesting and a huge attribute must not hurt.
	deep := strings.Repeat("<div>", 20000) + "<p>深层嵌套的段落，内容仍应被找到。</p>" + strings.Repeat("</div>", 20000)
	if a, err := Extract([]byte(deep), "", ""); err != nil || !strings.Contains(a.Text, "深层嵌套的段落") {
		t.Errorf("Extract(deep) = %q, %v", a.Text, err)
	}
}

func TestExtractDateFromURL(t *testing.T) {
	page := []byte(`<html><head><meta charset="utf-8"><title>通知</title></head><body><div class="content"><p>本周六上午九点至十一点，小区将进行消防设施检修，届时消防水泵会短暂停用，请居民注意。</p></div></body></html>`)
	for _, u := range []string{
		"https://news.example.cn/2024-04-19/a123.html",
		"https://news.example.cn/2024/04/19/a123.html",
		"https://news.example.cn/c/20240419/a123.shtml",
	} {
		a, err := Extract(page, "", u)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.PublishedAt.Format("2006-01-02"); got != "2024-04-19" {
			t.Errorf("Extract(url %s) published = %s, want 2024-04-19", u, got)
		}
	}
}

func TestExtractParseDate(t *testing.T) {
	cst := time.FixedZone("", 8*3600)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-04-19 08:04", time.Date(2024, 4, 19, 8, 4, 0, 0, cst)},
		{"2024年4月19日 08:04", time.Date(2024, 4, 19, 8, 4, 0, 0, cst)},
		{"2024年04月19日08时04分", time.Date(2024, 4, 19, 8, 4, 0, 0, cst)},
		{"发布时间：2024/4/19 8:04:33 来源：滨江日报", time.Date(2024, 4, 19, 8, 4, 33, 0, cst)},
		{"2019-09-07T13:43:45+08:00", time.Date(2019, 9, 7, 13, 43, 45, 0, cst)},
		{"2019-09-07T05:43:45Z", time.Date(2019, 9, 7, 5, 43, 45, 0, time.UTC)},
		{"2019-09-07T05:43:45.123-0500", time.Date(2019, 9, 7, 10, 43, 45, 0, time.UTC)},
		{"2024.04.19", time.Date(2024, 4, 19, 0, 0, 0, 0, cst)},
		{"March 2, 2024", time.Date(2024, 3, 2, 0, 0, 0, 0, cst)},
		{"1713485040", time.Date(2024, 4, 19, 8, 4, 0, 0, cst)},
		{"20240419", time.Date(2024, 4, 19, 0, 0, 0, 0, cst)},
		{"20240419080433", time.Date(2024, 4, 19, 8, 4, 33, 0, cst)},
	}
	for _, tt := range tests {
		got, ok := extractParseDate(tt.in, cst)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("extractParseDate(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
	for _, bad := range []string{"", "2024-13-01", "2023-02-30", "昨天", "12:30", "20241340", "202404199"} {
		if got, ok := extractParseDate(bad, cst); ok {
			t.Errorf("extractParseDate(%q) = %v, want no date", bad, got)
		}
	}
}

func TestExtractTitle(t *testing.T) {
	tests := []struct {
		title string
		h1    []string
		og    string
		want  string
	}{
		{"路面塌陷 货车陷入坑中_滨江新闻_示例网", nil, "", "路面塌陷 货车陷入坑中"},
		{"路面塌陷 货车陷入坑中|塌陷_示例财经_示例网", nil, "", "路面塌陷 货车陷入坑中"},
		{"路面塌陷 货车陷入坑中 - 示例网", nil, "", "路面塌陷 货车陷入坑中"},
		{"示例网 | 路面塌陷，一辆货车后轮陷入坑中", nil, "", "路面塌陷，一辆货车后轮陷入坑中"},
		{"标题_一_二_示例网", []string{"标题_一_二"}, "", "标题_一_二"},
		{"长三角一体化发展提速-新华网", nil, "", "长三角一体化发展提速"},
		{"关于汛期排查的通知—滨江区人民政府", nil, "", "关于汛期排查的通知"},
		{"COVID-19 cases rise in the region", nil, "", "COVID-19 cases rise in the region"},
		{"5G-A网络覆盖全市-示例日报-示例网", nil, "", "5G-A网络覆盖全市"},
		{"首页", []string{"站点名称"}, "暴雨致多处道路积水", "暴雨致多处道路积水"},
		{"", []string{"只有标题元素"}, "", "只有标题元素"},
	}
	for _, tt := range tests {
		m := &extractMeta{title: tt.title, h1: tt.h1, metas: map[string]string{}}
		if tt.og != "" {
			m.metas["og:title"] = tt.og
		}
		if got, _ := extractTitle(m); got != tt.want {
			t.Errorf("extractTitle(%q, h1 %q, og %q) = %q, want %q", tt.title, tt.h1, tt.og, got, tt.want)
		}
	}
}

func TestDecodeCharset(t *testing.T) {
	const text = "滨江区长宁路工地附近发生路面塌陷，目前事故未造成人员伤亡，相关部门正在调查原因。"
	const textT = "濱江區長寧路工地附近發生路面塌陷，目前事故未造成人員傷亡，相關部門正在調查原因。"
	big5, _, err := transform.Bytes(traditionalchinese.Big5.NewEncoder(), []byte("<p>"+textT+"</p>"))
	if err != nil {
		t.Fatal(err)
	}
	utf16le, _, err := transform.Bytes(unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder(), []byte("<p>"+text+"</p>"))
	if err != nil {
		t.Fatal(err)
	}
	gbkPage := readTestPage(t, "gbk.html")
	gbkUndeclared := readTestPage(t, "undeclared_gb18030.html")
	// A page declared gb2312 using characters only GB18030 has (four-byte
	// sequences): decoding with the superset keeps them.
	const rare = "𠀀㐀鿋"
	gb18030, _, err := transform.Bytes(simplifiedchinese.GB18030.NewEncoder(), []byte(`<meta charset="gb2312"><p>`+text+rare+`</p>`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		raw         []byte
		contentType string
		charset     string
		want        string
	}{
		{"empty", nil, "", "utf-8", ""},
		{"ascii", []byte("<p>plain</p>"), "", "utf-8", "plain"},
		{"header gbk", gbkPage, "text/html; charset=gbk", "gbk", "路面塌陷"},
		{"meta gbk", gbkPage, "", "gbk", "路面塌陷"},
		{"header utf-8 wins over meta but bytes are gbk", gbkPage, "text/html; charset=utf-8", "gb18030", "路面塌陷"},
		{"lenient header", gbkPage, "text/html;charset=\"GBK\";;", "gbk", "路面塌陷"},
		{"unknown label then detection", gbkPage, "text/html; charset=x-nonsense", "gbk", "路面塌陷"},
		{"big5 undeclared", big5, "", "big5", textT},
		{"big5 header", big5, "text/html; charset=big5", "big5", textT},
		{"utf-16le bom", utf16le, "", "utf-16le", text},
		{"utf-8 declared gb2312", []byte(`<meta charset="gb2312"><p>` + text), "", "utf-8", text},
		{"utf-8 header gb2312", []byte(`<p>` + text), "text/html; charset=gb2312", "utf-8", text},
		{"utf-8 with a bad byte", append([]byte("<p>"+text), 0xff, 'x'), "", "utf-8", text},
		{"xml declaration", []byte(`<?xml version="1.0" encoding="utf-8"?><rss><title>` + text + `</title></rss>`), "", "utf-8", text},
		{"gb2312 declared, gb18030 four-byte characters", gb18030, "", "gbk", text + rare},
		{"windows-1252 fallback", []byte("caf\xe9 cr\xe8me"), "", "windows-1252", "café crème"},
		{"latin-1 header on a gbk page with meta", gbkPage, "text/html; charset=ISO-8859-1", "gbk", "路面塌陷"},
		{"latin-1 header on an undeclared gbk page", gbkUndeclared, "text/html; charset=iso-8859-1", "gb18030", "路面塌陷"},
		{"latin-1 header on a utf-8 page", []byte("<p>" + text), "text/html; charset=iso-8859-1", "utf-8", text},
		{"latin-1 header on french text", []byte("<p>Le caf\xe9 de la gare a ferm\xe9 ses portes apr\xe8s l'orage; les pompiers sont intervenus tr\xe8s vite.</p>"), "text/html; charset=iso-8859-1", "windows-1252", "fermé ses portes après"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, cs, err := DecodeCharset(tt.raw, tt.contentType)
			if err != nil {
				t.Fatalf("DecodeCharset: %v", err)
			}
			if cs != tt.charset {
				t.Errorf("charset = %q, want %q", cs, tt.charset)
			}
			if !utf8.Valid(out) {
				t.Errorf("output is not valid UTF-8")
			}
			if !bytes.Contains(out, []byte(tt.want)) {
				t.Errorf("output lacks %q: %.200s", tt.want, out)
			}
		})
	}
}

// FuzzDecodeCharset checks that any bytes under any content type decode to
// valid UTF-8 without panicking.
func FuzzDecodeCharset(f *testing.F) {
	for _, name := range []string{"gbk.html", "big5.html", "bom_utf8.html", "garbage.bin"} {
		f.Add(readTestPage(f, name), "")
	}
	f.Add([]byte("\xfe\xff\x00<\x00p"), "text/html; charset=utf-16")
	f.Add([]byte(`<meta charset="big5">`), "text/html; charset=")
	f.Fuzz(func(t *testing.T, raw []byte, contentType string) {
		out, cs, _ := DecodeCharset(raw, contentType)
		if !utf8.Valid(out) {
			t.Fatalf("DecodeCharset returned invalid UTF-8 (charset %q)", cs)
		}
		if cs == "" {
			t.Fatal("DecodeCharset returned no charset name")
		}
	})
}

// FuzzExtract checks that Extract never panics and always returns valid
// UTF-8.
func FuzzExtract(f *testing.F) {
	for _, name := range []string{"gbk.html", "malformed.html", "jsonld_date.html", "english.html", "garbage.bin"} {
		f.Add(readTestPage(f, name), "", "")
	}
	f.Add([]byte(`<script type="application/ld+json">{"@graph":[{"datePublished":"2024-13-45"}]}</script><h1>x</h1>`), "text/html", "https://x.example/2024/02/30/")
	f.Fuzz(func(t *testing.T, raw []byte, contentType, pageURL string) {
		a, err := Extract(raw, contentType, pageURL)
		if err != nil && !errors.Is(err, ErrEmptyPage) && !errors.Is(err, ErrBinaryPage) {
			t.Fatalf("Extract error: %v", err)
		}
		for _, s := range []string{a.Title, a.Text, a.Author} {
			if !utf8.ValidString(s) {
				t.Fatalf("Extract returned invalid UTF-8: %q", s)
			}
		}
	})
}

// benchPage50K builds a page of about 50 KB: a news article with long
// navigation, related links and comments around it, like a portal page.
func benchPage50K(b *testing.B) []byte {
	base := string(readTestPage(b, "nav_comments.html"))
	var links, paras strings.Builder
	for i := 0; links.Len() < 20000; i++ {
		fmt.Fprintf(&links, `<li><a href="/news/%d.html">本市第%d期城市安全隐患排查结果公布</a></li>`, i, i)
	}
	for paras.Len() < 27000 {
		paras.WriteString("<p>区住建局提醒市民，雨季出行请留意道路状况，发现路面开裂、下沉等异常情况，请及时拨打城市服务热线反映。相关部门已组织专业人员对地下管网进行排查。</p>\n")
	}
	page := strings.Replace(base, `<div class="article-content">`, `<div class="article-content">`+paras.String(), 1)
	page = strings.Replace(page, `<ol>`, `<ol>`+links.String(), 1)
	return []byte(page)
}

func benchmarkExtract(b *testing.B, page []byte) {
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := Extract(page, "", ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		// CPU of the whole process (garbage collection included) per page.
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/page")
	}
}

// BenchmarkExtract2KB extracts a 2 KB GBK news page (decoding included).
func BenchmarkExtract2KB(b *testing.B) {
	benchmarkExtract(b, readTestPage(b, "gbk.html"))
}

// BenchmarkExtract50KB extracts a 50 KB UTF-8 portal page.
func BenchmarkExtract50KB(b *testing.B) {
	page := benchPage50K(b)
	if len(page) < 45000 || len(page) > 55000 {
		b.Fatalf("bench page is %d bytes, want about 50 KB", len(page))
	}
	benchmarkExtract(b, page)
}

// BenchmarkDecodeCharsetGBK decodes a 50 KB GBK page.
func BenchmarkDecodeCharsetGBK(b *testing.B) {
	src := benchPage50K(b)
	src = bytes.Replace(src, []byte(`charset="utf-8"`), []byte(`charset="gbk"`), 1)
	page, _, err := transform.Bytes(simplifiedchinese.GBK.NewEncoder(), src)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		if _, cs, _ := DecodeCharset(page, ""); cs != "gbk" {
			b.Fatalf("charset %q", cs)
		}
	}
}

// BenchmarkExtractParseOnly50KB is the floor under BenchmarkExtract50KB:
// parsing the same page with golang.org/x/net/html and nothing else.
func BenchmarkExtractParseOnly50KB(b *testing.B) {
	page := benchPage50K(b)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := html.Parse(bytes.NewReader(page)); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/page")
	}
}

// TestExtractFallbacks covers the publish-time and author sources used when
// a page has no meta tags: inline scripts, modification times, labelled
// dates anywhere, and bylines that must not be read from prose.
func TestExtractFallbacks(t *testing.T) {
	cst := time.FixedZone("", 8*3600)
	body := `<div class="content"><p>本周六上午九点至十一点，小区将进行消防设施检修，届时消防水泵会短暂停用，请居民注意。</p><p>检修期间如发现异常情况，请及时联系物业服务中心，物业将安排人员值守。</p></div>`
	tests := []struct {
		name      string
		page      string
		published time.Time
		author    string
	}{
		{"wechat ct", `<html><head><meta charset="utf-8"><title>通知</title><script>var ct = "1713485040";</script></head><body>` + body + `</body></html>`,
			time.Date(2024, 4, 19, 8, 4, 0, 0, cst), ""},
		{"json publish_time in a script", `<html><head><meta charset="utf-8"><title>通知</title><script>window.DATA={"publish_time":"2024-04-19 08:04:00"};</script></head><body>` + body + `</body></html>`,
			time.Date(2024, 4, 19, 8, 4, 0, 0, cst), ""},
		{"modified time as the last resort", `<html><head><meta charset="utf-8"><title>通知</title><meta itemprop="dateUpdate" content="2024-04-20 10:00:00"></head><body>` + body + `</body></html>`,
			time.Date(2024, 4, 20, 10, 0, 0, 0, cst), ""},
		{"labelled date far from the title", `<html><head><meta charset="utf-8"><title>通知</title></head><body><div>今天是2024年4月22日</div>` + body + `<div>发布时间：2024-04-19</div></body></html>`,
			time.Date(2024, 4, 19, 0, 0, 0, 0, cst), ""},
		{"no byline in prose", `<html><head><meta charset="utf-8"><title>儿歌被改 原作者女儿：改成这样不好</title></head><body><h1>儿歌被改 原作者女儿：改成这样不好</h1>` + body + `</body></html>`,
			time.Time{}, ""},
		{"reporter in parentheses", `<html><head><meta charset="utf-8"><title>通知</title></head><body><div class="content"><p>本报讯（记者周明）本周六上午，小区将进行消防设施检修，届时消防水泵会短暂停用。</p></div></body></html>`,
			time.Time{}, "周明"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Extract([]byte(tt.page), "", "")
			if err != nil {
				t.Fatal(err)
			}
			if !a.PublishedAt.Equal(tt.published) {
				t.Errorf("published = %v, want %v", a.PublishedAt, tt.published)
			}
			if a.Author != tt.author {
				t.Errorf("author = %q, want %q", a.Author, tt.author)
			}
		})
	}
}
