package level

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRankOrdersTheLevels(t *testing.T) {
	want := []string{"none", "low", "medium", "high", "critical"}
	if got := All(); !slices.Equal(got, want) {
		t.Fatalf("All() = %v, want %v", got, want)
	}
	if got := AboveNone(); !slices.Equal(got, want[1:]) {
		t.Fatalf("AboveNone() = %v, want %v", got, want[1:])
	}
	for i, l := range want {
		if r := Rank(l); r != i {
			t.Errorf("Rank(%q) = %d, want %d", l, r, i)
		}
	}
	for _, bad := range []string{"", "High", " low", "severe", "none "} {
		if r := Rank(bad); r != -1 {
			t.Errorf("Rank(%q) = %d, want -1", bad, r)
		}
		if Known(bad) {
			t.Errorf("Known(%q) = true", bad)
		}
	}
}

func TestAllIsACopy(t *testing.T) {
	a := All()
	a[0] = "changed"
	if All()[0] != None {
		t.Fatal("changing the slice All returned changed the vocabulary")
	}
	b := AboveNone()
	b[0] = "changed"
	if AboveNone()[0] != Low {
		t.Fatal("changing the slice AboveNone returned changed the vocabulary")
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in        string
		aboveNone bool
		ok        bool
		wantMsg   string
	}{
		{in: "none", ok: true},
		{in: "critical", ok: true},
		{in: "hgih", wantMsg: `unknown level "hgih", expected none, low, medium, high or critical`},
		{in: "", wantMsg: `unknown level "", expected none, low, medium, high or critical`},
		{in: "low", aboveNone: true, ok: true},
		{in: "none", aboveNone: true, wantMsg: `unknown level "none", expected low, medium, high or critical`},
		{in: "Medium", aboveNone: true, wantMsg: `unknown level "Medium", expected low, medium, high or critical`},
	}
	for _, tc := range tests {
		parse := Parse
		if tc.aboveNone {
			parse = ParseAboveNone
		}
		got, err := parse(tc.in)
		if tc.ok {
			if err != nil || got != tc.in {
				t.Errorf("parse(%q) aboveNone=%v = %q, %v", tc.in, tc.aboveNone, got, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("parse(%q) aboveNone=%v accepted it", tc.in, tc.aboveNone)
			continue
		}
		if !errors.Is(err, ErrUnknown) || err.Error() != tc.wantMsg || strings.Contains(err.Error(), "\n") {
			t.Errorf("parse(%q) aboveNone=%v error %q, want %q wrapping ErrUnknown", tc.in, tc.aboveNone, err, tc.wantMsg)
		}
	}
}

func TestComparisons(t *testing.T) {
	tests := []struct {
		a, b    string
		cmp     int
		atLeast bool
		max     string
	}{
		{"low", "low", 0, true, "low"},
		{"high", "medium", 1, true, "high"},
		{"medium", "high", -1, false, "high"},
		{"none", "low", -1, false, "low"},
		{"critical", "none", 1, true, "critical"},
		{"bogus", "none", -1, false, "none"},
		{"high", "bogus", 1, false, "high"},
		{"bogus", "other", 0, false, "bogus"},
	}
	for _, tc := range tests {
		if got := Compare(tc.a, tc.b); got != tc.cmp {
			t.Errorf("Compare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.cmp)
		}
		if got := AtLeast(tc.a, tc.b); got != tc.atLeast {
			t.Errorf("AtLeast(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.atLeast)
		}
		if got := Max(tc.a, tc.b); got != tc.max {
			t.Errorf("Max(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.max)
		}
	}
	// Sorting by Compare gives the rank order whatever the input order.
	ls := []string{"high", "none", "critical", "low", "medium"}
	slices.SortFunc(ls, Compare)
	if !slices.Equal(ls, All()) {
		t.Fatalf("sorted by Compare: %v", ls)
	}
}

// FuzzParse checks that any input either parses to itself as a known level
// or fails with ErrUnknown, on one line, without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"none", "critical", "", "hgih", "低"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		if Known(s) != (err == nil) {
			t.Fatalf("Parse(%q) error %v but Known %v", s, err, Known(s))
		}
		if err == nil && got != s {
			t.Fatalf("Parse(%q) = %q", s, got)
		}
		if err != nil && !errors.Is(err, ErrUnknown) {
			t.Fatalf("Parse(%q) error %v does not wrap ErrUnknown", s, err)
		}
	})
}
