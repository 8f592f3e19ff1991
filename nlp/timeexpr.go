package nlp

import (
	"strings"
	"time"
	"unicode/utf8"
)

// txCST is China Standard Time. Chinese posts write wall-clock times in it
// whatever the reader's zone, and China has kept UTC+8 without daylight
// saving since 1991, so a fixed zone needs no tz database.
var txCST = time.FixedZone("CST", 8*3600)

// ExtractTimes finds dates and times in text and resolves them against ref:
// absolute dates (2024年4月19日, 2024-04-19 08:04, 四月十九日), dates without
// a year (4月19日, 19日上午), relative days (昨天, 前天晚上, 今早, 明晚),
// weekdays (上周五, 星期三), times of day (8点4分, 下午1点多, 7时许, 凌晨3点,
// 08:30), and offsets (3天前, 两个小时前, 刚刚).
//
// Every expression is read as China Standard Time (UTC+8): ref is converted
// to it to find "today", and Time is returned in it. A date without a year
// takes the year that puts it nearest to ref; a weekday or time of day
// without a date takes the date of the previous mention in the text, or
// else its latest occurrence not after ref. A zero ref resolves only
// expressions that carry their year.
func ExtractTimes(text string, ref time.Time) []TimeMention {
	var out []TimeMention
	refC := ref.In(txCST)
	var anchor time.Time // the day of the latest dated mention
	conv := newLocRuneCounter(text)
	prevDigit := false
	prev := rune(0)
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		// 一周日常 is "a week of daily life", not Sunday.
		countedWeek := r == '周' && (txDigitValue(prev) >= 0 || prev == '几' || prev == '每')
		if !prevDigit && !countedWeek && txStarts(r) {
			if m, end, ok := txParse(text, i, refC, ref.IsZero(), anchor); ok {
				m.Text = text[i:end]
				m.Start, m.End = conv.at(i), conv.at(end)
				out = append(out, m)
				if m.Precision != "year" && m.Precision != "month" {
					anchor = time.Date(m.Time.Year(), m.Time.Month(), m.Time.Day(), 0, 0, 0, 0, txCST)
				}
				i = end
				prevDigit = false
				prev, _ = utf8.DecodeLastRuneInString(text[:end])
				continue
			}
		}
		prevDigit = r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.'
		prev = r
		i += size
	}
	return out
}

// txStarts reports whether a time expression can begin with r.
func txStarts(r rune) bool {
	if r < 0x80 {
		return r >= '0' && r <= '9'
	}
	switch r {
	case '零', '〇', '一', '二', '两', '三', '四', '五', '六', '七', '八', '九', '十',
		'今', '昨', '前', '明', '后', '去', '大', '上', '本', '这', '下', '周', '星', '礼',
		'凌', '清', '早', '中', '午', '傍', '晚', '夜', '深', '半', '刚':
		return true
	}
	return false
}

// txState collects the parts of one expression.
type txState struct {
	y, mo, d       int // 0 when not given
	h, mi, s       int // -1 when not given
	period         int // start hour of 上午, 晚上… or -1
	periodName     string
	precision      string
	relative       time.Time // an already resolved instant (3天前, 刚刚)
	hasDate, yearK bool
}

// txPeriods are parts of the day with the hour each starts at, longest first.
var txPeriods = []struct {
	word string
	hour int
}{
	{"凌晨", 0}, {"清晨", 5}, {"早晨", 6}, {"早上", 6}, {"早间", 6}, {"上午", 8},
	{"中午", 11}, {"午间", 11}, {"下午", 13}, {"午后", 13}, {"傍晚", 17}, {"晚上", 19},
	{"晚间", 19}, {"夜里", 22}, {"夜间", 22}, {"深夜", 23}, {"半夜", 23}, {"午夜", 23},
}

// txDayWords are relative days, with an implied part of the day.
var txDayWords = []struct {
	word   string
	offset int
	period string
}{
	{"大前天", -3, ""}, {"前天", -2, ""}, {"昨天", -1, ""}, {"昨日", -1, ""},
	{"昨晚", -1, "晚上"}, {"昨夜", -1, "夜里"}, {"昨晨", -1, "早晨"},
	{"今天", 0, ""}, {"今日", 0, ""}, {"今晨", 0, "早晨"}, {"今早", 0, "早上"},
	{"今晚", 0, "晚上"}, {"今夜", 0, "夜里"}, {"明天", 1, ""}, {"明日", 1, ""},
	{"明早", 1, "早上"}, {"明晚", 1, "晚上"}, {"后天", 2, ""}, {"大后天", 3, ""},
}

func txParse(text string, i int, ref time.Time, noRef bool, anchor time.Time) (TimeMention, int, bool) {
	st := txState{h: -1, mi: -1, s: -1, period: -1}
	j := i
	rest := func() string { return text[j:] }

	// Each part is tried only when the first character can begin it: the
	// starters include frequent characters (一, 上, 中, 前) and this keeps
	// their cost to a few comparisons.
	r0, _ := utf8.DecodeRuneInString(text[i:])
	numeric := txDigitValue(r0) >= 0 || r0 == '十'
	if r0 == '刚' {
		for _, w := range []string{"刚刚", "刚才"} {
			if strings.HasPrefix(rest(), w) {
				if noRef {
					return TimeMention{}, 0, false
				}
				return TimeMention{Time: ref.Truncate(time.Minute), Precision: "minute"}, j + len(w), true
			}
		}
		return TimeMention{}, 0, false
	}
	if numeric || r0 == '半' {
		if m, end, ok := txAgo(text, j, ref); ok {
			if noRef {
				return TimeMention{}, 0, false
			}
			return m, end, true
		}
	}

	// The date.
	switch {
	case r0 >= '0' && r0 <= '9':
		if k, ok := txISODate(text, j, &st); ok {
			j = k
		} else if k, ok := txCalendar(text, j, &st, ref); ok {
			j = k
		}
	case strings.ContainsRune("大前昨今明后", r0):
		if k, ok := txDayWord(text, j, &st, ref); ok {
			j = k
		} else if k, ok := txCalendar(text, j, &st, ref); ok {
			j = k
		}
	case strings.ContainsRune("上本这下周星礼", r0):
		if k, ok := txWeekday(text, j, &st, ref, anchor); ok {
			j = k
		}
	case numeric || r0 == '去':
		if k, ok := txCalendar(text, j, &st, ref); ok {
			j = k
		}
	}
	// The part of the day.
	if r, _ := utf8.DecodeRuneInString(rest()); strings.ContainsRune("凌清早上中午下傍晚夜深半", r) {
		for _, p := range txPeriods {
			if strings.HasPrefix(rest(), p.word) {
				st.period, st.periodName = p.hour, p.word
				j += len(p.word)
				break
			}
		}
	}
	// The clock.
	if r, _ := utf8.DecodeRuneInString(rest()); txDigitValue(r) >= 0 || r == '十' {
		if k, ok := txClock(text, j, &st); ok {
			j = k
		}
	}

	if !st.hasDate && st.period < 0 && st.h < 0 {
		return TimeMention{}, 0, false
	}
	if noRef && !st.yearK {
		return TimeMention{}, 0, false
	}
	var day time.Time
	switch {
	case st.hasDate:
		day = time.Date(st.y, time.Month(st.mo), st.d, 0, 0, 0, 0, txCST)
	case st.period >= 0 && st.h < 0:
		// 晚上 alone, without a day or an hour, says too little.
		return TimeMention{}, 0, false
	case !anchor.IsZero():
		day = anchor
	default:
		day = time.Date(ref.Year(), ref.Month(), ref.Day(), 0, 0, 0, 0, txCST)
	}
	t, prec := day, st.precision
	if st.h >= 0 {
		h := st.h
		switch {
		case st.period >= 13 && st.period < 23 && h < 12:
			h += 12
		case st.period == 11 && h <= 3:
			h += 12
		case st.period == 23 && h >= 10:
			h = h%12 + 12 // 深夜11点 → 23, 半夜12点 → 24 (midnight)
		case st.period == 0 && h == 12:
			h = 0
		}
		t = day.Add(time.Duration(h) * time.Hour)
		prec = "hour"
		if st.mi >= 0 {
			t = t.Add(time.Duration(st.mi) * time.Minute)
			prec = "minute"
		}
		if st.s >= 0 {
			t = t.Add(time.Duration(st.s) * time.Second)
			prec = "second"
		}
		if !st.hasDate && anchor.IsZero() && t.After(ref) {
			// A bare time of day is the latest one not after ref.
			t = t.AddDate(0, 0, -1)
		}
	} else if st.period >= 0 {
		t = day.Add(time.Duration(st.period) * time.Hour)
		prec = "part_of_day"
	}
	for _, w := range []string{"许", "左右", "多", "前后"} {
		if st.h >= 0 && strings.HasPrefix(rest(), w) {
			j += len(w)
			break
		}
	}
	return TimeMention{Time: t, Precision: prec}, j, true
}

// txAgo reads offsets back from ref: 3天前, 两个小时前, 半个月以前.
func txAgo(text string, j int, ref time.Time) (TimeMention, int, bool) {
	n, k := txNumber(text, j)
	half := false
	if k == j {
		if !strings.HasPrefix(text[j:], "半") {
			return TimeMention{}, 0, false
		}
		half, k = true, j+len("半")
	}
	if strings.HasPrefix(text[k:], "个") {
		k += len("个")
	}
	units := []struct {
		word string
		prec string
	}{{"小时", "hour"}, {"钟头", "hour"}, {"分钟", "minute"}, {"天", "day"}, {"日", "day"},
		{"星期", "day"}, {"周", "day"}, {"礼拜", "day"}, {"月", "month"}, {"年", "year"}}
	for _, u := range units {
		if !strings.HasPrefix(text[k:], u.word) {
			continue
		}
		e := k + len(u.word)
		var ago string
		for _, w := range []string{"以前", "之前", "前"} {
			if strings.HasPrefix(text[e:], w) {
				ago = w
				break
			}
		}
		if ago == "" || n > 10000 {
			return TimeMention{}, 0, false
		}
		e += len(ago)
		var t time.Time
		switch u.word {
		case "小时", "钟头":
			d := time.Duration(n) * time.Hour
			if half {
				d = 30 * time.Minute
			}
			t = ref.Add(-d).Truncate(time.Hour)
		case "分钟":
			if half {
				return TimeMention{}, 0, false
			}
			t = ref.Add(-time.Duration(n) * time.Minute).Truncate(time.Minute)
		case "天", "日":
			if half {
				return TimeMention{}, 0, false
			}
			t = ref.AddDate(0, 0, -n)
		case "星期", "周", "礼拜":
			t = ref.AddDate(0, 0, -7*n)
			if half {
				t = ref.AddDate(0, 0, -3)
			}
		case "月":
			t = ref.AddDate(0, -n, 0)
			if half {
				t = ref.AddDate(0, 0, -15)
			}
		case "年":
			t = ref.AddDate(-n, 0, 0)
			if half {
				t = ref.AddDate(0, -6, 0)
			}
		}
		switch u.prec {
		case "day":
			t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, txCST)
		case "month":
			t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, txCST)
		case "year":
			t = time.Date(t.Year(), 1, 1, 0, 0, 0, 0, txCST)
		}
		return TimeMention{Time: t, Precision: u.prec}, e, true
	}
	return TimeMention{}, 0, false
}

// txISODate reads 2024-04-19, 2024/4/19 or 2024.04.19.
func txISODate(text string, j int, st *txState) (int, bool) {
	y, k := txDigits(text, j, 4)
	if k-j != 4 || k >= len(text) || !strings.ContainsRune("-/.", rune(text[k])) {
		return 0, false
	}
	sep := text[k]
	mo, k2 := txDigits(text, k+1, 2)
	if k2 == k+1 || k2 >= len(text) || text[k2] != sep {
		return 0, false
	}
	d, k3 := txDigits(text, k2+1, 2)
	if k3 == k2+1 || !txValidDate(y, mo, d) || k3 < len(text) && text[k3] >= '0' && text[k3] <= '9' {
		return 0, false
	}
	st.y, st.mo, st.d, st.hasDate, st.yearK, st.precision = y, mo, d, true, true, "day"
	if k3 < len(text) && (text[k3] == ' ' || text[k3] == 't') {
		if _, ok := txColon(text, k3+1, st); ok {
			return k3 + 1, true
		}
	}
	return k3, true
}

// txDayWord reads 昨天, 前天, 今早, 明晚….
func txDayWord(text string, j int, st *txState, ref time.Time) (int, bool) {
	for _, w := range txDayWords {
		if !strings.HasPrefix(text[j:], w.word) {
			continue
		}
		d := ref.AddDate(0, 0, w.offset)
		st.y, st.mo, st.d, st.hasDate, st.precision = d.Year(), int(d.Month()), d.Day(), true, "day"
		k := j + len(w.word)
		if w.period != "" {
			for _, p := range txPeriods {
				if p.word == w.period {
					st.period, st.periodName = p.hour, p.word
				}
			}
		}
		return k, true
	}
	return 0, false
}

// txWeekday reads 上周五, 本星期三, 下礼拜一, 周日; a bare weekday is the
// latest one not after the anchor day or ref.
func txWeekday(text string, j int, st *txState, ref, anchor time.Time) (int, bool) {
	k := j
	week := 0
	explicit := false
	for _, p := range []struct {
		word string
		off  int
	}{{"上个", -1}, {"上", -1}, {"本", 0}, {"这个", 0}, {"这", 0}, {"下个", 1}, {"下", 1}} {
		if strings.HasPrefix(text[k:], p.word) {
			week, explicit = p.off, true
			k += len(p.word)
			break
		}
	}
	found := false
	for _, w := range []string{"星期", "礼拜", "周"} {
		if strings.HasPrefix(text[k:], w) {
			k += len(w)
			found = true
			break
		}
	}
	if !found {
		return 0, false
	}
	r, size := utf8.DecodeRuneInString(text[k:])
	wd := strings.IndexRune("一二三四五六日天", r)
	if wd < 0 {
		return 0, false
	}
	wd = []int{1, 2, 3, 4, 5, 6, 7, 7}[wd/3] // IndexRune gives bytes; 3 per rune
	k += size
	base := ref
	if !anchor.IsZero() && !explicit {
		base = anchor
	}
	cur := int(base.Weekday())
	if cur == 0 {
		cur = 7
	}
	var d time.Time
	if explicit {
		monday := base.AddDate(0, 0, 1-cur)
		d = monday.AddDate(0, 0, 7*week+wd-1)
	} else {
		back := cur - wd
		if back < 0 {
			back += 7
		}
		d = base.AddDate(0, 0, -back)
	}
	st.y, st.mo, st.d, st.hasDate, st.precision = d.Year(), int(d.Month()), d.Day(), true, "day"
	return k, true
}

// txCalendar reads [今年|去年|2024年][4月][19日]; a day alone (19日) must be
// followed by a part of the day or a clock time, else it is too often a
// count of days.
func txCalendar(text string, j int, st *txState, ref time.Time) (int, bool) {
	k := j
	year := 0
	for _, p := range []struct {
		word string
		off  int
	}{{"今年", 0}, {"去年", -1}, {"前年", -2}, {"明年", 1}} {
		if strings.HasPrefix(text[k:], p.word) {
			year = ref.Year() + p.off
			k += len(p.word)
			break
		}
	}
	explicitYear := false
	if year == 0 {
		if y, e := txNumberDigits(text, k, 4); e > k && strings.HasPrefix(text[e:], "年") && y >= 1900 && y <= 2100 {
			year, explicitYear = y, true
			k = e + len("年")
		}
	}
	mo := 0
	if m, e := txNumber(text, k); e > k && m >= 1 && m <= 12 && strings.HasPrefix(text[e:], "月") {
		mo = m
		k = e + len("月")
		if strings.HasPrefix(text[k:], "份") {
			k += len("份")
		}
	}
	day := 0
	if d, e := txNumber(text, k); e > k && d >= 1 && d <= 31 {
		for _, w := range []string{"日", "号"} {
			if strings.HasPrefix(text[e:], w) {
				day = d
				k = e + len(w)
				break
			}
		}
	}
	switch {
	case year != 0 && mo == 0 && day == 0:
		st.y, st.mo, st.d, st.hasDate, st.yearK, st.precision = year, 1, 1, true, true, "year"
		return k, true
	case mo != 0 && day == 0:
		if year == 0 {
			year = txNearestYear(ref, mo, 1)
		}
		st.y, st.mo, st.d, st.hasDate, st.yearK, st.precision = year, mo, 1, true, explicitYear, "month"
		return k, true
	case mo != 0 && day != 0:
		if year == 0 {
			year = txNearestYear(ref, mo, day)
		}
		if !txValidDate(year, mo, day) {
			return 0, false
		}
		st.y, st.mo, st.d, st.hasDate, st.yearK, st.precision = year, mo, day, true, explicitYear, "day"
		return k, true
	case day != 0 && year == 0:
		follows := false
		for _, p := range txPeriods {
			follows = follows || strings.HasPrefix(text[k:], p.word)
		}
		if !follows {
			var probe txState
			probe.h = -1
			_, follows = txClock(text, k, &probe)
		}
		if !follows {
			return 0, false
		}
		// The month nearest to ref that has this day.
		best := time.Time{}
		for off := -1; off <= 1; off++ {
			m := time.Date(ref.Year(), ref.Month()+time.Month(off), 1, 0, 0, 0, 0, txCST)
			if !txValidDate(m.Year(), int(m.Month()), day) {
				continue
			}
			c := time.Date(m.Year(), m.Month(), day, 0, 0, 0, 0, txCST)
			if best.IsZero() || txAbs(c.Sub(ref)) < txAbs(best.Sub(ref)) {
				best = c
			}
		}
		if best.IsZero() {
			return 0, false
		}
		st.y, st.mo, st.d, st.hasDate, st.precision = best.Year(), int(best.Month()), best.Day(), true, "day"
		return k, true
	}
	return 0, false
}

// txClock reads 8点4分, 8点半, 7时许, 13时20分15秒, 08:30(:15).
func txClock(text string, j int, st *txState) (int, bool) {
	if k, ok := txColon(text, j, st); ok {
		return k, true
	}
	h, k := txNumber(text, j)
	if k == j || h > 24 {
		return 0, false
	}
	var mark string
	for _, w := range []string{"点钟", "点", "时"} {
		if strings.HasPrefix(text[k:], w) {
			mark = w
			break
		}
	}
	if mark == "" {
		return 0, false
	}
	k += len(mark)
	mi, s := -1, -1
	if strings.HasPrefix(text[k:], "半") {
		mi, k = 30, k+len("半")
	} else if strings.HasPrefix(text[k:], "一刻") {
		mi, k = 15, k+len("一刻")
	} else if strings.HasPrefix(text[k:], "三刻") {
		mi, k = 45, k+len("三刻")
	} else if m, e := txNumber(text, k); e > k && m < 60 && (strings.HasPrefix(text[e:], "分") || mark != "时") {
		if strings.HasPrefix(text[e:], "分") {
			mi, k = m, e+len("分")
			if sec, e2 := txNumber(text, k); e2 > k && sec < 60 && strings.HasPrefix(text[e2:], "秒") {
				s, k = sec, e2+len("秒")
			}
		} else if mark == "点" && e-k <= 6 && !txFollowedByUnit(text, e) {
			mi, k = m, e // 8点04
		}
	}
	// Alone, "3点" is as often "three points" and 一时, 一点 are words:
	// without a day or a part of the day, take 点 or a Chinese numeral
	// only with minutes or an approximation (许, 左右, 多).
	chineseNum := text[j] < '0' || text[j] > '9'
	if mi < 0 && st.period < 0 && !st.hasDate && mark != "点钟" && (mark == "点" || chineseNum) {
		approx := false
		for _, w := range []string{"许", "左右", "多", "前后"} {
			approx = approx || strings.HasPrefix(text[k:], w)
		}
		if !approx || chineseNum && !strings.HasPrefix(text[k:], "许") && !strings.HasPrefix(text[k:], "左右") {
			return 0, false
		}
	}
	st.h, st.mi, st.s = h, mi, s
	return k, true
}

// txFollowedByUnit reports a measure word after a number (8点5亿, 3点5万),
// which makes 点 a decimal point.
func txFollowedByUnit(text string, e int) bool {
	r, _ := utf8.DecodeRuneInString(text[e:])
	return strings.ContainsRune("万亿千百元米个%度倍分岁", r)
}

// txColon reads 08:30 or 8:30:15.
func txColon(text string, j int, st *txState) (int, bool) {
	h, k := txDigits(text, j, 2)
	if k == j || k >= len(text) || text[k] != ':' || h > 24 {
		return 0, false
	}
	mi, k2 := txDigits(text, k+1, 2)
	if k2-k-1 != 2 || mi > 59 {
		return 0, false
	}
	s := -1
	if k2 < len(text) && text[k2] == ':' {
		if sec, k3 := txDigits(text, k2+1, 2); k3-k2-1 == 2 && sec < 60 {
			s, k2 = sec, k3
		}
	}
	if k2 < len(text) && text[k2] >= '0' && text[k2] <= '9' {
		return 0, false
	}
	st.h, st.mi, st.s = h, mi, s
	return k2, true
}

// txDigits reads at most max ASCII digits.
func txDigits(text string, j, max int) (int, int) {
	n, k := 0, j
	for k < len(text) && k-j < max && text[k] >= '0' && text[k] <= '9' {
		n = n*10 + int(text[k]-'0')
		k++
	}
	return n, k
}

// txNumberDigits reads a number written digit by digit, in ASCII or
// Chinese (二〇二四), of exactly n digits.
func txNumberDigits(text string, j, n int) (int, int) {
	v, k := 0, j
	for c := 0; c < n; c++ {
		r, size := utf8.DecodeRuneInString(text[k:])
		d := txDigitValue(r)
		if d < 0 {
			return 0, j
		}
		v = v*10 + d
		k += size
	}
	if r, _ := utf8.DecodeRuneInString(text[k:]); txDigitValue(r) >= 0 {
		return 0, j
	}
	return v, k
}

func txDigitValue(r rune) int {
	if r >= '0' && r <= '9' {
		return int(r - '0')
	}
	switch r {
	case '〇', '零':
		return 0
	case '一':
		return 1
	case '二', '两':
		return 2
	case '三':
		return 3
	case '四':
		return 4
	case '五':
		return 5
	case '六':
		return 6
	case '七':
		return 7
	case '八':
		return 8
	case '九':
		return 9
	}
	return -1
}

// txNumber reads a small number in ASCII digits or Chinese numerals
// (十九, 二十三, 两, 一百零五); it returns the end j when there is none.
func txNumber(text string, j int) (int, int) {
	if j < len(text) && text[j] >= '0' && text[j] <= '9' {
		n, k := txDigits(text, j, 6)
		if k < len(text) && text[k] >= '0' && text[k] <= '9' {
			return 0, j
		}
		return n, k
	}
	total, cur, k := 0, -1, j
	for k < len(text) {
		r, size := utf8.DecodeRuneInString(text[k:])
		if d := txDigitValue(r); d >= 0 {
			if cur >= 0 {
				cur = cur*10 + d
			} else {
				cur = d
			}
			k += size
			continue
		}
		mult := int(ctUnit(r))
		if mult == 0 {
			break
		}
		if cur < 0 {
			cur = 1
		}
		total += cur * mult
		cur = -1
		k += size
	}
	if k == j {
		return 0, j
	}
	if cur > 0 {
		total += cur
	}
	return total, k
}

func txValidDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() == d
}

// txNearestYear returns the year, among ref's and its neighbours, that puts
// month/day nearest to ref.
func txNearestYear(ref time.Time, mo, d int) int {
	best, bestDist := ref.Year(), time.Duration(-1)
	for y := ref.Year() - 1; y <= ref.Year()+1; y++ {
		if !txValidDate(y, mo, d) {
			continue
		}
		dist := txAbs(time.Date(y, time.Month(mo), d, 12, 0, 0, 0, txCST).Sub(ref))
		if bestDist < 0 || dist < bestDist {
			best, bestDist = y, dist
		}
	}
	return best
}

func txAbs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
