package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/config"
)

// A boundary layer at a URL is fetched through the SSRF guard: a loopback
// server needs web.map.allow_private, like a webhook receiver; a bad layer
// is one config error line naming web.map.boundaries.
func TestLoadMapLayerFromURL(t *testing.T) {
	layer := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":"350104"},"geometry":{"type":"Polygon","coordinates":[[[119.2,26],[119.3,26],[119.3,26.1],[119.2,26]]]}}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/counties.geojson":
			w.Write([]byte(layer))
		case "/lines.geojson":
			w.Write([]byte(strings.Replace(layer, `"Polygon"`, `"LineString"`, 1)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	load := func(path string, private bool) error {
		t.Helper()
		yaml := "web:\n  map:\n    boundaries: " + srv.URL + path + "\n    attribution: 审图号：测试\n"
		if private {
			yaml += "    allow_private: true\n"
		}
		cfg, err := config.Parse("c.yaml", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		m, err := loadMapLayer(context.Background(), cfg)
		if err == nil && (len(m.Areas) != 1 || m.Areas[0].Code != "350104" || m.Attribution != "审图号：测试") {
			t.Fatalf("layer %+v", m)
		}
		return err
	}
	if err := load("/counties.geojson", true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path    string
		private bool
		msg     string
	}{
		{"/counties.geojson", false, "set web.map.allow_private: true"},
		{"/lines.geojson", true, `geometry "LineString"; expected a GeoJSON FeatureCollection of Polygon or MultiPolygon features`},
		{"/gone.geojson", true, "HTTP 404, expected 200"},
	} {
		err := load(tc.path, tc.private)
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != "web.map.boundaries" || ce.Line != 3 || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s (allow_private %v): %v, want a one-line config error at c.yaml:3 naming web.map.boundaries and %q", tc.path, tc.private, err, tc.msg)
		}
	}
}

// serve loads the boundary layer of web.map at start and again on reload
// (SIGHUP); a layer that no longer loads leaves the map off, said on the
// page, and serve keeps serving.
func TestServeMapLayerReload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts serve")
	}
	ctx := context.Background()
	dir := t.TempDir()
	layer := filepath.Join(dir, "counties.geojson")
	county := func(code string, lon float64) string {
		return fmt.Sprintf(`{"type":"Feature","properties":{"adcode":%s},"geometry":{"type":"Polygon","coordinates":[[[%g,26],[%g,26],[%g,26.1],[%g,26]]]}}`, code, lon, lon+0.1, lon+0.1, lon)
	}
	write := func(features ...string) {
		t.Helper()
		if err := os.WriteFile(layer, []byte(`{"type":"FeatureCollection","features":[`+strings.Join(features, ",")+`]}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(county("350104", 119.2))
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Web.Addr = "127.0.0.1:0"
	cfg.Web.Map = config.WebMap{Boundaries: layer, CodeProperty: "adcode", Attribution: "审图号：测试图层"}
	svc, err := startService(ctx, cfg, serviceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Shutdown()
	if _, err := svc.web.Store().AddUser(ctx, "viv", "correct-horse-battery-1", "viewer"); err != nil {
		t.Fatal(err)
	}
	base := "http://" + svc.Addr()
	c := loginClient(t, base, "viv", "correct-horse-battery-1")
	places := func() string {
		t.Helper()
		resp, err := c.Get(base + "/places?code=3501")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if b := places(); !strings.Contains(b, `data-code="350104"`) || strings.Contains(b, `data-code="350105"`) || !strings.Contains(b, "审图号：测试图层") {
		t.Fatal("the layer loaded at start is not on the places page")
	}
	write(county("350104", 119.2), county("350105", 119.4))
	svc.reloadMap(ctx)
	if b := places(); !strings.Contains(b, `data-code="350104"`) || !strings.Contains(b, `data-code="350105"`) {
		t.Fatal("the reloaded layer is not on the places page")
	}
	write(`{"type":"Feature","properties":{"adcode":350104},"geometry":null}`)
	svc.reloadMap(ctx)
	if b := places(); strings.Contains(b, `data-code="350104"`) || !strings.Contains(b, "未能加载") {
		t.Fatal("a layer that no longer loads is not reported on the page")
	}
}
