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
