package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"riskmine/config"
	"riskmine/service"
)

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
	svc, err := service.Start(ctx, cfg, service.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Shutdown()
	if _, err := svc.Web().Store().AddUser(ctx, "viv", "correct-horse-battery-1", "viewer"); err != nil {
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
	svc.Reload(ctx)
	if b := places(); !strings.Contains(b, `data-code="350104"`) || !strings.Contains(b, `data-code="350105"`) {
		t.Fatal("the reloaded layer is not on the places page")
	}
	write(`{"type":"Feature","properties":{"adcode":350104},"geometry":null}`)
	svc.Reload(ctx)
	if b := places(); strings.Contains(b, `data-code="350104"`) || !strings.Contains(b, "未能加载") {
		t.Fatal("a layer that no longer loads is not reported on the page")
	}
}
