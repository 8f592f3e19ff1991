// Package level is riskmine's one vocabulary of risk levels: their names,
// their order and how to read one from outside input. Assessments (nlp),
// the search index, leads and webhooks (alerts), the config and the web UI
// all speak it, so a level means the same everywhere and is ordered the
// same way everywhere.
//
// Levels are plain strings, the same ones the JSON API, the CLI and the
// webhooks carry (none, low, medium, high, critical), so no contract
// changes by using this package.
//
// It imports nothing of riskmine, so every other package may import it
// without importing each other.
package level

import (
	"errors"
	"fmt"
	"strings"
)

// The levels, lowest first.
const (
	None     = "none"
	Low      = "low"
	Medium   = "medium"
	High     = "high"
	Critical = "critical"
)

// names holds the levels in rank order: a level's rank is its index.
var names = [...]string{None, Low, Medium, High, Critical}

// ErrUnknown is wrapped by Parse and ParseAboveNone for a name that is not a
// level (or is none where none is not allowed).
var ErrUnknown = errors.New("unknown level")

// All returns the levels, lowest (none) first. The slice is the caller's.
func All() []string { return append([]string(nil), names[:]...) }

// AboveNone returns the levels a post can be flagged at, low to critical:
// the choices of a lead threshold, an alert rule or a filter that leaves
// out unflagged posts. The slice is the caller's.
func AboveNone() []string { return append([]string(nil), names[1:]...) }

// Rank orders levels: none 0, low 1, medium 2, high 3, critical 4. An
// unknown name (including "" and names in another case) is -1.
func Rank(l string) int {
	for i, n := range names {
		if n == l {
			return i
		}
	}
	return -1
}

// Known reports whether l is one of the levels.
func Known(l string) bool { return Rank(l) >= 0 }

// Parse returns s when it is a level. The error names what was given and
// what was expected on one line, for the caller to prefix with where s came
// from (a config key, a flag, a query parameter).
func Parse(s string) (string, error) {
	if Known(s) {
		return s, nil
	}
	return "", fmt.Errorf("%w %q, expected %s", ErrUnknown, s, list(names[:]))
}

// ParseAboveNone is Parse for a threshold: low, medium, high or critical.
func ParseAboveNone(s string) (string, error) {
	if Rank(s) > 0 {
		return s, nil
	}
	return "", fmt.Errorf("%w %q, expected %s", ErrUnknown, s, list(names[1:]))
}

// Compare returns -1, 0 or +1 as a ranks below, equal to or above b.
// Unknown names rank below none.
func Compare(a, b string) int {
	ra, rb := Rank(a), Rank(b)
	switch {
	case ra < rb:
		return -1
	case ra > rb:
		return 1
	}
	return 0
}

// AtLeast reports whether l is a known level at or above min. An unknown
// min is never reached.
func AtLeast(l, min string) bool {
	rl, rm := Rank(l), Rank(min)
	return rl >= 0 && rm >= 0 && rl >= rm
}

// Max returns the higher of a and b; a when they rank the same (so two
// unknown names give a).
func Max(a, b string) string {
	if Rank(b) > Rank(a) {
		return b
	}
	return a
}

// list writes levels as "a, b, c or d".
func list(ls []string) string {
	return strings.Join(ls[:len(ls)-1], ", ") + " or " + ls[len(ls)-1]
}
