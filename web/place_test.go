package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/index"
)

// TestPlacesByName: place filters take names as well as codes, facets show
// names, and the picker's API finds divisions by name.
func TestPlacesByName(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	// A post placed in 马尾区 (350105), filed and indexed with its places
	// as the pipeline does.
	ctx := context.Background()
	const u = "http://news.example/a/9"
	res, err := w.leads.File(ctx, alerts.Candidate{URL: u, Site: "城市新闻", Source: "news", Title: "马尾区一小区发生火灾", Snippet: "马尾区一小区居民楼起火。",
		SeenAt: time.Now(), Level: "high", Score: 8, Categories: []alerts.CategoryScore{{Code: "fire", Score: 8}},
		LocationCodes: []string{"350105"}, LocationNames: []string{"福建省/福州市/马尾区"}})
	if err != nil {
		t.Fatal(err)
	}
	fire := res.LeadID
	if err := w.idx.Add(ctx, index.Doc{ID: u, URL: u, Source: "news", Site: "城市新闻", Title: "马尾区一小区发生火灾", Body: "马尾区一小区居民楼起火，火势猛烈。",
		Level: "high", Score: 8, Categories: []string{"fire"}, LeadID: fire, LocationCodes: []string{"350105"}, LocationNames: []string{"福建省/福州市/马尾区"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.idx.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	v := w.login("viv")

	byCode := v.getBody("/leads?location=350105")
	byName := v.getBody("/leads?location=" + url.QueryEscape("马尾"))
	byPath := v.getBody("/leads?location=" + url.QueryEscape("福州/马尾区"))
	for name, page := range map[string]string{"code": byCode, "name": byName, "path": byPath} {
		if !strings.Contains(page, `data-lead="`+fire+`"`) {
			t.Errorf("leads filtered by %s lack the fire in 马尾区", name)
		}
	}
	if page := v.getBody("/leads?location=" + url.QueryEscape("仓山")); strings.Contains(page, `data-lead="`+fire+`"`) {
		t.Error("a filter on 仓山 shows the lead of 马尾区")
	}
	resp := v.get("/leads?location=" + url.QueryEscape("不存在的地方"))
	if body := readAll(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "不存在的地方") {
		t.Errorf("unknown place: %d", resp.StatusCode)
	}

	search := v.getBody("/search?q=" + url.QueryEscape("火灾") + "&location=" + url.QueryEscape("福州"))
	if !strings.Contains(search, "news.example/a/9") {
		t.Error("search filtered by 福州 lacks the fire post")
	}
	if !strings.Contains(search, "福建省/福州市/马尾区") {
		t.Error("the place facet does not name the district")
	}

	resp = w.apiReq("GET", "/api/v1/places?q="+url.QueryEscape("仓山"), adminToken, "")
	got := decode[struct {
		Places []struct{ Code, Path string } `json:"places"`
	}](t, resp)
	if len(got.Places) == 0 || got.Places[0].Code != "350104" || got.Places[0].Path != "福建省/福州市/仓山区" {
		t.Errorf("places for 仓山: %+v", got.Places)
	}
	for _, c := range []struct {
		path string
		want int
	}{
		{"/api/v1/places?q=x&limit=0", http.StatusBadRequest},
		{"/api/v1/places?q=" + strings.Repeat("山", 65), http.StatusBadRequest},
	} {
		if st := w.apiReq("GET", c.path, adminToken, "").StatusCode; st != c.want {
			t.Errorf("%s: %d, want %d", c.path, st, c.want)
		}
	}
	if st := w.client().get("/api/v1/places?q=x").StatusCode; st != http.StatusUnauthorized {
		t.Errorf("places without login: %d", st)
	}
}

// TestPlacesPageDrillsDown: open leads counted by province, city and
// county, each row drilling down, the closed ones left out.
func TestPlacesPageDrillsDown(t *testing.T) {
	w := newWorld(t, Options{})
	ctx := context.Background()
	file := func(u, code string) string {
		res, err := w.leads.File(ctx, alerts.Candidate{URL: u, Site: "s", Source: "news", Title: "起火 " + u, Snippet: "起火",
			SeenAt: time.Now(), Level: "high", Score: 8, Categories: []alerts.CategoryScore{{Code: "fire", Score: 8}},
			SimHash: map[byte]uint64{'a': 0, 'b': 0xFFFF0000FFFF0000, 'c': 0x00FF00FF00FF00FF}[u[7]], LocationCodes: []string{code}})
		if err != nil {
			t.Fatal(err)
		}
		return res.LeadID
	}
	file("http://a.example/1", "350105") // 马尾区
	file("http://b.example/2", "350104") // 仓山区
	closed := file("http://c.example/3", "110118")
	l, _ := w.leads.GetLead(ctx, closed)
	if _, err := w.leads.Transition(ctx, closed, alerts.TransitionRequest{To: alerts.StateDismissed, Actor: "ana", Reason: "误报", Version: l.Version}); err != nil {
		t.Fatal(err)
	}
	v := w.login("viv")
	top := v.getBody("/places")
	if !strings.Contains(top, `data-code="35"`) || strings.Contains(top, `data-code="11"`) || !strings.Contains(top, "福建省") {
		t.Errorf("provinces: want 福建省 and not 北京 (its only lead is dismissed)")
	}
	city := v.getBody("/places?code=" + url.QueryEscape("福州"))
	for _, want := range []string{`data-code="350105"`, `data-code="350104"`, "马尾区", "仓山区", `href="/leads?location=350104"`, "福建省", "福州市"} {
		if !strings.Contains(city, want) {
			t.Errorf("福州's page lacks %s", want)
		}
	}
	if resp := v.get("/places?code=12a"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad code: %d", resp.StatusCode)
	}
}
