package nlp

import (
	"strings"
	"testing"
)

func TestExtractLocationsAdmin(t *testing.T) {
	type want struct{ text, kind, code, name string }
	cases := []struct {
		name string
		in   string
		want []want
	}{
		{"chain resolves to county", "昨晚福建省福州市马尾区一仓库起火",
			[]want{{"福建省福州市马尾区", "admin", "350105", "福建省/福州市/马尾区"}}},
		{"short city", "福州今天暴雨", []want{{"福州", "admin", "3501", "福建省/福州市"}}},
		{"province short", "内蒙古多地降雪", []want{{"内蒙古", "admin", "15", "内蒙古自治区"}}},
		{"ambiguous county left empty", "鼓楼区一小区停水",
			[]want{{"鼓楼区", "admin", "", ""}, {"一小区", "place", "", ""}}[:1]},
		{"ambiguous resolved by chain", "南京市鼓楼区发生火灾",
			[]want{{"南京市鼓楼区", "admin", "320106", "江苏省/南京市/鼓楼区"}}},
		{"ambiguous resolved by earlier parent", "福州昨天暴雨，鼓楼区多处积水",
			[]want{{"福州", "admin", "3501", "福建省/福州市"}, {"鼓楼区", "admin", "350102", "福建省/福州市/鼓楼区"}}},
		{"province only narrows: falls back to province", "江苏省鼓楼区有人落水",
			[]want{{"江苏省鼓楼区", "admin", "32", "江苏省"}}},
		{"weak county short form needs support", "浙江温岭发生翻车事故",
			[]want{{"浙江温岭", "admin", "331081", "浙江省/台州市/温岭市"}}},
		{"weak short form alone is dropped", "温岭的朋友说和县长见过面", nil},
		{"blocked short city is a word", "大同小异，日照充足", nil},
		{"township full name", "福州市马尾区马尾镇", []want{{"福州市马尾区马尾镇", "admin", "350105100", "福建省/福州市/马尾区/马尾镇"}}},
		{"municipality district", "北京朝阳区一商场", []want{{"北京朝阳区", "admin", "110105", "北京市/朝阳区"}}},
		{"province preferred over same-named city", "吉林遭遇强降雨", []want{{"吉林", "admin", "22", "吉林省"}}},
		{"hong kong has no code", "香港九龙", []want{{"香港九龙", "admin", "", "香港特别行政区/九龙"}}},
		{"autonomous prefecture short form", "延边州", []want{{"延边", "admin", "2224", "吉林省/延边朝鲜族自治州"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []want
			for _, l := range ExtractLocations(tc.in) {
				if l.Kind == "admin" {
					got = append(got, want{l.Text, l.Kind, l.Code, l.Name})
				}
				checkSpan(t, tc.in, l.Text, l.Start, l.End)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ExtractLocations(%q) admin = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("ExtractLocations(%q)[%d] = %+v, want %+v", tc.in, i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestExtractLocationsPlaces(t *testing.T) {
	type want struct{ text, kind string }
	cases := []struct {
		in   string
		want []want
	}{
		{"家住解放路128号的居民报警", []want{{"解放路128号", "road"}}},
		{"在人民东路与八一路交叉口东侧25米处", []want{{"人民东路", "road"}, {"八一路交叉口东侧25米处", "road"}}},
		{"阳光花园小区门口积水", []want{{"阳光花园小区门口", "place"}}},
		{"张家村村民反映", []want{{"张家村", "place"}}},
		{"村民和村干部开会", nil},
		{"李家村的水渠堵了", []want{{"李家村", "place"}}},
		{"沿着城市道路一路向前", nil},
		{"104国道小溪岭路段发生事故", []want{{"104国道", "road"}, {"小溪岭路段", "road"}}},
		{"福州火车站广场", []want{{"福州", "admin"}, {"福州火车站广场", "place"}}},
		{"路口北100米有井盖缺失", []want{{"路口北100米", "place"}}},
		{"我们去逛街，走了很长的路", nil},
		{"送往人民医院南宁分院", []want{{"人民医院", "place"}}},
		{"中山路口北有积水", []want{{"中山路口", "road"}}},
		{"他考入美国科罗拉多大学", nil}, // the stem limit cuts the name: no fragment
		{"在火车站和汽车站盘查", nil},
		{"和平路和中山路", []want{{"和平路", "road"}, {"中山路", "road"}}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			var got []want
			for _, l := range ExtractLocations(tc.in) {
				checkSpan(t, tc.in, l.Text, l.Start, l.End)
				if l.Kind != "admin" || len(tc.want) > 0 && tc.want[0].kind == "admin" {
					got = append(got, want{l.Text, l.Kind})
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ExtractLocations(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("ExtractLocations(%q)[%d] = %+v, want %+v", tc.in, i, got[i], tc.want[i])
				}
			}
		})
	}
}

// checkSpan verifies that rune offsets point at the text reported.
func checkSpan(t *testing.T, in, text string, start, end int) {
	t.Helper()
	rs := []rune(in)
	if start < 0 || end > len(rs) || start > end || string(rs[start:end]) != text {
		t.Errorf("span [%d,%d) of %q is not %q", start, end, in, text)
	}
}

func TestGazetteerLoad(t *testing.T) {
	g, err := loadGazetteer()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.divs); n < 45000 {
		t.Errorf("gazetteer has %d divisions, want about 45,100", n)
	}
	for _, d := range g.divs {
		if d.name == "市辖区" || d.name == "省直辖县级行政区划" {
			t.Fatalf("placeholder %s %s kept", d.key, d.name)
		}
	}
	if _, err := buildGazetteer([]byte("not gzip")); err == nil {
		t.Error("buildGazetteer accepted garbage")
	}
}

func TestExtractLocationsBadInput(t *testing.T) {
	inputs := []string{"", "\xff\xfe福州\xff市", strings.Repeat("福建省福州市鼓楼区解放路", 20000), "路", "村村村村", "东侧25米"}
	for _, in := range inputs {
		n := len([]rune(in))
		for _, l := range ExtractLocations(in) {
			if l.Start < 0 || l.End < l.Start || l.End > n {
				t.Fatalf("bad span %+v", l)
			}
		}
	}
}
