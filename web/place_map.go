package web

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"riskmine/config"
)

// MapLayer is the customer's boundary layer (web.map): riskmine ships no
// boundaries, since published maps of China need an approved map number
// (审图号). The places view draws the layer's counties as SVG on the
// server, coloured by open leads.
type MapLayer struct {
	Areas []config.MapArea
	// Attribution is shown under the map (owner, 审图号).
	Attribution string
	// Tiles is a background tile URL template ({z}, {x}, {y}) the browser
	// loads under the counties; the CSP allows its origin.
	Tiles string
	// Failed marks a configured layer that could not be loaded (the
	// places view says so; the log says why).
	Failed bool
	// tileOrigin is Tiles' scheme://host for the CSP.
	tileOrigin string
}

// SetMap puts a boundary layer in place (nil removes it); the server
// calls it at start and on reload. It fails on a bad tile template.
func (s *Server) SetMap(m *MapLayer) error {
	if m != nil && m.Tiles != "" {
		o, err := config.TileOrigin(m.Tiles)
		if err != nil {
			return fmt.Errorf("web: map tiles: %w", err)
		}
		c := *m
		c.tileOrigin = o
		m = &c
	}
	s.mapLayer.Store(m)
	return nil
}

// mapPixels is about how wide the drawn map is, in tile pixels.
const mapPixels = 720

// placeMap is the SVG the places page draws, in Web Mercator pixels at
// Zoom (so background tiles line up).
type placeMap struct {
	ViewBox     string
	Tiles       []mapTile
	Areas       []mapArea
	Legend      []mapLegend
	Attribution string
	// Missing is the message key saying why there is no map.
	Missing string
}

type mapTile struct {
	URL        string
	X, Y, Size float64
}

type mapArea struct {
	Code, Name string
	Path       string
	Leads      int
	Class      string
	Current    bool
	LabelX     float64
	LabelY     float64
	FontSize   float64
}

type mapLegend struct {
	Class, Label string
}

// mercator projects lon, lat to Web Mercator pixels at zoom z.
func mercator(lon, lat float64, z int) (x, y float64) {
	n := 256 * math.Exp2(float64(z))
	x = (lon + 180) / 360 * n
	s := math.Sin(lat * math.Pi / 180)
	y = (0.5 - math.Log((1+s)/(1-s))/(4*math.Pi)) * n
	return x, y
}

// mapCounties picks the counties of the layer the page at code shows: all
// counties under a province or city, and the city's counties (the current
// one marked) under a county or township.
func mapCounties(layer *MapLayer, code string) (areas []config.MapArea, current string) {
	prefix := code
	if len(code) >= 6 {
		prefix, current = code[:4], code[:6]
	}
	for _, a := range layer.Areas {
		if len(a.Code) == 6 && strings.HasPrefix(a.Code, prefix) {
			areas = append(areas, a)
		}
	}
	return areas, current
}

// countyLeads counts open leads per county for the given counties, asking
// the store once per city.
func countyLeads(ctx context.Context, ps PlaceService, areas []config.MapArea) (map[string]int, error) {
	out := map[string]int{}
	asked := map[string]bool{}
	for _, a := range areas {
		city := a.Code[:4]
		if asked[city] {
			continue
		}
		asked[city] = true
		counts, err := ps.OpenLeadsByPlace(ctx, city)
		if err != nil {
			return nil, err
		}
		for _, c := range counts {
			out[c.Code] += c.Leads
		}
	}
	return out, nil
}

// buildPlaceMap draws the counties shown at code, coloured by open leads
// in five classes (none, then quarters of the largest count).
func buildPlaceMap(layer *MapLayer, areas []config.MapArea, current string, leads map[string]int) *placeMap {
	m := &placeMap{Attribution: layer.Attribution}
	// The zoom at which the counties fit in about mapPixels.
	minLon, minLat, maxLon, maxLat := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, a := range areas {
		for _, p := range a.Polygons {
			for _, pos := range p[0] {
				minLon, maxLon = math.Min(minLon, pos[0]), math.Max(maxLon, pos[0])
				minLat, maxLat = math.Min(minLat, pos[1]), math.Max(maxLat, pos[1])
			}
		}
	}
	z := 0
	for z < 18 {
		x0, y0 := mercator(minLon, maxLat, z+1)
		x1, y1 := mercator(maxLon, minLat, z+1)
		if x1-x0 > mapPixels || y1-y0 > mapPixels {
			break
		}
		z++
	}
	x0, y0 := mercator(minLon, maxLat, z)
	x1, y1 := mercator(maxLon, minLat, z)
	pad := math.Max(x1-x0, y1-y0) * 0.03
	x0, y0, x1, y1 = x0-pad, y0-pad, x1+pad, y1+pad
	m.ViewBox = fmt.Sprintf("%.1f %.1f %.1f %.1f", x0, y0, x1-x0, y1-y0)
	font := math.Max(x1-x0, y1-y0) / 45
	if layer.Tiles != "" {
		for ty := math.Floor(y0 / 256); ty*256 < y1; ty++ {
			for tx := math.Floor(x0 / 256); tx*256 < x1; tx++ {
				u := strings.NewReplacer("{z}", strconv.Itoa(z), "{x}", strconv.Itoa(int(tx)), "{y}", strconv.Itoa(int(ty))).Replace(layer.Tiles)
				m.Tiles = append(m.Tiles, mapTile{URL: u, X: tx * 256, Y: ty * 256, Size: 256})
			}
		}
	}
	most := 0
	for _, a := range areas {
		most = max(most, leads[a.Code])
	}
	for _, a := range areas {
		n := leads[a.Code]
		ma := mapArea{Code: a.Code, Name: shortPlaceName(a.Code), Leads: n, Current: a.Code == current, Class: "m" + strconv.Itoa(leadClass(n, most)), FontSize: font}
		if ma.Name == a.Code && a.Name != "" {
			ma.Name = a.Name
		}
		var d strings.Builder
		var best float64
		for _, p := range a.Polygons {
			for ri, ring := range p {
				lx, ly, hx, hy := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
				lastX, lastY := math.NaN(), math.NaN()
				for i, pos := range ring {
					x, y := mercator(pos[0], pos[1], z)
					lx, hx, ly, hy = math.Min(lx, x), math.Max(hx, x), math.Min(ly, y), math.Max(hy, y)
					// Points less than half a pixel apart draw the same.
					if i > 0 && i < len(ring)-1 && math.Abs(x-lastX) < 0.5 && math.Abs(y-lastY) < 0.5 {
						continue
					}
					if i == 0 {
						d.WriteString("M")
					} else {
						d.WriteString("L")
					}
					fmt.Fprintf(&d, "%.1f %.1f", x, y)
					lastX, lastY = x, y
				}
				d.WriteString("Z")
				// The label sits at the middle of the largest outer ring.
				if area := (hx - lx) * (hy - ly); ri == 0 && area > best {
					best, ma.LabelX, ma.LabelY = area, (lx+hx)/2, (ly+hy)/2
				}
			}
		}
		ma.Path = d.String()
		m.Areas = append(m.Areas, ma)
	}
	sort.Slice(m.Areas, func(i, j int) bool { return m.Areas[i].Code < m.Areas[j].Code })
	m.Legend = append(m.Legend, mapLegend{Class: "m0", Label: "0"})
	for c := 1; c <= 4; c++ {
		lo, hi := (c-1)*most/4+1, c*most/4
		switch {
		case most == 0 || hi < lo:
			continue
		case lo == hi:
			m.Legend = append(m.Legend, mapLegend{Class: "m" + strconv.Itoa(c), Label: strconv.Itoa(lo)})
		default:
			m.Legend = append(m.Legend, mapLegend{Class: "m" + strconv.Itoa(c), Label: strconv.Itoa(lo) + "–" + strconv.Itoa(hi)})
		}
	}
	return m
}

// leadClass is 0 for no leads, else 1–4 by the quarter of most n is in.
func leadClass(n, most int) int {
	if n <= 0 || most <= 0 {
		return 0
	}
	return min(4, (4*n+most-1)/most)
}

// mapCSP is the Content-Security-Policy's img-src addition for the
// background tiles, "" without them.
func (s *Server) mapCSP() string {
	if m := s.mapLayer.Load(); m != nil && m.tileOrigin != "" {
		return " " + m.tileOrigin
	}
	return ""
}
