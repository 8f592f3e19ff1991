package web

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"riskmine/alerts"
	"riskmine/config"
)

// testLayer is a made-up boundary layer: squares carrying the real codes
// of four counties of 福州市 (DataV style: numeric adcode), a province
// feature the map does not draw, and a county of another province.
func testLayer(t testing.TB) []config.MapArea {
	t.Helper()
	sq := func(code string, lon, lat float64) string {
		return fmt.Sprintf(`{"type":"Feature","properties":{"adcode":%s,"name":"n%s"},"geometry":{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}}`,
			code, code, lon, lat, lon+0.1, lat, lon+0.1, lat+0.1, lon, lat+0.1, lon, lat)
	}
	fc := `{"type":"FeatureCollection","features":[` + strings.Join([]string{
		sq("350102", 119.20, 26.10), sq("350103", 119.30, 26.10), sq("350104", 119.20, 26.00), sq("350105", 119.30, 26.00),
		sq("350000", 118.0, 25.0), sq("110101", 116.3, 39.9),
	}, ",") + `]}`
	areas, err := config.ParseMap([]byte(fc), "adcode")
	if err != nil {
		t.Fatal(err)
	}
	return areas
}

var countyAttr = regexp.MustCompile(`data-code="(\d+)" data-leads="(\d+)"`)

// mapCounts reads the counties and their counts off a places page.
func mapCounts(body string) map[string]string {
	out := map[string]string{}
	for _, m := range countyAttr.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// The places view draws the layer's counties coloured by open leads, with
// the counts; a county links to its drill-down; tiles come from the
// configured origin, which the CSP then allows. Without a layer the table
// stays and the page says why there is no map.
func TestPlacesMap(t *testing.T) {
	w := newWorld(t, Options{AdminToken: adminToken})
	fileMapLeads(t, w)
	c := w.login("ana")
	body := c.getBody("/places?code=3501")
	if !strings.Contains(body, `id="no-map"`) || !strings.Contains(body, "审图号") || strings.Contains(body, "<svg viewBox") {
		t.Fatal("without web.map the page does not say why there is no map")
	}
	if !strings.Contains(body, `id="places"`) {
		t.Fatal("the places table is gone")
	}
	if csp := c.get("/places").Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:;") {
		t.Fatalf("CSP without a map: %q", csp)
	}

	if err := w.srv.SetMap(&MapLayer{Areas: testLayer(t), Attribution: "审图号：闽S（2099）000号 测试图层", Tiles: "https://tiles.pgis.test:8443/wmts/{z}/{x}/{y}.png"}); err != nil {
		t.Fatal(err)
	}
	resp := c.get("/places?code=3501")
	body = readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("places with a map: %d", resp.StatusCode)
	}
	want := map[string]string{"350102": "0", "350103": "0", "350104": "1", "350105": "2"}
	if got := mapCounts(body); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("map counties %v, want %v", got, want)
	}
	for _, s := range []string{`<a href="/places?code=350105" class="county"`, `class="m4"`, `class="m2"`, `马尾区 2</text>`, `仓山区 1</text>`, `鼓楼区 0</text>`,
		"审图号：闽S（2099）000号", `<image href="https://tiles.pgis.test:8443/wmts/`, `id="places"`} {
		if !strings.Contains(body, s) {
			t.Errorf("the map lacks %s", s)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://tiles.pgis.test:8443;") {
		t.Errorf("CSP with tiles: %q", csp)
	}
	// The whole country shows every county of the layer, the one in
	// Beijing too; a county's page marks it among its city's.
	if got := mapCounts(c.getBody("/places")); len(got) != 5 || got["110101"] != "0" || got["350105"] != "2" {
		t.Errorf("country map %v", got)
	}
	if b := c.getBody("/places?code=350105"); !strings.Contains(b, `class="county current" data-code="350105"`) || len(mapCounts(b)) != 4 {
		t.Errorf("the county page does not mark it on its city's map")
	}
	if b := c.getBody("/places?code=3502"); !strings.Contains(b, `id="no-map"`) || !strings.Contains(b, "没有这里的区县") {
		t.Errorf("a city outside the layer does not say so")
	}
	// Without tiles, the CSP is the strict one again.
	if err := w.srv.SetMap(&MapLayer{Areas: testLayer(t)}); err != nil {
		t.Fatal(err)
	}
	resp = c.get("/places?code=3501")
	if b := readAll(t, resp); strings.Contains(b, "<image") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "img-src 'self' data:;") {
		t.Errorf("tiles or their origin left after the layer lost its tiles")
	}
	if err := w.srv.SetMap(&MapLayer{Areas: testLayer(t), Tiles: "ftp://x/{z}/{x}/{y}"}); err == nil {
		t.Error("a bad tile template was accepted")
	}
	if err := w.srv.SetMap(&MapLayer{Failed: true}); err != nil {
		t.Fatal(err)
	}
	if b := c.getBody("/places"); !strings.Contains(b, "未能加载") {
		t.Error("a layer that failed to load is not reported")
	}
}

// fileMapLeads files two open leads in 马尾区 (350105), one in 仓山区
// (350104) and a dismissed one in 鼓楼区 (350102), which does not count.
func fileMapLeads(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	for i, p := range []struct{ code, name string }{{"350105001", "马尾区"}, {"350105", "马尾区"}, {"350104", "仓山区"}, {"350102", "鼓楼区"}} {
		res, err := w.leads.File(ctx, alerts.Candidate{
			URL: fmt.Sprintf("http://forum.example/map/%d", i), Site: "本地论坛", Source: "forum", Title: fmt.Sprintf("%s第%d起火情", p.name, i),
			Snippet: "居民楼起火", SeenAt: time.Now(), Level: "high", Score: 7, SimHash: uint64(0xff) << (16 * i),
			Categories:    []alerts.CategoryScore{{Code: "fire", Score: 7}},
			LocationCodes: []string{p.code}, LocationNames: []string{"福建省/福州市/" + p.name},
		})
		if err != nil || res.Outcome != alerts.OutcomeCreated {
			t.Fatalf("file lead %d: %+v %v", i, res, err)
		}
		if p.code == "350102" {
			if _, err := w.leads.Transition(ctx, res.LeadID, alerts.TransitionRequest{To: alerts.StateDismissed, Actor: "ana", Reason: "演练", Version: 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// In Chromium, clicking a county of the map drills into it like the
// table's link, and at 390 px the map page does not scroll sideways.
func TestBrowserPlacesMapDrillDown(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{AdminToken: adminToken})
	fileMapLeads(t, w)
	if err := w.srv.SetMap(&MapLayer{Areas: testLayer(t), Attribution: "审图号：测试"}); err != nil {
		t.Fatal(err)
	}
	browserLogin(t, tab, w.http.URL, "ana")
	do(t, tab, "open the places map", chromedp.Navigate(w.http.URL+"/places?code=3501"), chromedp.WaitVisible(chromedp.CSS(`#placemap svg`)))
	if n := eval[int](t, tab, `document.querySelectorAll("#placemap a.county").length`); n != 4 {
		t.Fatalf("%d counties drawn, want 4", n)
	}
	// The county is drawn where it can be clicked: a real size on screen.
	if wd := eval[float64](t, tab, `document.querySelector('#placemap a[data-code="350105"] path').getBoundingClientRect().width`); wd < 50 {
		t.Fatalf("马尾区 is %.0f px wide on the map", wd)
	}
	do(t, tab, "click 马尾区", chromedp.Click(chromedp.CSS(`#placemap a[data-code="350105"] path`)),
		chromedp.WaitVisible(chromedp.CSS(`#placemap a.current`)))
	if u := eval[string](t, tab, `location.search`); u != "?code=350105" {
		t.Fatalf("the click went to %q", u)
	}
	if crumbs := text(t, tab, "p.crumbs"); !strings.Contains(crumbs, "马尾区") {
		t.Fatalf("crumbs after the click: %q", crumbs)
	}
	do(t, tab, "phone viewport", chromedp.EmulateViewport(390, 844), chromedp.Navigate(w.http.URL+"/places?code=3501"), chromedp.WaitVisible(chromedp.CSS(`#placemap svg`)))
	if sw := eval[int](t, tab, `document.documentElement.scrollWidth`); sw > 390 {
		t.Errorf("the places map page is %d px wide at 390 px", sw)
	}
	if wd := eval[float64](t, tab, `document.querySelector("#placemap svg").getBoundingClientRect().width`); wd < 300 {
		t.Errorf("the map is %.0f px wide on a phone", wd)
	}
}

// BenchmarkPlacesMap draws a layer of n counties, each a ring of 2,000
// points (a detailed boundary), and reports the size of the drawn paths:
// draw is a view's first request (projection, paths), cached a later one
// (the kept drawing coloured with the counts).
func BenchmarkPlacesMap(b *testing.B) {
	for _, n := range []int{15, 100} {
		b.Run(fmt.Sprintf("counties=%d", n), func(b *testing.B) {
			var areas []config.MapArea
			leads := map[string]int{}
			for i := range n {
				lon, lat := 118.0+float64(i%10)*0.3, 25.0+float64(i/10)*0.3
				ring := make([][2]float64, 0, 2001)
				for k := range 2000 {
					a := 2 * math.Pi * float64(k) / 2000
					// A wobbly circle, so no two points are in line.
					r := 0.12 + 0.02*math.Sin(7*a)
					ring = append(ring, [2]float64{lon + r*math.Cos(a), lat + r*math.Sin(a)})
				}
				ring = append(ring, ring[0])
				code := fmt.Sprintf("35%02d%02d", 1+i/20, 1+i%20)
				areas = append(areas, config.MapArea{Code: code, Polygons: [][][][2]float64{{ring}}})
				leads[code] = i % 7
			}
			layer := &MapLayer{Areas: areas, cache: &mapCache{}}
			shown, prefix, current := mapCounties(layer, "")
			b.Run("draw", func(b *testing.B) {
				b.ReportAllocs()
				var size int
				for b.Loop() {
					d := drawCounties(layer, shown, current)
					size = 0
					for _, a := range d.areas {
						size += len(a.Path)
					}
				}
				b.ReportMetric(float64(size), "path-bytes")
			})
			b.Run("cached", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					colourMap(layer, layer.drawing(shown, prefix, current), leads)
				}
			})
		})
	}
}
