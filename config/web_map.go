package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WebMap points the places view at the customer's own boundary layer.
// Published maps of China need an approved map number (审图号), so riskmine
// ships no boundaries: without Boundaries the places view shows its table
// only.
type WebMap struct {
	// Boundaries is a GeoJSON FeatureCollection of Polygon or MultiPolygon
	// features, one per division: a file path, or an http(s) URL the
	// server fetches at start and on reload (SIGHUP).
	Boundaries string `yaml:"boundaries"`
	// CodeProperty is the feature property holding the division code
	// (default adcode, as 天地图 and DataV-style layers name it); 6-digit
	// codes (350104; 350100 a city, 350000 a province), 9- and 12-digit
	// township codes are read.
	CodeProperty string `yaml:"code_property"`
	// Attribution is shown under the map: the layer's owner and its
	// 审图号.
	Attribution string `yaml:"attribution"`
	// Tiles is an optional background layer the browser loads, a URL
	// template with {z}, {x} and {y} (Web Mercator tiles of 256 px), e.g.
	// the customer's PGIS or 天地图 service. The pages' Content-Security-
	// Policy then allows images from its origin.
	Tiles string `yaml:"tiles"`
	// AllowPrivate lets a Boundaries URL be fetched from loopback, private
	// and link-local addresses (an intranet PGIS), like a webhook's
	// allow_private; cloud metadata addresses stay refused.
	AllowPrivate bool `yaml:"allow_private"`
}

// MaxMapBytes bounds the boundary layer read from a file or a URL.
const MaxMapBytes = 64 << 20

// MapArea is one division of the boundary layer: its code in riskmine's
// scheme (2 digits a province, 4 a city, 6 a county, 9 a township), the
// name the layer gives it, and its polygons as rings of [lon, lat].
type MapArea struct {
	Code     string
	Name     string
	Polygons [][][][2]float64
}

// IsURL says whether Boundaries is fetched rather than read from a file.
func (m WebMap) IsURL() bool {
	return strings.HasPrefix(m.Boundaries, "http://") || strings.HasPrefix(m.Boundaries, "https://")
}

var propName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$`)

func (c *Config) validateWebMap() error {
	m := &c.Web.Map
	if m.CodeProperty == "" {
		m.CodeProperty = "adcode"
	}
	if m.Boundaries == "" {
		if m.Tiles != "" || m.Attribution != "" || m.AllowPrivate || m.CodeProperty != "adcode" {
			return c.errAt("web.map.boundaries", "expected a GeoJSON file path or http(s) URL: the other web.map keys need it")
		}
		return nil
	}
	if !propName.MatchString(m.CodeProperty) {
		return c.errAt("web.map.code_property", "expected a property name such as adcode, got %q", m.CodeProperty)
	}
	if m.IsURL() {
		u, err := url.Parse(m.Boundaries)
		if err != nil || u.Host == "" || u.User != nil {
			return c.errAt("web.map.boundaries", "expected an http(s) URL with a host and no user such as https://pgis.example/counties.geojson, got %q", m.Boundaries)
		}
	} else {
		if strings.Contains(m.Boundaries, "://") {
			return c.errAt("web.map.boundaries", "expected a file path or an http(s) URL, got %q", m.Boundaries)
		}
		if _, err := ReadMapFile(m.Boundaries, m.CodeProperty); err != nil {
			return c.errAt("web.map.boundaries", "%v", err)
		}
	}
	if n := utf8.RuneCountInString(m.Attribution); n > 500 || strings.ContainsAny(m.Attribution, "\r\n") {
		return c.errAt("web.map.attribution", "expected one line of at most 500 characters (the layer's owner and 审图号)")
	}
	if t := m.Tiles; t != "" {
		if _, err := TileOrigin(t); err != nil {
			return c.errAt("web.map.tiles", "%v", err)
		}
	}
	return nil
}

// TileOrigin checks a tile URL template and returns its origin
// (scheme://host[:port]) for the Content-Security-Policy.
func TileOrigin(t string) (string, error) {
	if _, rest, ok := strings.Cut(t, "://"); ok {
		if host, _, _ := strings.Cut(rest, "/"); strings.ContainsAny(host, "{}") {
			return "", fmt.Errorf("expected one host (no {s} or other placeholder in it), got %q", t)
		}
	}
	u, err := url.Parse(strings.NewReplacer("{z}", "0", "{x}", "0", "{y}", "0").Replace(t))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("expected an http(s) URL template such as https://tiles.example/{z}/{x}/{y}.png, got %q", t)
	}
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !strings.Contains(t, p) {
			return "", fmt.Errorf("expected a URL template with {z}, {x} and {y}, %s is missing in %q", p, t)
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// ReadMapFile reads and parses a boundary layer file.
func ReadMapFile(path, codeProperty string) ([]MapArea, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxMapBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	areas, err := ParseMap(raw, codeProperty)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return areas, nil
}

type geoFeature struct {
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	Geometry   *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// ParseMap reads a GeoJSON FeatureCollection whose Polygon and
// MultiPolygon features carry a division code in the property named
// codeProperty. Features of one code are joined. Errors say which feature
// and what was expected.
func ParseMap(raw []byte, codeProperty string) ([]MapArea, error) {
	const want = "expected a GeoJSON FeatureCollection of Polygon or MultiPolygon features"
	if len(raw) > MaxMapBytes {
		return nil, fmt.Errorf("larger than %d MiB; %s of the divisions shown", MaxMapBytes>>20, want)
	}
	var fc struct {
		Type     string       `json:"type"`
		Features []geoFeature `json:"features"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		return nil, fmt.Errorf("not JSON (%s); %s", firstLine(err.Error()), want)
	}
	if fc.Type != "FeatureCollection" {
		return nil, fmt.Errorf("type %q; %s", fc.Type, want)
	}
	var out []MapArea
	at := map[string]int{}
	for i, f := range fc.Features {
		if f.Geometry == nil {
			return nil, fmt.Errorf("feature %d has no geometry; %s", i, want)
		}
		code, err := featureCode(f.Properties[codeProperty])
		if err != nil {
			return nil, fmt.Errorf("feature %d: property %q %v", i, codeProperty, err)
		}
		var polys [][][][2]float64
		switch f.Geometry.Type {
		case "Polygon":
			var p [][][]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &p); err != nil {
				return nil, fmt.Errorf("feature %d (%s): Polygon coordinates: expected rings of [longitude, latitude]", i, code)
			}
			ring, err := polygon(p)
			if err != nil {
				return nil, fmt.Errorf("feature %d (%s): %v", i, code, err)
			}
			polys = append(polys, ring)
		case "MultiPolygon":
			var mp [][][][]float64
			if err := json.Unmarshal(f.Geometry.Coordinates, &mp); err != nil {
				return nil, fmt.Errorf("feature %d (%s): MultiPolygon coordinates: expected polygons of rings of [longitude, latitude]", i, code)
			}
			for _, p := range mp {
				ring, err := polygon(p)
				if err != nil {
					return nil, fmt.Errorf("feature %d (%s): %v", i, code, err)
				}
				polys = append(polys, ring)
			}
		default:
			return nil, fmt.Errorf("feature %d (%s): geometry %q; %s", i, code, f.Geometry.Type, want)
		}
		name, _ := f.Properties["name"].(string)
		if j, ok := at[code]; ok {
			out[j].Polygons = append(out[j].Polygons, polys...)
			continue
		}
		at[code] = len(out)
		out = append(out, MapArea{Code: code, Name: name, Polygons: polys})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no features; %s", want)
	}
	return out, nil
}

// featureCode reads a division code written as a number or a string and
// puts it in riskmine's scheme: 350000 → 35, 350100 → 3501, 350104,
// 350104001000 → 350104001.
func featureCode(v any) (string, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case float64:
		if x != math.Trunc(x) || x < 0 || x > 1e13 {
			return "", fmt.Errorf("is %v; expected a division code such as 350104", x)
		}
		s = strconv.FormatFloat(x, 'f', 0, 64)
	case nil:
		return "", errors.New("is missing; expected a division code such as 350104")
	default:
		return "", fmt.Errorf("is %v; expected a division code such as 350104", x)
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return "", fmt.Errorf("is %q; expected a division code of digits such as 350104", s)
		}
	}
	switch {
	case len(s) == 6 && strings.HasSuffix(s, "0000"):
		return s[:2], nil
	case len(s) == 6 && strings.HasSuffix(s, "00"):
		return s[:4], nil
	case len(s) == 6, len(s) == 9:
		return s, nil
	case len(s) == 12 && strings.HasSuffix(s, "000"):
		return s[:9], nil
	}
	return "", fmt.Errorf("is %q; expected a division code of 6, 9 or 12 digits such as 350104", s)
}

// polygon checks a polygon's rings: closed or not, at least three
// positions, each a longitude and a latitude in range.
func polygon(p [][][]float64) ([][][2]float64, error) {
	if len(p) == 0 {
		return nil, errors.New("a polygon without rings; expected rings of [longitude, latitude]")
	}
	out := make([][][2]float64, 0, len(p))
	for _, r := range p {
		if len(r) < 3 {
			return nil, fmt.Errorf("a ring of %d positions; expected at least 3", len(r))
		}
		ring := make([][2]float64, len(r))
		for k, pos := range r {
			if len(pos) < 2 || math.IsNaN(pos[0]) || math.IsNaN(pos[1]) || pos[0] < -180 || pos[0] > 180 || pos[1] < -85 || pos[1] > 85 {
				return nil, fmt.Errorf("position %v; expected [longitude, latitude] in degrees (longitude -180…180, latitude -85…85)", pos)
			}
			ring[k] = [2]float64{pos[0], pos[1]}
		}
		out = append(out, ring)
	}
	return out, nil
}

// MapError is a problem with the boundary layer found after the config
// was read (a URL fetched at start or reload), tied to web.map.boundaries.
func (c *Config) MapError(err error) error {
	return c.errAt("web.map.boundaries", "%v", err)
}
