package nlp

import (
	"strings"
	"testing"
	"time"
)

func TestExtractTimes(t *testing.T) {
	// Friday 19 April 2024, 10:30 in China.
	ref := time.Date(2024, 4, 19, 10, 30, 0, 0, txCST)
	at := func(y, mo, d, h, mi int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, 0, 0, txCST) }
	type want struct {
		text string
		t    time.Time
		prec string
	}
	cases := []struct {
		in   string
		want []want
	}{
		{"2024年4月19日发生火灾", []want{{"2024年4月19日", at(2024, 4, 19, 0, 0), "day"}}},
		{"4月18日8点4分", []want{{"4月18日8点4分", at(2024, 4, 18, 8, 4), "minute"}}},
		{"昨天下午1点多", []want{{"昨天下午1点多", at(2024, 4, 18, 13, 0), "hour"}}},
		{"前天晚上", []want{{"前天晚上", at(2024, 4, 17, 19, 0), "part_of_day"}}},
		{"今早7时许", []want{{"今早7时许", at(2024, 4, 19, 7, 0), "hour"}}},
		{"凌晨3点", []want{{"凌晨3点", at(2024, 4, 19, 3, 0), "hour"}}},
		{"上周五", []want{{"上周五", at(2024, 4, 12, 0, 0), "day"}}},
		{"周三", []want{{"周三", at(2024, 4, 17, 0, 0), "day"}}},
		{"3天前", []want{{"3天前", at(2024, 4, 16, 0, 0), "day"}}},
		{"两个小时前", []want{{"两个小时前", at(2024, 4, 19, 8, 0), "hour"}}},
		{"刚刚", []want{{"刚刚", at(2024, 4, 19, 10, 30), "minute"}}},
		{"12月30日", []want{{"12月30日", at(2023, 12, 30, 0, 0), "day"}}},
		{"二〇二三年十二月三十一日", []want{{"二〇二三年十二月三十一日", at(2023, 12, 31, 0, 0), "day"}}},
		{"2024-04-18 21:05发布", []want{{"2024-04-18 21:05", at(2024, 4, 18, 21, 5), "minute"}}},
		{"晚上8点半", []want{{"晚上8点半", at(2024, 4, 18, 20, 30), "minute"}}},
		{"中午12点", []want{{"中午12点", at(2024, 4, 18, 12, 0), "hour"}}}, // later today than ref: yesterday
		{"17日下午，随后18时20分左右", []want{{"17日下午", at(2024, 4, 17, 13, 0), "part_of_day"}, {"18时20分左右", at(2024, 4, 17, 18, 20), "minute"}}},
		{"去年3月", []want{{"去年3月", at(2023, 3, 1, 0, 0), "month"}}},
		{"我有3点建议，一时说不清", nil},
		{"共计3天", nil},
		{"一周日常，每周五例会", nil},
		{"2月30日", nil},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got := ExtractTimes(tc.in, ref)
			if len(got) != len(tc.want) {
				t.Fatalf("ExtractTimes(%q) = %+v, want %d mentions", tc.in, got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				checkSpan(t, tc.in, g.Text, g.Start, g.End)
				if g.Text != w.text || !g.Time.Equal(w.t) || g.Precision != w.prec {
					t.Errorf("ExtractTimes(%q)[%d] = %q %s %s, want %q %s %s", tc.in, i, g.Text, g.Time, g.Precision, w.text, w.t, w.prec)
				}
			}
		})
	}
}

func TestExtractTimesZones(t *testing.T) {
	// 23:00 UTC on the 18th is already the 19th in China: 昨天 is the 18th.
	ref := time.Date(2024, 4, 18, 23, 0, 0, 0, time.UTC)
	got := ExtractTimes("昨天", ref)
	if len(got) != 1 || got[0].Time.Day() != 18 || got[0].Time.Location() != txCST {
		t.Fatalf("ExtractTimes(昨天, %s) = %+v, want 18 April in CST", ref, got)
	}
	// Without a reference only dates that carry their year are resolved.
	got = ExtractTimes("2024年4月19日，昨天，3天前", time.Time{})
	if len(got) != 1 || got[0].Text != "2024年4月19日" {
		t.Fatalf("ExtractTimes with zero ref = %+v, want only the dated mention", got)
	}
}

func TestExtractTimesBadInput(t *testing.T) {
	ref := time.Date(2024, 4, 19, 10, 30, 0, 0, txCST)
	for _, in := range []string{"", "\xff\xfe昨天\xff", strings.Repeat("昨天下午3点", 50000), "9999999999天前", "99月99日", "25点61分", "2024-13-45", "一千万亿天前"} {
		n := len([]rune(in))
		for _, m := range ExtractTimes(in, ref) {
			if m.Start < 0 || m.End > n || m.Start >= m.End {
				t.Fatalf("bad span %+v in %q", m, in[:min(len(in), 40)])
			}
		}
	}
}
