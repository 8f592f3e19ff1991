package service

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
