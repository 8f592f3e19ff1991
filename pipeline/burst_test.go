package pipeline

import (
	"fmt"
	"testing"

	"riskmine/crawler"
	"riskmine/nlp"
)

// TestBurstPostSeries maps assessments to the series a post counts in.
func TestBurstPostSeries(t *testing.T) {
	page := crawler.Page{URL: "https://a.test/1", CanonicalURL: "https://a.test/1", Title: "t", Text: "x"}
	cases := []struct {
		name     string
		as       nlp.Assessment
		cats     []string
		counties []string
		names    []string
	}{
		{"model levels", nlp.Assessment{Level: "medium",
			Categories: []nlp.CategoryScore{{Code: "fire", Level: "medium"}, {Code: "explosion", Level: "low"}, {Code: "fraud", Level: "none"}},
			Locations:  []nlp.Location{{Code: "350104", Name: "福建省/福州市/仓山区"}}},
			[]string{"fire", "explosion"}, []string{"350104"}, []string{"福建省/福州市/仓山区"}},
		{"lexicons only: the top category", nlp.Assessment{Level: "low",
			Categories: []nlp.CategoryScore{{Code: "fire"}, {Code: "explosion"}},
			Locations:  []nlp.Location{{Code: "350104001", Name: "福建省/福州市/仓山区/某街道"}, {Code: "350104", Name: "福建省/福州市/仓山区"}, {Code: "35", Name: "福建省"}}},
			[]string{"fire"}, []string{"350104"}, []string{"福建省/福州市/仓山区"}},
		{"a township names its county", nlp.Assessment{Level: "high",
			Categories: []nlp.CategoryScore{{Code: "flood", Level: "high"}},
			Locations:  []nlp.Location{{Code: "350105002", Name: "福建省/福州市/马尾区/某镇"}}},
			[]string{"flood"}, []string{"350105"}, []string{"福建省/福州市/马尾区"}},
		{"no county", nlp.Assessment{Level: "high",
			Categories: []nlp.CategoryScore{{Code: "fire", Level: "high"}}, Locations: []nlp.Location{{Code: "3501", Name: "福建省/福州市"}}},
			[]string{"fire"}, nil, nil},
		{"below the level", nlp.Assessment{Level: "none",
			Categories: []nlp.CategoryScore{{Code: "fire", Level: "none"}}, Locations: []nlp.Location{{Code: "350104"}}},
			nil, []string{"350104"}, []string{""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bp, ok := BurstPost(page, &tc.as, "low")
			if fmt.Sprint(bp.Categories) != fmt.Sprint(tc.cats) || fmt.Sprint(bp.Counties) != fmt.Sprint(tc.counties) || fmt.Sprint(bp.CountyNames) != fmt.Sprint(tc.names) {
				t.Errorf("categories %v counties %v names %v, want %v %v %v", bp.Categories, bp.Counties, bp.CountyNames, tc.cats, tc.counties, tc.names)
			}
			if ok != (len(tc.cats) > 0 && len(tc.counties) > 0) {
				t.Errorf("ok %v", ok)
			}
		})
	}
}
