package web

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"

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
	// cache keeps the drawn views (SetMap makes it).
	cache *mapCache
}

// SetMap puts a boundary layer in place (nil removes it); the server
// calls it at start and on reload. It fails on a bad tile template.
func (s *Server) SetMap(m *MapLayer) error {
	if m != nil {
		c := *m
		if m.Tiles != "" {
			o, err := config.TileOrigin(m.Tiles)
			if err != nil {
				return fmt.Errorf("web: map tiles: %w", err)
			}
			c.tileOrigin = o
		}
		c.cache = &mapCache{}
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
func mapCounties(layer *MapLayer, code string) (areas []config.MapArea, prefix, current string) {
	prefix = code
	if len(code) >= 6 {
		prefix, current = code[:4], code[:6]
	}
	for _, a := range layer.Areas {
		if len(a.Code) == 6 && strings.HasPrefix(a.Code, prefix) {
			areas = append(areas, a)
		}
	}
	return areas, prefix, current
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

// mapDrawing is the geometry of one view of the layer (the counties under
// a division, one maybe marked current): it depends on the layer alone, so
// it is drawn once per view and kept until the layer is replaced.
type mapDrawing struct {
	viewBox string
	tiles   []mapTile
	areas   []mapArea // without counts
}

// mapCache keeps the drawings of a layer by view.
type mapCache struct {
	mu    sync.Mutex
	views map[string]*mapDrawing
}

// drawing returns the view's geometry, drawing it the first time.
func (layer *MapLayer) drawing(areas []config.MapArea, prefix, current string) *mapDrawing {
	c := layer.cache
	if c == nil {
		return drawCounties(layer, areas, current)
	}
	key := prefix + "|" + current
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.views[key]; ok {
		return d
	}
	d := drawCounties(layer, areas, current)
	if c.views == nil {
		c.views = map[string]*mapDrawing{}
	}
	c.views[key] = d
	return d
}

// drawCounties projects the counties to Web Mercator pixels at the zoom
// at which they fit in about mapPixels, as SVG paths with a label spot
// each, and lists the background tiles under them.
func drawCounties(layer *MapLayer, areas []config.MapArea, current string) *mapDrawing {
	d := &mapDrawing{}
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
	d.viewBox = fmt.Sprintf("%.1f %.1f %.1f %.1f", x0, y0, x1-x0, y1-y0)
	font := math.Max(x1-x0, y1-y0) / 45
	if layer.Tiles != "" {
		for ty := math.Floor(y0 / 256); ty*256 < y1; ty++ {
			for tx := math.Floor(x0 / 256); tx*256 < x1; tx++ {
				u := strings.NewReplacer("{z}", strconv.Itoa(z), "{x}", strconv.Itoa(int(tx)), "{y}", strconv.Itoa(int(ty))).Replace(layer.Tiles)
				d.tiles = append(d.tiles, mapTile{URL: u, X: tx * 256, Y: ty * 256, Size: 256})
			}
		}
	}
	var buf []byte
	for _, a := range areas {
		ma := mapArea{Code: a.Code, Name: shortPlaceName(a.Code), Current: a.Code == current, FontSize: font}
		if ma.Name == a.Code && a.Name != "" {
			ma.Name = a.Name
		}
		buf = buf[:0]
		var best float64
		for _, p := range a.Polygons {
			for ri, ring := range p {
				lx, ly, hx, hy := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
				lastX, lastY := math.NaN(), math.NaN()
				for i, pos := range ring {
					x, y := mercator(pos[0], pos[1], z)
					lx, hx, ly, hy = math.Min(lx, x), math.Max(hx, x), math.Min(ly, y), math.Max(hy, y)
					// The map is drawn at most about mapPixels wide: a
					// point within a pixel of the last one kept adds
					// nothing to see.
					if i > 0 && i < len(ring)-1 && math.Abs(x-lastX) < 1 && math.Abs(y-lastY) < 1 {
						continue
					}
					if i == 0 {
						buf = append(buf, 'M')
					} else {
						buf = append(buf, 'L')
					}
					buf = strconv.AppendFloat(buf, x, 'f', 1, 64)
					buf = append(buf, ' ')
					buf = strconv.AppendFloat(buf, y, 'f', 1, 64)
					lastX, lastY = x, y
				}
				buf = append(buf, 'Z')
				// The label sits at the middle of the largest outer ring.
				if area := (hx - lx) * (hy - ly); ri == 0 && area > best {
					best, ma.LabelX, ma.LabelY = area, (lx+hx)/2, (ly+hy)/2
				}
			}
		}
		ma.Path = string(buf)
		d.areas = append(d.areas, ma)
	}
	sort.Slice(d.areas, func(i, j int) bool { return d.areas[i].Code < d.areas[j].Code })
	return d
}

// colourMap puts the open leads on a drawing: each county's count and one
// of five classes (none, then quarters of the largest count), and the
// legend.
func colourMap(layer *MapLayer, d *mapDrawing, leads map[string]int) *placeMap {
	m := &placeMap{ViewBox: d.viewBox, Tiles: d.tiles, Attribution: layer.Attribution, Areas: make([]mapArea, len(d.areas))}
	most := 0
	for _, a := range d.areas {
		most = max(most, leads[a.Code])
	}
	for i, a := range d.areas {
		a.Leads = leads[a.Code]
		a.Class = "m" + strconv.Itoa(leadClass(a.Leads, most))
		m.Areas[i] = a
	}
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
