package nlp

import "strings"

// PreciseLocation returns the mention of locs that pins the spot down most
// precisely, for a dispatcher: a road or place with a kilometre post,
// crossing, house or building number or offset (五四路与湖东路交叉口东侧25米)
// before a bare road or place, any of them before a place abroad, and a
// division only when nothing finer is named (the one with the longest
// code, 9-digit township before 6-digit county). Ties go to the earliest
// mention, where a report names its scene. ok is false when locs is empty.
func PreciseLocation(locs []Location) (best Location, ok bool) {
	bestRank := -1
	for _, l := range locs {
		if r := preciseRank(l); r > bestRank {
			best, bestRank = l, r
		}
	}
	return best, bestRank >= 0
}

// preciseRank orders mentions by how precisely they place the spot.
func preciseRank(l Location) int {
	switch l.Kind {
	case "road", "place":
		if strings.ContainsAny(l.Text, "0123456789") || locHasCrossing(l.Text) {
			return 30
		}
		return 20
	case "foreign":
		return 10
	case "admin":
		return len(l.Code) // 0 to 9
	}
	return -1
}
