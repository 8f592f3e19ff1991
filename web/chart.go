package web

import (
	"fmt"
	"sort"
	"time"
)

// chart is a bar chart rendered as SVG by the templates (no script, no
// inline style: colours are fill attributes).
type chart struct {
	Width, Height int
	Bars          []chartBar
	Labels        []chartLabel
	Legend        []chartLegend
	Max           int
	AxisY         int // y of the baseline
	Empty         bool
}

type chartBar struct {
	X, Y, W, H int
	Fill       string
	Title      string
}

type chartLabel struct {
	X, Y int
	Text string
}

type chartLegend struct {
	Fill string
	Name string
}

// categoryColors gives each category of categoryCodes its own colour, the
// same on every page and every reload (in the order of categoryCodes).
var categoryColors = []string{
	"#d1495b", "#f3722c", "#8338ec", "#6d4c41", "#1982c4", "#00798c",
	"#8ac926", "#2a9d8f", "#edae49", "#b5838d", "#30638e", "#9d0208",
	"#495057", "#5f0f40", "#ff006e", "#3a5a40", "#fb8500", "#6c757d",
}

// seriesColor is the colour of a series: its category's own colour, or
// for other series (categories a lexicon added) the palette in order.
func seriesColor(s string, i int) string {
	for k, c := range categoryCodes {
		if c == s && k < len(categoryColors) {
			return categoryColors[k]
		}
	}
	return palette[i%len(palette)]
}

// palette colours series that are not known categories, in order of their
// totals.
var palette = []string{"#d1495b", "#edae49", "#00798c", "#30638e", "#6a4c93", "#8ac926", "#ff595e", "#1982c4", "#f28482", "#84a59d", "#b5838d", "#6d597a"}

// dayPoint is one count on one day in one series.
type dayPoint struct {
	Day    string // 2006-01-02
	Series string
	Count  int
}

// stackedDays builds a stacked bar chart with one bar per day from first to
// last (days without data get an empty slot), series stacked by total.
// The axis spans at least minDays days, ending at the later of the last
// day with data and end (when not zero). name translates a series key for
// the legend and tooltips.
func stackedDays(points []dayPoint, name func(string) string, end time.Time, minDays int) *chart {
	const w, h, left, bottom, top = 720, 220, 34, 28, 10
	c := &chart{Width: w, Height: h, AxisY: h - bottom}
	if len(points) == 0 {
		c.Empty = true
		return c
	}
	totals := map[string]int{}
	perDay := map[string]map[string]int{}
	first, last := "", ""
	for _, p := range points {
		if _, err := time.Parse("2006-01-02", p.Day); err != nil || p.Count <= 0 {
			continue
		}
		totals[p.Series] += p.Count
		if perDay[p.Day] == nil {
			perDay[p.Day] = map[string]int{}
		}
		perDay[p.Day][p.Series] += p.Count
		if first == "" || p.Day < first {
			first = p.Day
		}
		if p.Day > last {
			last = p.Day
		}
	}
	if first == "" {
		c.Empty = true
		return c
	}
	series := make([]string, 0, len(totals))
	for s := range totals {
		series = append(series, s)
	}
	sort.Slice(series, func(i, j int) bool {
		if totals[series[i]] != totals[series[j]] {
			return totals[series[i]] > totals[series[j]]
		}
		return series[i] < series[j]
	})
	color := map[string]string{}
	for i, s := range series {
		color[s] = seriesColor(s, i)
		c.Legend = append(c.Legend, chartLegend{Fill: color[s], Name: name(s)})
	}
	var days []string
	d0, _ := time.Parse("2006-01-02", first)
	d1, _ := time.Parse("2006-01-02", last)
	if !end.IsZero() {
		if e, _ := time.Parse("2006-01-02", end.Format("2006-01-02")); e.After(d1) {
			d1 = e
		}
	}
	if span := int(d1.Sub(d0).Hours()/24) + 1; span < minDays {
		d0 = d1.AddDate(0, 0, 1-minDays)
	}
	for d := d0; !d.After(d1) && len(days) < 400; d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format("2006-01-02"))
	}
	for _, d := range days {
		sum := 0
		for _, n := range perDay[d] {
			sum += n
		}
		c.Max = max(c.Max, sum)
	}
	plotH := h - bottom - top
	slot := float64(w-left-4) / float64(len(days))
	barW := min(28, max(1, int(slot*0.8)))
	for i, d := range days {
		x := left + int(float64(i)*slot)
		y := h - bottom
		for _, s := range series {
			n := perDay[d][s]
			if n == 0 {
				continue
			}
			bh := max(1, n*plotH/c.Max)
			y -= bh
			c.Bars = append(c.Bars, chartBar{X: x, Y: y, W: barW, H: bh, Fill: color[s], Title: fmt.Sprintf("%s %s: %d", d, name(s), n)})
		}
		// Label about eight days along the axis, always the last one.
		step := max(1, len(days)/8)
		if i%step == 0 || i == len(days)-1 {
			c.Labels = append(c.Labels, chartLabel{X: x, Y: h - bottom + 14, Text: d[5:]})
		}
	}
	c.Labels = append(c.Labels, chartLabel{X: 2, Y: top + 8, Text: fmt.Sprint(c.Max)}, chartLabel{X: 2, Y: h - bottom, Text: "0"})
	return c
}
