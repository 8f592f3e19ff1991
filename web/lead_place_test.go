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
