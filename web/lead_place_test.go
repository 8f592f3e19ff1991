package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
)

// TestLeadPlaceShownAndExported checks that the spot a lead's posts name is
// on the lead page beside its divisions, in the API and in both exports.
func TestLeadPlaceShownAndExported(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	const place = "五四路与湖东路交叉口东侧25米"
	res, err := w.leads.File(context.Background(), alerts.Candidate{
		URL: "http://forum.example/t/54", Site: "本地论坛", Source: "forum", Title: "五四路井盖丢失",
		Snippet: "福州市鼓楼区" + place + "，人行道上一个井盖丢失了。", SeenAt: time.Now(), Level: "high", Score: 7,
		Categories:    []alerts.CategoryScore{{Code: "city_management", Score: 7}},
		LocationCodes: []string{"350102"}, LocationNames: []string{"福建省/福州市/鼓楼区"},
		Place: place, PlaceCode: "350102",
	})
	if err != nil {
		t.Fatal(err)
	}
	c := w.login("viv")
	body := c.getBody("/leads/" + res.LeadID)
	if !strings.Contains(body, `<td id="lead-place">`+place+` <small class="muted">350102</small></td>`) {
		t.Errorf("lead page does not show the place beside its code")
	}

	var lead struct{ Place, PlaceCode string }
	resp := w.apiReq("GET", "/api/v1/leads/"+res.LeadID, adminToken, "")
	if err := json.Unmarshal([]byte(readAll(t, resp)), &struct {
		Place     *string `json:"place"`
		PlaceCode *string `json:"place_code"`
	}{&lead.Place, &lead.PlaceCode}); err != nil || lead.Place != place || lead.PlaceCode != "350102" {
		t.Errorf("api lead place %+v %v", lead, err)
	}

	resp = c.get("/export/leads?format=csv")
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(readAll(t, resp), "\ufeff"))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv %v %v", rows, err)
	}
	// The UI's export speaks the user's language (Chinese by default).
	pi, ci := slices.Index(rows[0], "精确地点"), slices.Index(rows[0], "地点代码")
	if pi < 0 || ci < 0 || rows[0][17] != "处理记录" {
		t.Fatalf("csv header %v: want place columns added after the existing ones", rows[0])
	}
	found := false
	for _, r := range rows[1:] {
		if r[0] == res.LeadID {
			found = r[pi] == place && r[ci] == "350102"
		}
	}
	if !found {
		t.Errorf("csv row of %s lacks its place: %v", res.LeadID, rows)
	}

	resp = w.apiReq("GET", "/api/v1/export/leads?format=jsonl", adminToken, "")
	if b := readAll(t, resp); !strings.Contains(b, `"place":"`+place+`","place_code":"350102"`) {
		t.Errorf("jsonl export lacks the place")
	}
}

// TestLeadPageShowsLevelCues: each post of a lead says why it has its
// level (the cues, named in the user's language, with the level each
// supports); a post without cues says so; the API carries them.
func TestLeadPageShowsLevelCues(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	text := "今天凌晨城西一栋居民楼起火，有两人被困在楼顶。"
	res, err := w.leads.File(context.Background(), alerts.Candidate{
		URL: "http://forum.example/t/fire", Site: "本地论坛", Source: "forum", Title: "居民楼起火",
		Snippet: text, SeenAt: time.Now(), Level: "critical", Score: 9,
		Categories: []alerts.CategoryScore{{Code: "fire", Score: 9}},
		LevelCues: []alerts.LevelCue{{Kind: "trapped", Level: "critical", Field: "text", Text: "两人被困", Start: 15, End: 19},
			{Kind: "many_people", Field: "text", Text: "两人", Start: 15, End: 17}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lamp, err := w.leads.File(context.Background(), alerts.Candidate{
		URL: "http://forum.example/t/lamp", Site: "本地论坛", Source: "forum", Title: "路灯不亮",
		Snippet: "小区门口路灯坏了一个月。", SeenAt: time.Now(), Level: "medium", Score: 4,
		Categories: []alerts.CategoryScore{{Code: "city_management", Score: 2}},
	})
	if err != nil || lamp.LeadID == "" {
		t.Fatalf("street light post: %+v %v", lamp, err)
	}
	c := w.login("viv")
	body := c.getBody("/leads/" + res.LeadID)
	for _, want := range []string{`<p class="level-why" data-cues="2"><strong>定级依据</strong>`,
		`title="trapped · text [15:19]">人员被困 <mark>两人被困</mark> → 严重</span>`,
		`title="many_people · text [15:17]">人数众多 <mark>两人</mark></span>`,
		// In the text, the phrase that set the level is marked as such.
		`有<mark class="ev sev" title="level/trapped">两人被困</mark>在楼顶`} {
		if !strings.Contains(body, want) {
			t.Errorf("lead page lacks %s", want)
		}
	}
	c.lang = "en"
	if body := c.getBody("/leads/" + res.LeadID); !strings.Contains(body, `people trapped <mark>两人被困</mark> → critical`) {
		t.Errorf("English lead page does not name the cue")
	}
	if body := c.getBody("/leads/" + lamp.LeadID); !strings.Contains(body, `data-cues="0"`) || !strings.Contains(body, "No cue recorded") {
		t.Errorf("a post without cues does not say so")
	}

	resp := w.apiReq("GET", "/api/v1/leads/"+res.LeadID, adminToken, "")
	if b := readAll(t, resp); !strings.Contains(b, `"level_cues":[{"kind":"trapped","level":"critical","field":"text","text":"两人被困","start":15,"end":19}`) {
		t.Errorf("api lead lacks the level cues: %s", b)
	}

	// The exports: a column of the cues behind the level (the modifier,
	// which supports no level, is not among them), named for people in
	// the UI's export and as codes in the API's; JSON Lines carry the
	// sources' cues whole.
	for _, tc := range []struct{ path, token, col, want string }{
		{"/export/leads?format=csv", "", "定级依据", "人员被困「两人被困」"},
		{"/api/v1/export/leads?format=csv", adminToken, "level_why", "trapped:两人被困"},
	} {
		c.lang = ""
		var body string
		if tc.token == "" {
			body = readAll(t, c.get(tc.path))
		} else {
			body = readAll(t, w.apiReq("GET", tc.path, tc.token, ""))
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
		if err != nil || len(rows) < 3 {
			t.Fatalf("%s: %v %v", tc.path, rows, err)
		}
		col := slices.Index(rows[0], tc.col)
		if col != len(rows[0])-1 {
			t.Fatalf("%s: header %v: want %s as the last column", tc.path, rows[0], tc.col)
		}
		for _, r := range rows[1:] {
			want := ""
			if r[0] == res.LeadID {
				want = tc.want
			}
			if r[col] != want {
				t.Errorf("%s: lead %s: %q, want %q", tc.path, r[0], r[col], want)
			}
		}
	}
	if b := readAll(t, w.apiReq("GET", "/api/v1/export/leads?format=jsonl", adminToken, "")); !strings.Contains(b, `"level_cues":[{"kind":"trapped"`) {
		t.Errorf("jsonl export lacks the level cues")
	}

	// The evidence bundle's printable report says why too.
	lead, err := w.leads.GetLead(context.Background(), res.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	report, err := EvidenceReport(lead, nil, nil, time.UTC, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), "定级依据 Why this level (critical): trapped <mark>两人被困</mark> → critical; many_people <mark>两人</mark>; ") {
		t.Errorf("the evidence report does not say why the post is critical")
	}
}
