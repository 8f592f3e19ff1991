package burst

import (
	"math"
	"time"
)

// Baseline is the expected posting rate of one series on one day, learnt
// from the series' posts over the days before it, with a factor per
// weekday. The estimate is shrunk towards the series' overall rate when the
// series is thin (a weekday of a series with five posts a month says
// nothing), and Shape says how much evidence it rests on.
type Baseline struct {
	// PerDay is the mean rate over the baseline days (posts a day).
	PerDay float64
	// Weekday is the rate of each weekday (time.Sunday = 0), posts a day.
	Weekday [7]float64
	// Shape is the evidence behind each weekday rate in posts (its
	// gamma posterior's shape): the predicted count of a window is
	// negative binomial with this shape, wider when it is small.
	Shape [7]float64
	// Days is how many days of history the baseline covers.
	Days float64
	loc  *time.Location
}

// priorPosts is the Jeffreys-like prior: a series with no post yet is
// taken to have half a post over its history, not zero.
const priorPosts = 0.5

// weekdayPriorDays is how many days at the series' overall rate each
// weekday's rate starts from before its own days count. Four weeks give a
// weekday only four days of its own, so its factor is taken at about a
// third of its measured strength: a weekly pattern must be seen every week
// to move the baseline much. (Half a week and five posts' worth were
// tried on the tuning seeds: both found fewer bursts at the same rate of
// false ones.)
const weekdayPriorDays = 7.0

// NewBaseline returns the baseline of the day that holds at: from the
// posts of the p.BaselineDays whole days before that day (in p.Location),
// not counting days before since (when the history starts; zero: no limit).
// posts may be in any order and may hold posts outside those days.
func (p Params) NewBaseline(posts []time.Time, at, since time.Time) Baseline {
	p = p.withDefaults()
	day := startOfDay(at, p.Location)
	from := day.AddDate(0, 0, -p.BaselineDays)
	if !since.IsZero() && since.After(from) {
		// A partial first day counts from its start: the history is
		// the days since the first whole one.
		from = startOfDay(since, p.Location).AddDate(0, 0, 1)
		if !from.Before(day) {
			from = day.AddDate(0, 0, -1)
		}
	}
	var n [7]float64
	var d [7]float64
	total := 0.0
	for t := from; t.Before(day); t = t.AddDate(0, 0, 1) {
		d[t.Weekday()]++
	}
	for _, t := range posts {
		if t.Before(from) || !t.Before(day) {
			continue
		}
		n[t.In(p.Location).Weekday()]++
		total++
	}
	days := 0.0
	for _, x := range d {
		days += x
	}
	b := Baseline{Days: days, loc: p.Location}
	b.PerDay = (total + priorPosts) / days
	for w := range 7 {
		shape := n[w] + weekdayPriorDays*b.PerDay
		b.Weekday[w] = shape / (d[w] + weekdayPriorDays)
		b.Shape[w] = shape
	}
	return b
}

// Expected returns the expected number of posts in [from, to) and the
// smallest shape of the weekdays it covers.
func (b Baseline) Expected(from, to time.Time) (mean, shape float64) {
	if b.loc == nil {
		b.loc = time.UTC
	}
	shape = math.Inf(1)
	for t := from; t.Before(to); {
		next := startOfDay(t, b.loc).AddDate(0, 0, 1)
		if next.After(to) {
			next = to
		}
		w := t.In(b.loc).Weekday()
		mean += b.Weekday[w] * next.Sub(t).Hours() / 24
		shape = min(shape, b.Shape[w])
		t = next
	}
	if math.IsInf(shape, 1) {
		shape = 1
	}
	return mean, shape
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}
