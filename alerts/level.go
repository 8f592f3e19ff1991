package alerts

import "riskmine/level"

// LevelRank returns the rank of level (none 0 … critical 4), or -1 for an
// unknown level. It is level.Rank, kept for the callers that order levels
// through alerts.
func LevelRank(l string) int { return level.Rank(l) }

// maxLevel returns the higher of two levels.
func maxLevel(a, b string) string { return level.Max(a, b) }
