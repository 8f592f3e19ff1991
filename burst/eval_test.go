package burst

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

// The synthetic evaluation: Poisson streams at 0.2, 1, 5 and 20 posts a
// day with weekday factors, scanned every 15 minutes as serve does, with
// bursts injected (recall) or not (false bursts). The seeds were frozen
// before tuning: the defaults were tuned on the "tune" seeds and the
// assertions run on the "assert" seeds; -burst.seeds=tune shows the
// figures the tuning saw.
var evalSeeds = flag.String("burst.seeds", "assert", "seed set of the synthetic evaluation: assert or tune")

// raceEnabled is set under the race detector (race_test.go).
var raceEnabled = false

var seedSets = map[string]uint64{"tune": 0x7475_6e65, "assert": 0x6173_7365}

var evalRates = []float64{0.2, 1, 5, 20}

const (
	evalInterval = 15 * time.Minute
	warmupDays   = 28
	monthDays    = 30
)

// evalStart is a Monday at local midnight.
var evalStart = time.Date(2025, 1, 6, 0, 0, 0, 0, evalZone)

var evalZone = time.FixedZone("UTC+8", 8*3600)

// series is one synthetic stream.
type series struct {
	posts  []time.Time // sorted
	bursts []injected
}

type injected struct {
	posts []time.Time // sorted
}

// weekdayFactors draws a weekly profile with mean 1: weekend posting
// lower or higher by up to 40%, weekdays jittered by up to 10%.
func weekdayFactors(r *rand.Rand) [7]float64 {
	var f [7]float64
	weekend := 1 + 0.8*(r.Float64()-0.5)
	sum := 0.0
	for w := range 7 {
		f[w] = 1 + 0.2*(r.Float64()-0.5)
		if w == 0 || w == 6 {
			f[w] = weekend
		}
		sum += f[w]
	}
	for w := range f {
		f[w] *= 7 / sum
	}
	return f
}

func poisson(r *rand.Rand, mean float64) int {
	if mean > 30 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// flatStream draws a stream of days days at rate posts a day.
func flatStream(r *rand.Rand, rate float64, days int) []time.Time {
	f := weekdayFactors(r)
	var out []time.Time
	for d := range days {
		day := evalStart.AddDate(0, 0, d)
		n := poisson(r, rate*f[day.Weekday()])
		for range n {
			out = append(out, day.Add(time.Duration(r.Float64()*float64(24*time.Hour))))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// burstSize is the size of an injected burst at a rate: at least 3 posts
// and at least the expected count of the window plus 3σ... see burstRule.
type burstRule struct {
	name string
	// size returns the number of posts of a burst for a window mean.
	size func(windowMean float64) int
	// spread is how long the burst's posts are spread over.
	spread time.Duration
}

// issueMinimum is the issue's definition at its smallest: at least 3
// posts in 6 hours and at least 3σ above the 6-hour expectation.
var issueMinimum = burstRule{"issue minimum: max(3, ⌈3√μ⌉) posts in 6h", func(m float64) int {
	return max(3, int(math.Ceil(3*math.Sqrt(m))))
}, 6 * time.Hour}

// detectable is the burst the assertions use: 3 posts more than 3σ of
// the day's count (⌈3√λ⌉ + 3: 5, 6, 10 and 17 posts at 0.2, 1, 5 and 20
// a day), spread over 6 hours.
var detectable = burstRule{"detectable: ⌈3√λ⌉+3 posts in 6h", func(m float64) int {
	return 3 + int(math.Ceil(3*math.Sqrt(m*4)))
}, 6 * time.Hour}

// burstStream is a flat stream with one burst in each month after the
// warm-up, starting at a random time between day 2 and day 26 of it.
func burstStream(r *rand.Rand, rate float64, months int, rule burstRule) series {
	days := warmupDays + months*monthDays
	s := series{posts: flatStream(r, rate, days)}
	for m := range months {
		onset := evalStart.AddDate(0, 0, warmupDays+m*monthDays+2).Add(time.Duration(r.Float64() * float64(24*24*time.Hour)))
		k := rule.size(rate * 6.0 / 24)
		b := injected{posts: []time.Time{onset}}
		for range k - 1 {
			b.posts = append(b.posts, onset.Add(time.Duration(r.Float64()*float64(rule.spread))))
		}
		sort.Slice(b.posts, func(i, j int) bool { return b.posts[i].Before(b.posts[j]) })
		s.bursts = append(s.bursts, b)
		s.posts = append(s.posts, b.posts...)
	}
	sort.Slice(s.posts, func(i, j int) bool { return s.posts[i].Before(s.posts[j]) })
	return s
}

// event is a burst the scans opened.
type event struct{ at time.Time }

// scanResult is what scanning one series found: the bursts opened and
// every scan time at which the series was bursting.
type scanResult struct {
	opened   []time.Time
	bursting []time.Time
}

// scanSeries scans a series every evalInterval from the end of the
// warm-up to end, keeping the last-burst time as the store does (the
// newest post attached to a burst).
func scanSeries(p Params, posts []time.Time, end time.Time) scanResult {
	p = p.withDefaults()
	var res scanResult
	var lastBurst time.Time
	var base Baseline
	baseDay := time.Time{}
	lo, hi := 0, 0
	for now := evalStart.AddDate(0, 0, warmupDays); now.Before(end); now = now.Add(evalInterval) {
		for hi < len(posts) && !posts[hi].After(now) {
			hi++
		}
		from := now.Add(-p.Window)
		for lo < hi && !posts[lo].After(from) {
			lo++
		}
		seen := hi - lo
		if seen < p.MinPosts {
			continue
		}
		if day := startOfDay(now, p.Location); !day.Equal(baseDay) {
			baseDay = day
			first := sort.Search(len(posts), func(i int) bool { return !posts[i].Before(day.AddDate(0, 0, -p.BaselineDays)) })
			last := sort.Search(len(posts), func(i int) bool { return !posts[i].Before(day) })
			base = p.NewBaseline(posts[first:last], now, evalStart)
		}
		d := p.Check(base, seen, now, lastBurst)
		if !d.Burst {
			continue
		}
		res.bursting = append(res.bursting, now)
		if d.New {
			res.opened = append(res.opened, now)
		}
		lastBurst = posts[hi-1]
	}
	return res
}

// figures are the evaluation's results at one rate.
type figures struct {
	rate                  float64
	seriesMonths          int
	falseBursts           int
	bursts, found, found3 int
	foundLast             int
}

func (f figures) falsePer100() float64 { return 100 * float64(f.falseBursts) / float64(f.seriesMonths) }

// evaluate runs the flat streams and the streams with bursts of each rule
// at every rate: figures[i][j] is rule i at rate j (the false bursts are
// the flat streams', the same for every rule).
func evaluate(p Params, seed uint64, seriesPerRate, months int, rules ...burstRule) [][]figures {
	p = p.withDefaults()
	p.Location = evalZone
	out := make([][]figures, len(rules))
	end := evalStart.AddDate(0, 0, warmupDays+months*monthDays)
	for ri, rate := range evalRates {
		flat := figures{rate: rate}
		flatR := rand.New(rand.NewPCG(seed, uint64(ri)))
		for range seriesPerRate {
			res := scanSeries(p, flatStream(flatR, rate, warmupDays+months*monthDays), end)
			flat.falseBursts += len(res.opened)
			flat.seriesMonths += months
		}
		for i, rule := range rules {
			f := flat
			burstR := rand.New(rand.NewPCG(seed, uint64(100*(i+1)+ri)))
			for range seriesPerRate {
				s := burstStream(burstR, rate, months, rule)
				res := scanSeries(p, s.posts, end)
				for _, b := range s.bursts {
					f.bursts++
					third := b.posts[min(2, len(b.posts)-1)]
					lastPost := b.posts[len(b.posts)-1]
					// The first scan at or after the burst's first post
					// at which the series bursts.
					i := sort.Search(len(res.bursting), func(i int) bool { return !res.bursting[i].Before(b.posts[0]) })
					if i == len(res.bursting) || res.bursting[i].After(lastPost.Add(p.Window)) {
						continue
					}
					f.found++
					at := res.bursting[i]
					if !at.After(third.Add(evalInterval)) {
						f.found3++
					}
					if !at.After(lastPost.Add(evalInterval)) {
						f.foundLast++
					}
				}
			}
			out[i] = append(out[i], f)
		}
	}
	return out
}

func table(fs []figures) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6s %13s %12s %8s %10s %14s %16s\n", "λ/day", "series-months", "false/100sm", "bursts", "found", "≤15m of 3rd", "≤15m of last")
	for _, f := range fs {
		fmt.Fprintf(&b, "%6.1f %13d %12.2f %8d %9.1f%% %13.1f%% %15.1f%%\n", f.rate, f.seriesMonths, f.falsePer100(), f.bursts,
			100*float64(f.found)/float64(f.bursts), 100*float64(f.found3)/float64(f.bursts), 100*float64(f.foundLast)/float64(f.bursts))
	}
	return b.String()
}

// TestSyntheticEvaluation asserts the issue's targets at the default
// parameters on the assert seeds: at most 1 false burst per 100
// series-months on flat streams, and at least 90% of the detectable bursts
// found within one scan interval of their last post, at every rate. The
// issue's smallest bursts are measured and logged: no detector can find
// most of them at that false-burst rate (see docs/DETECTION.md).
func TestSyntheticEvaluation(t *testing.T) {
	seed, ok := seedSets[*evalSeeds]
	if !ok {
		t.Fatalf("-burst.seeds=%q, expected assert or tune", *evalSeeds)
	}
	series, months := 100, 12
	if testing.Short() || raceEnabled {
		series, months = 25, 12
	}
	fs := evaluate(Params{}, seed, series, months, detectable, issueMinimum)
	t.Logf("seeds %s, default params (window 6h, sensitivity %g, min posts 3), %d series × %d months per rate, scans every %v",
		*evalSeeds, DefaultSensitivity, series, months, evalInterval)
	t.Logf("%s:\n%s", detectable.name, table(fs[0]))
	t.Logf("%s:\n%s", issueMinimum.name, table(fs[1]))
	falseBursts, seriesMonths := 0, 0
	for _, f := range fs[0] {
		falseBursts += f.falseBursts
		seriesMonths += f.seriesMonths
		if f.falsePer100() > 1 {
			t.Errorf("λ = %g a day: %.2f false bursts per 100 series-months, want at most 1", f.rate, f.falsePer100())
		}
		if r := float64(f.foundLast) / float64(f.bursts); r < 0.9 {
			t.Errorf("λ = %g a day: %.1f%% of %d bursts found within %v of their last post, want at least 90%%", f.rate, 100*r, f.bursts, evalInterval)
		}
	}
	t.Logf("all rates: %d false bursts in %d series-months (%.2f per 100)", falseBursts, seriesMonths, 100*float64(falseBursts)/float64(seriesMonths))
}
