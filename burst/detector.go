package burst

import (
	"math"
	"time"
)

// Params tune the detector. Zero fields take the defaults shown.
type Params struct {
	// Window is the sliding window posts are counted in (default 6h).
	Window time.Duration
	// BaselineDays is how many days before the scan's day the baseline
	// learns from (default 28).
	BaselineDays int
	// MinPosts is the fewest posts in the window that can burst (default 3).
	MinPosts int
	// Sensitivity is how many false bursts a steady series may raise a
	// month (30 days): the threshold is the smallest count that a series
	// posting at its baseline's rate would reach at most that often.
	// Higher finds smaller bursts and raises more false ones (default
	// 0.01: one per 100 series-months).
	Sensitivity float64
	// Cooldown is how long after the last post of a burst the series
	// cannot open another: a burst still under way in that time extends
	// the one it had (default: Window).
	Cooldown time.Duration
	// Location is where days and weekdays are counted (default UTC).
	Location *time.Location
}

// DefaultSensitivity is Params.Sensitivity when none is set.
const DefaultSensitivity = 0.01

func (p Params) withDefaults() Params {
	if p.Window <= 0 {
		p.Window = 6 * time.Hour
	}
	if p.BaselineDays <= 0 {
		p.BaselineDays = 28
	}
	if p.MinPosts <= 0 {
		p.MinPosts = 3
	}
	if p.Sensitivity <= 0 {
		p.Sensitivity = DefaultSensitivity
	}
	if p.Cooldown <= 0 {
		p.Cooldown = p.Window
	}
	if p.Location == nil {
		p.Location = time.UTC
	}
	return p
}

// MinHistoryDays is how many days of history a series needs before it can
// burst: with less, every first posts of a new installation would look
// like a burst.
const MinHistoryDays = 7

// Decision is what a scan finds for one series.
type Decision struct {
	// Burst is true when the window holds at least Threshold posts and
	// the series has MinHistoryDays of history.
	Burst bool
	// New is true when the burst opens a new burst lead; false while it
	// extends one that ended less than Cooldown ago.
	New bool
	// From and To bound the window (From excluded, To included).
	From, To time.Time
	// Seen is the number of posts in the window.
	Seen int
	// Expected is the baseline's mean count for the window.
	Expected float64
	// Threshold is the fewest posts that burst this window.
	Threshold int
	// Tail is the chance of seeing at least Seen posts in a window with
	// this baseline (negative binomial; 1 when Seen is 0).
	Tail float64
}

// Check decides whether a series bursts at now, given its baseline for
// now's day, the number of posts in the window (now-Window, now] and the
// time of the last post of its latest burst (zero when it had none).
func (p Params) Check(b Baseline, seen int, now, lastBurst time.Time) Decision {
	p = p.withDefaults()
	from := now.Add(-p.Window)
	mean, shape := b.Expected(from, now)
	d := Decision{From: from, To: now, Seen: seen, Expected: mean}
	d.Threshold = p.threshold(mean, shape)
	d.Tail = nbTail(seen, mean, shape)
	d.Burst = seen >= d.Threshold && b.Days >= MinHistoryDays
	d.New = d.Burst && (lastBurst.IsZero() || now.Sub(lastBurst) > p.Cooldown)
	return d
}

// Scan is Check from the series' post times: posts may be in any order and
// should cover the baseline days before now's day and the window; since is
// when the series' history starts (zero: no limit).
func (p Params) Scan(posts []time.Time, now, since, lastBurst time.Time) Decision {
	p = p.withDefaults()
	from := now.Add(-p.Window)
	seen := 0
	for _, t := range posts {
		if t.After(from) && !t.After(now) {
			seen++
		}
	}
	return p.Check(p.NewBaseline(posts, now, since), seen, now, lastBurst)
}

// monthHours is the length of the month Sensitivity counts in.
const monthHours = 30 * 24

// maxThreshold bounds the search for a threshold: no series needs more.
const maxThreshold = 100000

// threshold returns the fewest posts in a window whose expected number of
// false bursts a month is at most the sensitivity. A steady series enters
// a burst of n posts when a post arrives while the window already holds
// n-1: at rate mean/Window times P(N = n-1), N being the window's count
// (the clumping heuristic of scan statistics). N is negative binomial: the
// Poisson count of a rate that is itself only estimated from the baseline.
func (p Params) threshold(mean, shape float64) int {
	perWindow := float64(monthHours) / p.Window.Hours()
	k := max(p.MinPosts-1, int(math.Ceil(mean)))
	pmf := nbPMF(k, mean, shape)
	for ; k < maxThreshold; k++ {
		if perWindow*mean*pmf <= p.Sensitivity {
			break
		}
		pmf = nbNext(pmf, k, mean, shape)
	}
	return k + 1
}

// nbPMF is the negative binomial probability of k with the given mean and
// shape (variance mean + mean²/shape).
func nbPMF(k int, mean, shape float64) float64 {
	if mean <= 0 {
		if k == 0 {
			return 1
		}
		return 0
	}
	lk, _ := math.Lgamma(float64(k) + shape)
	ls, _ := math.Lgamma(shape)
	lf, _ := math.Lgamma(float64(k) + 1)
	return math.Exp(lk - ls - lf + shape*math.Log(shape/(shape+mean)) + float64(k)*math.Log(mean/(shape+mean)))
}

// nbNext turns P(N = k) into P(N = k+1).
func nbNext(pmf float64, k int, mean, shape float64) float64 {
	return pmf * (float64(k) + shape) / float64(k+1) * mean / (shape + mean)
}

// nbTail is P(N >= k), summed upwards from k.
func nbTail(k int, mean, shape float64) float64 {
	if k <= 0 {
		return 1
	}
	pmf := nbPMF(k, mean, shape)
	sum := 0.0
	for i := k; i < k+maxThreshold && pmf > 0; i++ {
		sum += pmf
		if float64(i) > mean && pmf < sum*1e-12 {
			break
		}
		pmf = nbNext(pmf, i, mean, shape)
	}
	return math.Min(1, sum)
}
