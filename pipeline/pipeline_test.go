package pipeline

import (
	"testing"

	"riskmine/crawler"
	"riskmine/nlp"
)

func TestLeadCandidateCarriesPlace(t *testing.T) {
	cases := []struct {
		title, text      string
		place, placeCode string
		codes            []string
	}{
		{"福州鼓楼区五四路井盖丢失", "今天上午福建省福州市鼓楼区五四路与湖东路交叉口东侧25米一个井盖丢失，伤者被送往省立医院。",
			"五四路与湖东路交叉口东侧25米", "350102", []string{"350102"}},
		{"", "北京今天下暴雨，通州区多处积水。", "", "", []string{"11", "110112"}},
		{"", "印度尼西亚中爪哇省日惹市附近发生5.9级地震", "印度尼西亚中爪哇省日惹市", "", nil},
	}
	for _, tc := range cases {
		as := &nlp.Assessment{Level: "high"}
		for _, f := range []struct{ name, text string }{{"title", tc.title}, {"text", tc.text}} {
			for _, l := range nlp.ExtractLocations(f.text) {
				l.Field = f.name
				as.Locations = append(as.Locations, l)
			}
		}
		c := leadCandidate(crawler.Page{URL: "https://a.test/1", Title: tc.title, Text: tc.text}, as)
		if c.Place != tc.place || c.PlaceCode != tc.placeCode {
			t.Errorf("%q: place %q %q, want %q %q", tc.text, c.Place, c.PlaceCode, tc.place, tc.placeCode)
		}
		if len(c.LocationCodes) != len(tc.codes) {
			t.Errorf("%q: codes %v, want %v", tc.text, c.LocationCodes, tc.codes)
		}
	}
}
