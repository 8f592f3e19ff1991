package nlp

import (
	"cmp"
	"slices"
	"strings"
	"sync"
)

// Division is an administrative division of the gazetteer: its statistical
// code (2 digits for a province, 4 a city, 6 a county, 9 a township), its
// name, its full name path (福建省/福州市/仓山区) and its level (1 province
// … 4 township).
type Division struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Path  string `json:"path"`
	Level int    `json:"level"`
}

var (
	divIndexOnce sync.Once
	divIndex     map[string]int32 // code → index in the gazetteer
)

func divisionIndex(g *gazetteer) map[string]int32 {
	divIndexOnce.Do(func() {
		divIndex = make(map[string]int32, len(g.divs))
		for i := range g.divs {
			if c := g.code(int32(i)); c != "" {
				divIndex[c] = int32(i)
			}
		}
	})
	return divIndex
}

func (g *gazetteer) division(i int32) Division {
	d := g.divs[i]
	return Division{Code: g.code(i), Name: d.name, Path: g.path(i), Level: int(d.level)}
}

// DivisionByCode returns the division with the statistical code (a facet
// term, a lead's place code), or false when the gazetteer has none.
func DivisionByCode(code string) (Division, bool) {
	g, err := loadGazetteer()
	if err != nil {
		return Division{}, false
	}
	i, ok := divisionIndex(g)[code]
	if !ok {
		return Division{}, false
	}
	return g.division(i), true
}

// FindDivisions returns up to limit divisions whose name or short name
// (仓山 for 仓山区, 雁门口 for 雁门口镇) is q or begins with it: exact names
// first, then higher levels (provinces before townships), then by code. A
// q of a name path (福州/仓山) keeps the divisions whose path holds every
// part in order. Divisions without a statistical code are left out.
func FindDivisions(q string, limit int) []Division {
	var parts []string
	for _, p := range strings.FieldsFunc(q, func(r rune) bool { return r == '/' || r == '／' || r == ' ' || r == '>' }) {
		if p = strings.TrimSpace(NormalizeText(p)); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 || limit <= 0 {
		return nil
	}
	g, err := loadGazetteer()
	if err != nil {
		return nil
	}
	last := parts[len(parts)-1]
	type hit struct {
		i     int32
		exact bool
	}
	var hits []hit
	for i := range g.divs {
		d := &g.divs[i]
		if g.code(int32(i)) == "" {
			continue
		}
		short := g.shortName(int32(i))
		exact := d.name == last || short == last
		if !exact && !strings.HasPrefix(d.name, last) {
			continue
		}
		if len(parts) > 1 && !pathHolds(g.path(int32(i)), parts[:len(parts)-1]) {
			continue
		}
		hits = append(hits, hit{int32(i), exact})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.exact != b.exact {
			if a.exact {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(g.divs[a.i].level, g.divs[b.i].level), strings.Compare(g.divs[a.i].key, g.divs[b.i].key))
	})
	out := make([]Division, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, g.division(h.i))
	}
	return out
}

// shortName is the name without its generic ending ("" when none).
func (g *gazetteer) shortName(i int32) string {
	if int(i) < len(g.townShort) && g.townShort[i] != "" {
		return g.townShort[i]
	}
	if g.divs[i].level == gazTownship {
		return ""
	}
	s, _ := gazShortForm(g.divs[i].name)
	return s
}

// pathHolds reports whether each of parts begins a name of path, in order
// (福州 and 仓山 in 福建省/福州市/仓山区).
func pathHolds(path string, parts []string) bool {
	names := strings.Split(path, "/")
	j := 0
	for _, n := range names {
		if j < len(parts) && strings.HasPrefix(n, parts[j]) {
			j++
		}
	}
	return j == len(parts)
}
