package crawler

import (
	"bytes"
	"fmt"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// charsetSniffLen is how far into a document DecodeCharset looks for a
// <meta> charset declaration. The HTML standard says 1024 bytes, but Chinese
// portals often put scripts and long keyword lists first.
const charsetSniffLen = 8192

// metaCharsetRe finds charset=… in a <meta charset> or an http-equiv
// Content-Type meta element.
var metaCharsetRe = regexp.MustCompile(`(?is)<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([a-z0-9_.:\-]+)`)

// xmlEncodingRe finds the encoding of an XML declaration (feeds).
var xmlEncodingRe = regexp.MustCompile(`(?i)^\s*<\?xml[^>]*\bencoding\s*=\s*["']([a-z0-9_.:\-]+)["']`)

// DecodeCharset converts raw page or feed bytes to UTF-8 and names the
// charset it decoded from (WHATWG names: "utf-8", "gbk", "gb18030", "big5",
// "utf-16le", "windows-1252", …).
//
// The charset is taken from, in order: a byte-order mark, the charset
// parameter of contentType (the HTTP Content-Type header, "" when unknown), a
// <meta charset> or http-equiv declaration or an XML declaration, and
// finally detection among UTF-8, GB18030 and Big5. A declaration is not
// trusted blindly: a page declared as a legacy charset whose bytes are valid
// UTF-8 with non-ASCII text is decoded as UTF-8 (Chinese sites often declare
// gb2312 and serve UTF-8), and a page declared UTF-8 whose bytes are not
// UTF-8 is detected. GBK and GB2312 are decoded with the GB18030 decoder, a
// superset of both. Invalid byte sequences become U+FFFD; the result is
// always valid UTF-8 and the call never panics. err is non-nil only when the
// decoder failed outright; utf8 then still holds a best-effort conversion.
func DecodeCharset(raw []byte, contentType string) (utf8Out []byte, name string, err error) {
	if len(raw) == 0 {
		return []byte{}, "utf-8", nil
	}
	if enc, n, size := charsetFromBOM(raw); enc != nil {
		return charsetDecodeWith(enc, n, raw[size:])
	}
	for _, label := range []string{charsetFromContentType(contentType), charsetFromDocument(raw)} {
		if label == "" {
			continue
		}
		enc, n := charset.Lookup(label)
		switch {
		case enc == nil:
			// An unknown label: try the next declaration, then detection.
			continue
		case n == "utf-8":
			if utf8.Valid(raw) || charsetMostlyUTF8(raw) {
				return charsetValidUTF8(raw), "utf-8", nil
			}
		case n == "windows-1252" && charsetHasMultibyte(raw):
			// Servers default to ISO-8859-1 in the header for pages that
			// are GBK or UTF-8; trust the page's own declaration or
			// detection (which keeps windows-1252 for Western text).
			continue
		case n == "utf-16le" || n == "utf-16be" || n == "replacement" || n == "x-user-defined":
			// Without a BOM a UTF-16 label on an HTML page is almost
			// always wrong (the declaration itself was readable as ASCII).
		default:
			if utf8.Valid(raw) && charsetHasMultibyte(raw) {
				return charsetValidUTF8(raw), "utf-8", nil
			}
			if n == "gbk" || n == "gb18030" {
				enc = simplifiedchinese.GB18030
			}
			return charsetDecodeWith(enc, n, raw)
		}
		break
	}
	return charsetDetect(raw)
}

// charsetFromBOM recognises UTF-8 and UTF-16 byte-order marks.
func charsetFromBOM(raw []byte) (encoding.Encoding, string, int) {
	switch {
	case bytes.HasPrefix(raw, []byte{0xEF, 0xBB, 0xBF}):
		return unicode.UTF8, "utf-8", 3
	case bytes.HasPrefix(raw, []byte{0xFF, 0xFE}):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "utf-16le", 2
	case bytes.HasPrefix(raw, []byte{0xFE, 0xFF}):
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), "utf-16be", 2
	}
	return nil, "", 0
}

// charsetFromContentType returns the charset parameter of a Content-Type
// header value, or "".
func charsetFromContentType(contentType string) string {
	if contentType == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		// Servers send things like "text/html;charset=gbk;"; be lenient.
		i := strings.Index(strings.ToLower(contentType), "charset=")
		if i < 0 {
			return ""
		}
		v := contentType[i+len("charset="):]
		if j := strings.IndexAny(v, "; \t"); j >= 0 {
			v = v[:j]
		}
		return strings.Trim(v, `"'`)
	}
	return strings.TrimSpace(params["charset"])
}

// charsetFromDocument looks for a meta or XML charset declaration near the
// start of the document.
func charsetFromDocument(raw []byte) string {
	head := raw
	if len(head) > charsetSniffLen {
		head = head[:charsetSniffLen]
	}
	if m := xmlEncodingRe.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	if m := metaCharsetRe.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}

// charsetHasMultibyte reports whether b contains a byte ≥ 0x80.
func charsetHasMultibyte(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// charsetMostlyUTF8 reports whether b is UTF-8 apart from a few damaged
// sequences (a truncated page, one bad byte in a comment), so a UTF-8
// declaration is kept rather than re-detected.
func charsetMostlyUTF8(b []byte) bool {
	good, bad := 0, 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			bad++
		case size > 1:
			good++
		}
		b = b[size:]
	}
	return bad*10 < good
}

// charsetValidUTF8 returns b with invalid sequences replaced by U+FFFD.
func charsetValidUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

// charsetDecodeWith decodes b with enc and guarantees valid UTF-8 output.
func charsetDecodeWith(enc encoding.Encoding, name string, b []byte) ([]byte, string, error) {
	out, _, err := transform.Bytes(enc.NewDecoder(), b)
	if err != nil {
		return charsetValidUTF8(b), name, fmt.Errorf("crawler: decode %s: %w", name, err)
	}
	return charsetValidUTF8(out), name, nil
}

// charsetCommonHan are very frequent characters of Chinese prose, in
// simplified and traditional forms (chosen from the top of Jun Da's Modern
// Chinese Character Frequency List, a public fact table). Text decoded with the right charset is
// full of them; the wrong one yields rare characters and errors.
const charsetCommonHan = "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵庆贫" +
	"這個們來為會說對時過發後國裡與當沒動長開從實經現麼種點兩樣問題還學業進體應關見給將無說話讓認錢間頭聽電車報場員產機處條書義東們幾麼萬聲難邊總總邊輕運氣門區選"

// charsetCommonSet is charsetCommonHan as a lookup table.
var charsetCommonSet = func() map[rune]bool {
	m := make(map[rune]bool, utf8.RuneCountInString(charsetCommonHan))
	for _, r := range charsetCommonHan {
		m[r] = true
	}
	return m
}()

// charsetDetect guesses the charset of an undeclared (or wrongly declared)
// document: UTF-8 when it is valid UTF-8, else whichever of GB18030 and Big5
// yields more frequent Chinese characters and fewer errors, else
// windows-1252, the web's historical default.
func charsetDetect(raw []byte) ([]byte, string, error) {
	if utf8.Valid(raw) {
		return raw, "utf-8", nil
	}
	sample := raw
	if len(sample) > 64<<10 {
		sample = sample[:64<<10]
	}
	if charsetMostlyUTF8(sample) {
		return charsetValidUTF8(raw), "utf-8", nil
	}
	best, bestName, bestScore := encoding.Encoding(nil), "", 0.0
	for _, c := range []struct {
		enc  encoding.Encoding
		name string
	}{{simplifiedchinese.GB18030, "gb18030"}, {traditionalchinese.Big5, "big5"}} {
		if s := charsetHanScore(c.enc, sample); s > bestScore {
			best, bestName, bestScore = c.enc, c.name, s
		}
	}
	// Chinese prose is mostly common characters (the list covers about
	// nine in ten); Western text misread as GB18030 or Big5 yields
	// random ones.
	if best != nil && bestScore > 0.4 {
		return charsetDecodeWith(best, bestName, raw)
	}
	enc, _ := charset.Lookup("windows-1252")
	return charsetDecodeWith(enc, "windows-1252", raw)
}

// charsetHanScore decodes sample with enc and scores the result: the share
// of decoded Han characters that are common, minus a penalty per decoding
// error. It is 0 when the sample holds no common Han characters.
func charsetHanScore(enc encoding.Encoding, sample []byte) float64 {
	out, _, err := transform.Bytes(enc.NewDecoder(), sample)
	if err != nil {
		return 0
	}
	han, common, bad := 0, 0, 0
	for _, r := range string(out) {
		switch {
		case r == utf8.RuneError:
			bad++
		case r >= 0x3400 && r <= 0x9FFF:
			han++
			if charsetCommonSet[r] {
				common++
			}
		}
	}
	if common == 0 {
		return 0
	}
	return float64(common)/float64(han) - 2*float64(bad)/float64(han+bad)
}
