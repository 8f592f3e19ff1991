package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// square is a GeoJSON Polygon feature: a made-up square of side d degrees
// at lon, lat, carrying code under the property prop.
func square(prop, code string, lon, lat, d float64) string {
	return fmt.Sprintf(`{"type":"Feature","properties":{%q:%s,"name":"x"},"geometry":{"type":"Polygon","coordinates":[[[%g,%g],[%g,%g],[%g,%g],[%g,%g],[%g,%g]]]}}`,
		prop, code, lon, lat, lon+d, lat, lon+d, lat+d, lon, lat+d, lon, lat)
}

func TestParseMap(t *testing.T) {
	fc := `{"type":"FeatureCollection","features":[` + strings.Join([]string{
		square("adcode", "350104", 119.2, 26.0, 0.1),
		square("adcode", `"350105"`, 119.4, 26.0, 0.1),
		square("adcode", "350100", 119.0, 25.9, 0.8),
		square("adcode", "350000", 116.0, 23.5, 4),
		square("adcode", `"350104001000"`, 119.25, 26.05, 0.02),
		square("adcode", "350104", 119.3, 26.0, 0.05), // a second part of 仓山区
	}, ",") + `]}`
	areas, err := ParseMap([]byte(fc), "adcode")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, a := range areas {
		codes = append(codes, fmt.Sprintf("%s:%d", a.Code, len(a.Polygons)))
	}
	if got := strings.Join(codes, " "); got != "350104:2 350105:1 3501:1 35:1 350104001:1" {
		t.Fatalf("areas %s", got)
	}
	if p := areas[1].Polygons[0][0]; len(p) != 5 || p[2] != [2]float64{119.5, 26.1} {
		t.Fatalf("ring %v", p)
	}

	bad := []struct{ name, doc, msg string }{
		{"not JSON", `{"type":`, "not JSON"},
		{"a bare geometry", `{"type":"Polygon","coordinates":[]}`, `type "Polygon"; expected a GeoJSON FeatureCollection`},
		{"no features", `{"type":"FeatureCollection","features":[]}`, "no features"},
		{"no code", `{"type":"FeatureCollection","features":[` + square("code", "350104", 119, 26, 1) + `]}`, `feature 0: property "adcode" is missing; expected a division code such as 350104`},
		{"a name for a code", `{"type":"FeatureCollection","features":[` + square("adcode", `"仓山区"`, 119, 26, 1) + `]}`, `feature 0: property "adcode" is "仓山区"; expected a division code of digits`},
		{"a point", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":350104},"geometry":{"type":"Point","coordinates":[119,26]}}]}`, `feature 0 (350104): geometry "Point"; expected a GeoJSON FeatureCollection of Polygon or MultiPolygon`},
		{"latitude first", `{"type":"FeatureCollection","features":[` + square("adcode", "350104", 26, 119, 1) + `]}`, "expected [longitude, latitude]"},
		{"a short ring", `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":350104},"geometry":{"type":"Polygon","coordinates":[[[119,26],[120,26]]]}}]}`, "a ring of 2 positions; expected at least 3"},
	}
	for _, tc := range bad {
		_, err := ParseMap([]byte(tc.doc), "adcode")
		if err == nil || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line containing %q", tc.name, err, tc.msg)
		}
	}
}

// The web.map keys: a bad layer file is one line naming the key, the line
// and what was expected.
func TestWebMapKeys(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "counties.geojson")
	if err := os.WriteFile(good, []byte(`{"type":"FeatureCollection","features":[`+square("code", `"350104"`, 119.2, 26, 0.1)+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.geojson")
	if err := os.WriteFile(broken, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"adcode":350104},"geometry":{"type":"LineString","coordinates":[[119,26],[120,26]]}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name, yaml, key string
		line            int
		msg             string
	}{
		{"missing file", "web:\n  map:\n    boundaries: " + filepath.Join(dir, "nope.geojson") + "\n", "web.map.boundaries", 3, "no such file"},
		{"a line layer", "web:\n  map:\n    boundaries: " + broken + "\n", "web.map.boundaries", 3, `broken.geojson: feature 0 (350104): geometry "LineString"; expected a GeoJSON FeatureCollection of Polygon or MultiPolygon features`},
		{"the default property absent", "web:\n  map:\n    boundaries: " + good + "\n", "web.map.boundaries", 3, `property "adcode" is missing`},
		{"an ftp URL", "web:\n  map:\n    boundaries: ftp://gis.example/c.geojson\n", "web.map.boundaries", 3, "expected a file path or an http(s) URL"},
		{"tiles without layer", "web:\n  map:\n    tiles: https://t.example/{z}/{x}/{y}.png\n", "web.map.boundaries", 2, "the other web.map keys need it"},
		{"tiles without y", "web:\n  map:\n    boundaries: " + good + "\n    code_property: code\n    tiles: https://t.example/{z}/{x}.png\n", "web.map.tiles", 5, "{y} is missing"},
		{"tiles with a subdomain placeholder", "web:\n  map:\n    boundaries: " + good + "\n    code_property: code\n    tiles: https://t{s}.example/{z}/{x}/{y}.png\n", "web.map.tiles", 5, "expected one host"},
		{"tiles over ftp", "web:\n  map:\n    boundaries: " + good + "\n    code_property: code\n    tiles: ftp://t.example/{z}/{x}/{y}\n", "web.map.tiles", 5, "expected an http(s) URL template"},
		{"a property with spaces", "web:\n  map:\n    boundaries: " + good + "\n    code_property: ad code\n", "web.map.code_property", 4, `expected a property name such as adcode, got "ad code"`},
		{"unknown key", "web:\n  map:\n    boundary: " + good + "\n", "web.map.boundary", 3, "unknown key"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a config error", err)
			}
			prefix := fmt.Sprintf("config: c.yaml:%d: %s: ", tc.line, tc.key)
			if ce.Key != tc.key || ce.Line != tc.line || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q, want it to start with %q and contain %q", err, prefix, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not one line", err)
			}
		})
	}

	c, err := Parse("c.yaml", []byte("web:\n  map:\n    boundaries: "+good+"\n    code_property: code\n    attribution: 审图号：闽S（2025）001号\n    tiles: https://pgis.example:8443/tiles/{z}/{y}/{x}.png\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := TileOrigin(c.Web.Map.Tiles); o != "https://pgis.example:8443" {
		t.Errorf("tile origin %q", o)
	}
	c, err = Parse("c.yaml", []byte("web:\n  map:\n    boundaries: https://pgis.example/counties.geojson\n    allow_private: true\n"))
	if err != nil || !c.Web.Map.IsURL() || c.Web.Map.CodeProperty != "adcode" {
		t.Fatalf("a URL layer: %+v, %v", c.Web.Map, err)
	}
	if c, err := Parse("c.yaml", nil); err != nil || c.Web.Map.Boundaries != "" {
		t.Fatalf("default: %+v %v", c.Web.Map, err)
	}
}
