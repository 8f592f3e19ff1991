package pipeline

import (
	"testing"

	"riskmine/alerts"
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

// TestLeadCandidateCarriesLevelCues: the phrases that set a post's level
// reach the candidate with offsets into their field, so a lead can say
// why it is critical.
func TestLeadCandidateCarriesLevelCues(t *testing.T) {
	an, err := nlp.NewAnalyzer(nlp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	title, text := "城西一居民楼起火", "今天凌晨城西一栋居民楼起火，火势蔓延到三楼，有两人被困在楼顶，消防正在救援。"
	as := an.Analyze(nlp.Input{ID: "cue-1", Title: title, Text: text})
	if alerts.LevelRank(as.Level) < alerts.LevelRank("critical") {
		t.Fatalf("level %q, want critical (people trapped); categories %+v", as.Level, as.Categories)
	}
	c := leadCandidate(crawler.Page{URL: "https://a.test/fire", Title: title, Text: text}, as)
	fields := map[string][]rune{"title": []rune(title), "text": []rune(text)}
	kinds := map[string]bool{}
	for _, q := range c.LevelCues {
		kinds[q.Kind] = true
		f := fields[q.Field]
		if q.Start < 0 || q.End > len(f) || string(f[q.Start:q.End]) != q.Text {
			t.Errorf("cue %+v does not lie at its offsets", q)
		}
	}
	if !kinds["trapped"] {
		t.Errorf("cues %+v: no trapped cue", c.LevelCues)
	}
}

// TestLeadCandidateLeavesOtherCategoriesCues: a cue of the poster's own
// life does not explain the level of a post of another category.
func TestLeadCandidateLeavesOtherCategoriesCues(t *testing.T) {
	as := &nlp.Assessment{Level: "high", Categories: []nlp.CategoryScore{{Code: "fire", Level: "high"}},
		Severity: []nlp.SeverityCue{{Kind: "self_harm_means", Level: "critical", Field: "text", Text: "买好了药", Start: 0, End: 4},
			{Kind: "spreading", Level: "high", Field: "text", Text: "火势蔓延", Start: 5, End: 9}}}
	c := leadCandidate(crawler.Page{URL: "https://a.test/2", Text: "买好了药，火势蔓延"}, as)
	if len(c.LevelCues) != 1 || c.LevelCues[0].Kind != "spreading" {
		t.Errorf("cues %+v, want the fire's only", c.LevelCues)
	}
	as.Categories[0].Code = "self_harm"
	if c := leadCandidate(crawler.Page{URL: "https://a.test/3"}, as); len(c.LevelCues) != 2 {
		t.Errorf("self_harm post: cues %+v, want both", c.LevelCues)
	}
}

func TestKeptCuesKeepsTheStrongest(t *testing.T) {
	var cues []nlp.SeverityCue
	for i := range alerts.MaxLevelCues + 8 {
		cues = append(cues, nlp.SeverityCue{Kind: "nuisance", Level: "low", Start: i, End: i + 1})
	}
	cues = append(cues, nlp.SeverityCue{Kind: "casualties", Level: "critical", Start: 100, End: 104},
		nlp.SeverityCue{Kind: "past", Start: 110, End: 112})
	got := keptCues(cues)
	if len(got) != alerts.MaxLevelCues {
		t.Fatalf("kept %d cues, want %d", len(got), alerts.MaxLevelCues)
	}
	if got[0].Kind != "casualties" || got[1].Start != 0 || got[2].Start != 1 {
		t.Errorf("kept %+v…, want the critical cue first, then the low ones in order", got[:3])
	}
	if short := cues[:3]; len(keptCues(short)) != 3 {
		t.Errorf("a short list lost cues")
	}
}
