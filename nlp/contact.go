package nlp

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ExtractEntities finds contact and payment details in text, in order of
// position: phone numbers (mobiles 1[3-9]… with or without +86 and
// separators, landlines with an area code 0xx-xxxxxxxx, 400/800 numbers),
// bank-card numbers (16 to 19 digits, grouped or not, passing the Luhn
// check and not a resident identity number), URLs (with a scheme, www. or a
// bare domain with a common top-level domain), amounts of money (5000元,
// 3.5万元, ¥200, 人民币十万元; Value in yuan) and QQ or WeChat ids introduced
// as such (QQ号123456, 加微信abc_123). Text is expected normalised as
// NormalizeText does (width-folded, lower case).
func ExtractEntities(text string) []Entity {
	// Match on an ASCII-lower-cased copy (same byte offsets) so QQ, WX and
	// HTTPS:// are found in text that was not case-folded; report the
	// original.
	orig := text
	text = ctASCIILower(text)
	var spans []ctSpan
	spans = append(spans, ctMarked(text)...)
	spans = append(spans, ctURLs(text)...)
	spans = append(spans, ctNumbers(text, spans)...)
	spans = append(spans, ctMoney(text, spans)...)
	for i := range spans {
		if k := spans[i].kind; k == "url" || k == "wechat" {
			spans[i].value = orig[spans[i].start:spans[i].end]
		}
	}
	text = orig
	slices.SortStableFunc(spans, func(a, b ctSpan) int { return a.start - b.start })
	out := make([]Entity, 0, len(spans))
	conv := newLocRuneCounter(text)
	for _, s := range spans {
		out = append(out, Entity{Kind: s.kind, Text: text[s.start:s.end], Start: conv.at(s.start), End: conv.at(s.end), Value: s.value})
	}
	return out
}

// ctASCIILower lower-cases ASCII letters only, keeping every byte offset.
func ctASCIILower(s string) string {
	i := 0
	for i < len(s) && !(s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if b[i] >= 'A' && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// ctSpan is an entity with byte offsets.
type ctSpan struct {
	start, end  int
	kind, value string
}

func ctOverlaps(spans []ctSpan, start, end int) bool {
	for _, s := range spans {
		if start < s.end && s.start < end {
			return true
		}
	}
	return false
}

func ctIsDigit(b byte) bool { return b >= '0' && b <= '9' }

func ctIsAlnum(b byte) bool { return ctIsDigit(b) || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// ctMarkers introduce QQ and WeChat ids.
var ctMarkers = []struct{ word, kind string }{
	{"qq", "qq"}, {"扣扣", "qq"}, {"微信", "wechat"}, {"薇信", "wechat"}, {"威信", "wechat"},
	{"v信", "wechat"}, {"vx", "wechat"}, {"wx", "wechat"},
}

// ctMarked finds QQ and WeChat ids after their marker: QQ号：123456,
// 微信号是 abc_123, 加vx 13800138000.
func ctMarked(text string) []ctSpan {
	var out []ctSpan
	for _, m := range ctMarkers {
		for off := 0; off < len(text); {
			i := strings.Index(text[off:], m.word)
			if i < 0 {
				break
			}
			i += off
			off = i + len(m.word)
			if m.word[0] < 0x80 && i > 0 && ctIsAlnum(text[i-1]) {
				continue // part of a longer ASCII word
			}
			j := off
			for moved := true; moved; {
				moved = false
				for _, f := range []string{"号码", "账号", "帐号", "号", "群", ":", "：", "是", "为", " ", "-"} {
					if strings.HasPrefix(text[j:], f) {
						j += len(f)
						moved = true
					}
				}
			}
			k := j
			for k < len(text) && (ctIsAlnum(text[k]) || text[k] == '_' || text[k] == '-') {
				k++
			}
			id := text[j:k]
			ok := false
			if m.kind == "qq" {
				ok = len(id) >= 5 && len(id) <= 11 && id[0] != '0' && strings.Trim(id, "0123456789") == ""
			} else {
				ok = len(id) >= 6 && len(id) <= 20 && (id[0] >= 'a' && id[0] <= 'z' || strings.Trim(id, "0123456789") == "" && len(id) == 11 && id[0] == '1')
			}
			if ok && !ctOverlaps(out, j, k) {
				out = append(out, ctSpan{j, k, m.kind, id})
			}
		}
	}
	return out
}

// ctTLDs are the top-level domains accepted on a domain written without
// http:// or www.; others (a.b in prose, 3.5) would be too easily mistaken.
var ctTLDs = map[string]bool{
	"com": true, "cn": true, "net": true, "org": true, "top": true, "xyz": true, "vip": true,
	"cc": true, "io": true, "me": true, "info": true, "app": true, "shop": true, "site": true,
	"online": true, "co": true, "tv": true, "club": true, "ltd": true, "hk": true, "tw": true,
	"gov": true, "edu": true, "biz": true, "ink": true, "fun": true, "icu": true, "link": true,
}

// ctURLChars marks the bytes a URL may hold.
var ctURLChars = func() (t [256]bool) {
	for b := 0; b < 256; b++ {
		t[b] = ctIsAlnum(byte(b)) || strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", byte(b)) >= 0
	}
	return t
}()

func ctURLChar(b byte) bool { return ctURLChars[b] }

// ctURLs finds URLs: runs of URL characters that start with a scheme or
// www., or whose host is a domain with a known top-level domain.
func ctURLs(text string) []ctSpan {
	var out []ctSpan
	for i := 0; i < len(text); {
		if !ctURLChar(text[i]) || text[i] == '.' || text[i] == '-' {
			i++
			continue
		}
		j := i
		for j < len(text) && ctURLChar(text[j]) {
			j++
		}
		run := text[i:j]
		// Trailing punctuation belongs to the sentence.
		for len(run) > 0 && strings.IndexByte(".,;:!?()'\"[]", run[len(run)-1]) >= 0 {
			run = run[:len(run)-1]
		}
		start := i
		if k := strings.Index(run, "http://"); k < 0 {
			if k = strings.Index(run, "https://"); k > 0 {
				start, run = i+k, run[k:]
			}
		} else if k > 0 {
			start, run = i+k, run[k:]
		}
		if ctLooksLikeURL(run) {
			out = append(out, ctSpan{start, start + len(run), "url", run})
		}
		i = j
	}
	return out
}

func ctLooksLikeURL(run string) bool {
	if strings.HasPrefix(run, "http://") || strings.HasPrefix(run, "https://") {
		return len(run) > len("https://") && strings.Contains(run, ".")
	}
	if strings.Contains(run, "@") {
		return false // an e-mail address, not a link
	}
	host := run
	if k := strings.IndexAny(host, "/?#:"); k >= 0 {
		host = host[:k]
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return false
	}
	letters := false
	for _, l := range labels {
		if l == "" {
			return false
		}
		for k := 0; k < len(l); k++ {
			if !(ctIsAlnum(l[k]) || l[k] == '-') {
				return false
			}
			letters = letters || !ctIsDigit(l[k])
		}
	}
	if strings.HasPrefix(host, "www.") {
		return true
	}
	return letters && ctTLDs[labels[len(labels)-1]]
}

// ctPhoneCues before a number make an unseparated landline believable.
var ctPhoneCues = []string{"电话", "座机", "热线", "致电", "拨打", "联系", "tel", "手机"}

// ctNumbers finds phone and bank-card numbers among runs of digits that
// may be grouped by single spaces or hyphens.
func ctNumbers(text string, taken []ctSpan) []ctSpan {
	var out []ctSpan
	for i := 0; i < len(text); {
		if !ctIsDigit(text[i]) && !(text[i] == '+' || text[i] == '(') {
			i++
			continue
		}
		if i > 0 && (ctIsAlnum(text[i-1]) || text[i-1] == '.') {
			i++
			continue
		}
		start, j := i, i
		plus := false
		area := ""
		if text[j] == '+' {
			if !strings.HasPrefix(text[j:], "+86") {
				i++
				continue
			}
			plus, j = true, j+3
			for j < len(text) && (text[j] == ' ' || text[j] == '-') {
				j++
			}
		} else if text[j] == '(' {
			k := j + 1
			for k < len(text) && ctIsDigit(text[k]) {
				k++
			}
			if k-j-1 < 3 || k-j-1 > 4 || k >= len(text) || text[k] != ')' || text[j+1] != '0' {
				i++
				continue
			}
			area, j = text[j+1:k], k+1
			for j < len(text) && (text[j] == ' ' || text[j] == '-') {
				j++
			}
		}
		var buf [24]byte
		digits := buf[:0]
		var gbuf [8]int
		groups := gbuf[:0]
		for j < len(text) {
			g := 0
			for j < len(text) && ctIsDigit(text[j]) {
				if len(digits) < cap(buf) { // longer runs are no phone or card anyway
					digits = append(digits, text[j])
				}
				j++
				g++
			}
			if g == 0 {
				break
			}
			groups = append(groups, g)
			if j+1 < len(text) && (text[j] == ' ' || text[j] == '-') && ctIsDigit(text[j+1]) && len(digits) < 19 {
				j++
				continue
			}
			break
		}
		end := j
		if len(digits) == 0 || end < len(text) && (ctIsAlnum(text[end]) || text[end] == '.' && end+1 < len(text) && ctIsDigit(text[end+1])) {
			i = max(end, i+1)
			continue
		}
		d := string(digits)
		kind, value := ctClassify(text, start, d, groups, plus, area)
		if kind != "" && !ctOverlaps(taken, start, end) {
			out = append(out, ctSpan{start, end, kind, value})
		}
		i = end
	}
	return out
}

func ctClassify(text string, start int, d string, groups []int, plus bool, area string) (kind, value string) {
	if area != "" {
		if len(d) >= 7 && len(d) <= 8 {
			return "phone", area + "-" + d
		}
		return "", ""
	}
	mobile := d
	if (plus || len(groups) > 1 && groups[0] == 2) && strings.HasPrefix(mobile, "86") {
		mobile = mobile[2:]
	} else if len(d) == 13 && strings.HasPrefix(d, "86") {
		mobile = d[2:]
	}
	if len(mobile) == 11 && mobile[0] == '1' && mobile[1] >= '3' && mobile[1] <= '9' {
		return "phone", mobile
	}
	if plus {
		return "", ""
	}
	if (strings.HasPrefix(d, "400") || strings.HasPrefix(d, "800")) && len(d) == 10 {
		return "phone", d
	}
	if d[0] == '0' && len(d) >= 10 && len(d) <= 12 {
		if len(groups) >= 2 && (groups[0] == 3 || groups[0] == 4) {
			return "phone", d[:groups[0]] + "-" + d[groups[0]:]
		}
		if len(groups) == 1 && ctCued(text, start) {
			a := 4
			if d[1] == '1' || d[1] == '2' {
				a = 3
			}
			return "phone", d[:a] + "-" + d[a:]
		}
		return "", ""
	}
	if len(d) >= 16 && len(d) <= 19 && ctLuhn(d) && !ctResidentID(d) {
		if len(groups) == 1 || groups[0] == 4 || groups[0] == 6 {
			return "bank_card", d
		}
	}
	return "", ""
}

// ctCued reports a phone word shortly before start.
func ctCued(text string, start int) bool {
	from := max(0, start-18)
	for from > 0 && !utf8.RuneStart(text[from]) {
		from--
	}
	before := text[from:start]
	for _, c := range ctPhoneCues {
		if strings.Contains(before, c) {
			return true
		}
	}
	return false
}

// ctLuhn checks the Luhn digit that bank cards carry.
func ctLuhn(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// ctResidentID reports an 18-digit resident identity number (GB 11643:
// birth date and ISO 7064 MOD 11-2 check digit), which is not a card.
func ctResidentID(d string) bool {
	if len(d) != 18 {
		return false
	}
	y, _ := strconv.Atoi(d[6:10])
	m, _ := strconv.Atoi(d[10:12])
	day, _ := strconv.Atoi(d[12:14])
	if y < 1900 || y > 2100 || !txValidDate(y, m, day) {
		return false
	}
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(d[i]-'0') * w
	}
	return "10x98765432"[sum%11] == d[17]
}

// ctMoney finds amounts of money: a number with 元, 块钱 or 圆, or after ¥,
// rmb or 人民币; 万 and 亿 multiply. Value is in yuan.
func ctMoney(text string, taken []ctSpan) []ctSpan {
	var out []ctSpan
	for i := 0; i < len(text); {
		if c := text[i]; c < 0x80 {
			if !ctIsDigit(c) && c != 'r' {
				i++
				continue
			}
		} else if r, size := utf8.DecodeRuneInString(text[i:]); txDigitValue(r) < 0 && ctUnit(r) == 0 && r != '人' && r != '¥' && r != '￥' {
			i += size
			continue
		}
		start := i
		j := i
		prefixed := false
		for _, p := range []string{"人民币", "rmb", "¥", "￥"} {
			if strings.HasPrefix(text[j:], p) {
				j += len(p)
				prefixed = true
				for j < len(text) && text[j] == ' ' {
					j++
				}
				break
			}
		}
		v, k, arabic := ctAmount(text, j)
		if k == j || (!prefixed && i > 0 && (ctIsAlnum(text[i-1]) || text[i-1] == '.')) {
			// Skip the whole number: restarting inside it would be quadratic.
			_, size := utf8.DecodeRuneInString(text[i:])
			i = max(k, i+size)
			continue
		}
		if v < 0 {
			i = k
			continue
		}
		if strings.HasPrefix(text[k:], "多") {
			k += len("多")
		}
		unit := ""
		for _, u := range []string{"元整", "元", "块钱", "圆", "块"} {
			if strings.HasPrefix(text[k:], u) {
				unit = u
				break
			}
		}
		after := k + len(unit)
		next, _ := utf8.DecodeRuneInString(text[after:])
		switch {
		case unit == "块" && !arabic:
			unit = "" // 一块 is also "together" or "a piece"
		case unit == "元" && strings.ContainsRune("旦素件宵首帅老", next):
			unit = ""
		}
		if unit == "" && !prefixed {
			_, size := utf8.DecodeRuneInString(text[i:])
			i = max(k, i+size)
			continue
		}
		end := k + len(unit)
		if !ctOverlaps(taken, start, end) && v >= 0 && v < 1e15 {
			out = append(out, ctSpan{start, end, "money", ctYuan(v)})
		}
		i = end
	}
	return out
}

// ctAmount reads 5000, 1,200.50, 3.5万, 1.2亿, 十万, 三千五百, 两万 and
// says whether it began with Arabic digits; it returns end == j when there
// is no number and a negative value for a digit string too long to be one.
func ctAmount(text string, j int) (float64, int, bool) {
	k := j
	if k < len(text) && ctIsDigit(text[k]) {
		for k < len(text) && (ctIsDigit(text[k]) || text[k] == ',' && k+3 < len(text) && ctIsDigit(text[k+1]) && ctIsDigit(text[k+2]) && ctIsDigit(text[k+3])) {
			k++
		}
		if k+1 < len(text) && text[k] == '.' && ctIsDigit(text[k+1]) {
			k++
			for k < len(text) && ctIsDigit(text[k]) {
				k++
			}
		}
		if k-j > 20 {
			return -1, k, true // a long digit string is no amount; skip it whole
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(text[j:k], ",", ""), 64)
		if err != nil {
			return -1, k, true
		}
		for {
			switch {
			case strings.HasPrefix(text[k:], "万"):
				v, k = v*1e4, k+len("万")
				continue
			case strings.HasPrefix(text[k:], "亿"):
				v, k = v*1e8, k+len("亿")
				continue
			case strings.HasPrefix(text[k:], "千"):
				v, k = v*1e3, k+len("千")
				continue
			case strings.HasPrefix(text[k:], "百"):
				v, k = v*100, k+len("百")
				continue
			}
			break
		}
		return v, k, true
	}
	// Chinese numerals, with sections for 万 and 亿.
	var total, section, num float64
	seen := false
	for k < len(text) {
		r, size := utf8.DecodeRuneInString(text[k:])
		if d := txDigitValue(r); d >= 0 {
			num = num*10 + float64(d)
			if r == '零' || r == '〇' {
				num = 0
			}
		} else if u := ctUnit(r); u > 0 {
			if num == 0 {
				num = 1
			}
			section += num * u
			num = 0
		} else if r == '万' || r == '亿' {
			if !seen {
				break
			}
			big := 1e4
			if r == '亿' {
				big = 1e8
				total = (total + section + num) * big
			} else {
				total += (section + num) * big
			}
			section, num = 0, 0
		} else {
			break
		}
		seen = true
		k += size
	}
	if !seen {
		return 0, j, false
	}
	return total + section + num, k, false
}

// ctUnit is the value of 十, 百 and 千, else 0.
func ctUnit(r rune) float64 {
	switch r {
	case '十':
		return 10
	case '百':
		return 100
	case '千':
		return 1000
	}
	return 0
}

// ctYuan formats an amount without the float noise of 2.35万亿 while
// keeping the decimals written (a fund's 0.369元).
func ctYuan(v float64) string {
	if v < 1e11 {
		v = math.Round(v*1e4) / 1e4
	} else {
		v = math.Round(v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
