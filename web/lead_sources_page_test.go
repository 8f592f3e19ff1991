package web

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
)

// TestLeadPageShowsSourcesByPage checks that a lead many posts joined
// shows its sources fifty at a time, newest first, with links between the
// pages and the total in the heading.
func TestLeadPageShowsSourcesByPage(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	const n = 2*leadSourcesPerPage + 7
	leadID := fileJoined(t, w, n, "雨水箅子破损 第%03d帖", "人民路的雨水箅子破了一个大洞。", "雨水箅子", "人民路")
	c := w.login("viv")
	count := func(body string) int { return strings.Count(body, `<article class="card source-post">`) }
	title := func(i int) string { return fmt.Sprintf("第%03d帖", i) }

	first := c.getBody("/leads/" + leadID)
	if got := count(first); got != leadSourcesPerPage {
		t.Errorf("first page shows %d sources, want %d", got, leadSourcesPerPage)
	}
	if !strings.Contains(first, fmt.Sprintf("来源帖文（%d）", n)) {
		t.Errorf("heading does not give the total of %d sources", n)
	}
	if !strings.Contains(first, title(n-1)) || strings.Contains(first, title(n-1-leadSourcesPerPage)) {
		t.Errorf("first page is not the %d newest sources", leadSourcesPerPage)
	}
	if !strings.Contains(first, fmt.Sprintf("第 1–%d 条，共 %d 条", leadSourcesPerPage, n)) ||
		!strings.Contains(first, fmt.Sprintf(`href="/leads/%s?sources=2#sources"`, leadID)) || strings.Contains(first, `rel="prev"`) {
		t.Errorf("first page lacks the pager to page 2")
	}

	last := c.getBody(fmt.Sprintf("/leads/%s?sources=3", leadID))
	if got := count(last); got != n-2*leadSourcesPerPage {
		t.Errorf("last page shows %d sources, want %d", got, n-2*leadSourcesPerPage)
	}
	if !strings.Contains(last, title(0)) || strings.Contains(last, title(n-1)) || strings.Contains(last, `rel="next"`) ||
		!strings.Contains(last, fmt.Sprintf(`href="/leads/%s?sources=2#sources"`, leadID)) {
		t.Errorf("last page does not hold the oldest sources with a link back")
	}
	// A page past the end shows the last one; a bad number the first.
	if got := count(c.getBody(fmt.Sprintf("/leads/%s?sources=99", leadID))); got != n-2*leadSourcesPerPage {
		t.Errorf("page past the end shows %d sources", got)
	}
	if got := count(c.getBody(fmt.Sprintf("/leads/%s?sources=x", leadID))); got != leadSourcesPerPage {
		t.Errorf("bad page number shows %d sources", got)
	}
}

// TestAPILeadSourcesWindow checks that the API returns a lead's sources
// whole by default and the window sources_limit and sources_offset ask
// for, with the total beside them, and refuses a bad window.
func TestAPILeadSourcesWindow(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	leadID := fileJoined(t, w, 12, "路灯不亮 第%02d帖", "解放路的路灯一整排都不亮。", "路灯", "解放路")
	get := func(query string) (int, []string, int) {
		resp := w.apiReq("GET", "/api/v1/leads/"+leadID+query, adminToken, "")
		var out struct {
			Sources []struct {
				Title string `json:"title"`
			} `json:"sources"`
			Total int `json:"sources_total"`
		}
		body := readAll(t, resp)
		if resp.StatusCode == 200 {
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		}
		var titles []string
		for _, s := range out.Sources {
			titles = append(titles, s.Title)
		}
		return resp.StatusCode, titles, out.Total
	}
	if code, titles, total := get(""); code != 200 || len(titles) != 12 || total != 12 {
		t.Errorf("whole lead: %d, %d sources, total %d; want all 12", code, len(titles), total)
	}
	code, titles, total := get("?sources_limit=5&sources_offset=5")
	if code != 200 || total != 12 || len(titles) != 5 || titles[0] != "路灯不亮 第06帖" || titles[4] != "路灯不亮 第02帖" {
		t.Errorf("window: %d, %q, total %d; want the 6th to 10th newest", code, titles, total)
	}
	if code, titles, _ := get("?sources_offset=20"); code != 200 || len(titles) != 0 {
		t.Errorf("offset past the end: %d, %d sources; want none", code, len(titles))
	}
	for _, bad := range []string{"?sources_limit=0", "?sources_limit=x", "?sources_offset=-1"} {
		if code, _, _ := get(bad); code != 400 {
			t.Errorf("%s: status %d, want 400", bad, code)
		}
	}
}

// fileJoined files n posts of one hazard that join one lead, a second apart
// (titles from the format with the post's number), and returns the lead.
func fileJoined(t *testing.T, w *world, n int, titleFormat, snippet string, terms ...string) string {
	t.Helper()
	base := time.Now().Add(-time.Hour)
	leadID := ""
	for i := range n {
		res, err := w.leads.File(context.Background(), alerts.Candidate{
			URL: fmt.Sprintf("http://forum.example/t/%d", i), Site: "本地论坛", Source: "forum",
			Title: fmt.Sprintf(titleFormat, i), Snippet: snippet,
			SeenAt: base.Add(time.Duration(i) * time.Second), Level: "medium", Score: 5, SimHash: 0xfeed,
			Categories:    []alerts.CategoryScore{{Code: "city_management", Score: 5}},
			LocationCodes: []string{"350102"}, LocationNames: []string{"福建省/福州市/鼓楼区"},
			Terms: terms,
		})
		if err != nil || res.LeadID == "" || (leadID != "" && res.LeadID != leadID) {
			t.Fatalf("post %d: lead %q, %v; want every post joined to one lead", i, res.LeadID, err)
		}
		leadID = res.LeadID
	}
	return leadID
}
