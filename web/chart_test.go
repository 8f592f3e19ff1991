package web

import (
	"testing"
	"time"
)

func TestStackedDays(t *testing.T) {
	name := func(s string) string { return "n:" + s }
	end := time.Date(2024, 5, 10, 15, 0, 0, 0, time.UTC)
	c := stackedDays([]dayPoint{
		{Day: "2024-05-08", Series: "fire", Count: 3},
		{Day: "2024-05-08", Series: "fraud", Count: 1},
		{Day: "2024-05-09", Series: "fire", Count: 2},
		{Day: "bad-day", Series: "fire", Count: 9},
		{Day: "2024-05-09", Series: "fraud", Count: 0},
	}, name, end, 7)
	if c.Empty || c.Max != 4 {
		t.Fatalf("max %d empty %v", c.Max, c.Empty)
	}
	if len(c.Bars) != 3 {
		t.Fatalf("%d bars, want 3", len(c.Bars))
	}
	if len(c.Legend) != 2 || c.Legend[0].Name != "n:fire" {
		t.Errorf("legend %+v: the biggest series comes first", c.Legend)
	}
	// Seven slots ending on the 10th: the 8th is the fifth slot.
	last := c.Labels[len(c.Labels)-3]
	if last.Text != "05-10" {
		t.Errorf("axis ends at %q, want 05-10", last.Text)
	}
	for _, b := range c.Bars {
		if b.Y < 0 || b.Y+b.H > c.AxisY || b.W < 1 || b.W > 28 {
			t.Errorf("bar out of the plot: %+v", b)
		}
	}
	if e := stackedDays(nil, name, end, 7); !e.Empty {
		t.Error("no points is not empty")
	}
}

// TestCategoryColoursAreFixed: a category keeps its colour whatever the
// other series and their totals, and no two categories share one.
func TestCategoryColoursAreFixed(t *testing.T) {
	fill := func(c *chart, name string) string {
		for _, l := range c.Legend {
			if l.Name == name {
				return l.Fill
			}
		}
		return ""
	}
	day := "2026-11-20"
	a := stackedDays([]dayPoint{{day, "fire", 5}, {day, "fraud", 1}}, func(s string) string { return s }, time.Time{}, 1)
	b := stackedDays([]dayPoint{{day, "fraud", 9}, {day, "drugs", 2}, {day, "fire", 1}}, func(s string) string { return s }, time.Time{}, 1)
	for _, cat := range []string{"fire", "fraud"} {
		if fill(a, cat) == "" || fill(a, cat) != fill(b, cat) {
			t.Errorf("%s: colour %q in one chart, %q in the other", cat, fill(a, cat), fill(b, cat))
		}
	}
	seen := map[string]string{}
	for _, c := range categoryCodes {
		col := seriesColor(c, 0)
		if other, dup := seen[col]; dup {
			t.Errorf("%s and %s share %s", c, other, col)
		}
		seen[col] = c
	}
}
