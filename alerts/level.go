package alerts

// Levels lists the risk levels from lowest to highest.
var Levels = []string{"none", "low", "medium", "high", "critical"}

// LevelRank returns the position of level in Levels (0 for none), or -1 for
// an unknown level.
func LevelRank(level string) int {
	for i, l := range Levels {
		if l == level {
			return i
		}
	}
	return -1
}

// maxLevel returns the higher of two levels.
func maxLevel(a, b string) string {
	if LevelRank(b) > LevelRank(a) {
		return b
	}
	return a
}
