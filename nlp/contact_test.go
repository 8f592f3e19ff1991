package nlp

import (
	"strings"
	"testing"
)

func TestExtractEntities(t *testing.T) {
	type want struct{ kind, text, value string }
	cases := []struct {
		in   string
		want []want
	}{
		{"请拨打13812345678联系", []want{{"phone", "13812345678", "13812345678"}}},
		{"手机 +86 138-1234-5678", []want{{"phone", "+86 138-1234-5678", "13812345678"}}},
		{"电话138 1234 5678", []want{{"phone", "138 1234 5678", "13812345678"}}},
		{"座机0591-87654321转", []want{{"phone", "0591-87654321", "0591-87654321"}}},
		{"(010)12345678", []want{{"phone", "(010)12345678", "010-12345678"}}},
		{"热线电话02112345678", []want{{"phone", "02112345678", "021-12345678"}}},
		{"客服400-820-8820", []want{{"phone", "400-820-8820", "4008208820"}}},
		{"编号12812345678901", nil},          // too long for a mobile, not a card
		{"订单号23812345678", nil},            // 2 is no mobile prefix
		{"卡号6222 0200 1234 5678 909", nil}, // fails Luhn
		{"卡号4111 1111 1111 1111", []want{{"bank_card", "4111 1111 1111 1111", "4111111111111111"}}},
		{"转账到6217000010001234569", []want{{"bank_card", "6217000010001234569", "6217000010001234569"}}},
		{"身份证11010519491231002x", nil},
		{"点击https://t.cn/a1b2c3?x=1。", []want{{"url", "https://t.cn/a1b2c3?x=1", "https://t.cn/a1b2c3?x=1"}}},
		{"访问www.example-pay.top领取", []want{{"url", "www.example-pay.top", "www.example-pay.top"}}},
		{"登录abc.xyz/login查看", []want{{"url", "abc.xyz/login", "abc.xyz/login"}}},
		{"版本3.5.1和e.g.都不是", nil},
		{"被骗5000元", []want{{"money", "5000元", "5000"}}},
		{"损失3.5万元", []want{{"money", "3.5万元", "35000"}}},
		{"￥200", []want{{"money", "￥200", "200"}}},
		{"¥1,280.50", []want{{"money", "¥1,280.50", "1280.5"}}},
		{"人民币十万元", []want{{"money", "人民币十万元", "100000"}}},
		{"三千五百块钱", []want{{"money", "三千五百块钱", "3500"}}},
		{"共1.2亿元", []want{{"money", "1.2亿元", "120000000"}}},
		{"净值0.369元", []want{{"money", "0.369元", "0.369"}}},
		{"规模2.35万亿元", []want{{"money", "2.35万亿元", "2350000000000"}}},
		{"领取:http://a-b.com(复制)", []want{{"url", "http://a-b.com", "http://a-b.com"}}},
		{"我们一块去，元旦快乐，多元化", nil},
		{"20块", []want{{"money", "20块", "20"}}},
		{"加qq:12345678领红包", []want{{"qq", "12345678", "12345678"}}},
		{"微信号是 abc_12345", []want{{"wechat", "abc_12345", "abc_12345"}}},
		{"加vx13812345678", []want{{"wechat", "13812345678", "13812345678"}}},
		{"加QQ：87654321或WX:Abc_Def9", []want{{"qq", "87654321", "87654321"}, {"wechat", "Abc_Def9", "Abc_Def9"}}},
		{"见HTTPS://Example.COM/A", []want{{"url", "HTTPS://Example.COM/A", "HTTPS://Example.COM/A"}}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got := ExtractEntities(tc.in)
			if len(got) != len(tc.want) {
				t.Fatalf("ExtractEntities(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				checkSpan(t, tc.in, g.Text, g.Start, g.End)
				if (want{g.Kind, g.Text, g.Value}) != w {
					t.Errorf("ExtractEntities(%q)[%d] = %s %q %q, want %+v", tc.in, i, g.Kind, g.Text, g.Value, w)
				}
			}
		})
	}
}

func TestLuhnAndResidentID(t *testing.T) {
	if !ctLuhn("4111111111111111") || ctLuhn("4111111111111112") {
		t.Error("ctLuhn wrong on the 4111… test number")
	}
	if !ctResidentID("11010519491231002x") || ctResidentID("110105194912310021") {
		t.Error("ctResidentID wrong on the GB 11643 example")
	}
}

func TestExtractEntitiesBadInput(t *testing.T) {
	for _, in := range []string{"", "\xff13812345678\xfe", strings.Repeat("1", 100000), strings.Repeat("13812345678 ", 20000),
		strings.Repeat("￥", 1000), "人民币", "qq", "微信号", "http://", "9999999999999999999999亿元", "(0", "+86"} {
		n := len([]rune(in))
		for _, e := range ExtractEntities(in) {
			if e.Start < 0 || e.End > n || e.Start >= e.End {
				t.Fatalf("bad span %+v", e)
			}
		}
	}
}
