package burst

import (
	"math"
	"testing"
	"time"
)

// day0 is a Monday at midnight UTC.
var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// steady returns perDay posts on every day of days days from day0,
// spread evenly.
func steady(perDay, days int) []time.Time {
	var out []time.Time
	for d := range days {
		for i := range perDay {
			out = append(out, day0.AddDate(0, 0, d).Add(time.Duration(i)*24*time.Hour/time.Duration(perDay)))
		}
	}
	return out
}

func TestBaselineWeekdays(t *testing.T) {
	// Four weeks: 10 posts on weekdays, 3 on Saturdays and Sundays.
	var posts []time.Time
	for d := range 28 {
		day := day0.AddDate(0, 0, d)
		n := 10
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			n = 3
		}
		for i := range n {
			posts = append(posts, day.Add(time.Duration(i)*time.Hour))
		}
	}
	b := Params{}.NewBaseline(posts, day0.AddDate(0, 0, 28).Add(10*time.Hour), time.Time{})
	if b.Days != 28 || math.Abs(b.PerDay-(8*28+.5)/28) > 1e-9 {
		t.Fatalf("days %v, per day %v", b.Days, b.PerDay)
	}
	// Shrunk towards the mean rate 8 by a week of pseudo-days:
	// (4×3 + 7×8)/11 on Saturdays, (4×10 + 7×8)/11 on Mondays.
	if math.Abs(b.Weekday[time.Saturday]-(12+7*b.PerDay)/11) > 1e-9 || math.Abs(b.Weekday[time.Monday]-(40+7*b.PerDay)/11) > 1e-9 {
		t.Errorf("weekday rates %v", b.Weekday)
	}
	if b.Weekday[time.Saturday] > 0.75*b.Weekday[time.Monday] {
		t.Errorf("weekday rates %v: want Saturday well below Monday", b.Weekday)
	}
	// The expected count of the 6 hours before Monday 06:00 is 4 hours
	// of Monday and 2 hours of Sunday.
	mon := day0.AddDate(0, 0, 28)
	mean, _ := b.Expected(mon.Add(-2*time.Hour), mon.Add(4*time.Hour))
	want := b.Weekday[time.Sunday]*2/24 + b.Weekday[time.Monday]*4/24
	if math.Abs(mean-want) > 1e-9 {
		t.Errorf("expected %v, want %v", mean, want)
	}
}

func TestBaselineSinceShortensHistory(t *testing.T) {
	posts := steady(4, 28)
	now := day0.AddDate(0, 0, 28).Add(12 * time.Hour)
	b := Params{}.NewBaseline(posts, now, day0.AddDate(0, 0, 20).Add(5*time.Hour))
	// Days 21 to 27: 7 whole days.
	if b.Days != 7 || math.Abs(b.PerDay-(28+.5)/7) > 1e-9 {
		t.Fatalf("days %v per day %v, want 7 and 4.07", b.Days, b.PerDay)
	}
}

func TestCheck(t *testing.T) {
	posts := steady(4, 28) // 1 post per 6 hours
	now := day0.AddDate(0, 0, 28).Add(12 * time.Hour)
	p := Params{}
	b := p.NewBaseline(posts, now, time.Time{})
	cases := []struct {
		name      string
		seen      int
		lastBurst time.Time
		burst     bool
		new       bool
	}{
		{"usual count", 1, time.Time{}, false, false},
		{"three is not enough at this rate", 3, time.Time{}, false, false},
		{"a spike", 12, time.Time{}, true, true},
		{"a spike right after a burst extends it", 12, now.Add(-time.Hour), true, false},
		{"a spike long after a burst is new", 12, now.Add(-7 * time.Hour), true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Check(b, tc.seen, now, tc.lastBurst)
			if d.Burst != tc.burst || d.New != tc.new {
				t.Fatalf("%+v: want burst %v new %v", d, tc.burst, tc.new)
			}
			if math.Abs(d.Expected-1.0) > 0.05 || d.Threshold <= 3 || d.Tail <= 0 || d.Tail > 1 {
				t.Errorf("%+v: want expected ≈ 1, a threshold above 3 and a tail in (0, 1]", d)
			}
			if !d.From.Equal(now.Add(-6*time.Hour)) || !d.To.Equal(now) {
				t.Errorf("window %v – %v", d.From, d.To)
			}
		})
	}
}

func TestThresholdFollowsSensitivityAndRate(t *testing.T) {
	p := Params{}.withDefaults()
	prev := 0
	for _, mean := range []float64{0.01, 0.25, 1.25, 5, 20} {
		th := p.threshold(mean, 100)
		if th < p.MinPosts || th <= prev || float64(th) <= mean {
			t.Errorf("mean %v: threshold %d after %d", mean, th, prev)
		}
		prev = th
	}
	if p.threshold(0.01, 100) != 3 {
		t.Errorf("a quiet series: threshold %d, want the minimum 3", p.threshold(0.01, 100))
	}
	loose, strict := Params{Sensitivity: 1}.withDefaults(), Params{Sensitivity: 0.0001}.withDefaults()
	if !(loose.threshold(5, 100) < p.threshold(5, 100) && p.threshold(5, 100) < strict.threshold(5, 100)) {
		t.Errorf("thresholds at 1, 0.01, 0.0001 false bursts a month: %d %d %d, want increasing", loose.threshold(5, 100), p.threshold(5, 100), strict.threshold(5, 100))
	}
	// Thin evidence (a small shape) widens the count: a higher threshold.
	if p.threshold(5, 2) <= p.threshold(5, 1000) {
		t.Errorf("shape 2: %d, shape 1000: %d; want the thin baseline stricter", p.threshold(5, 2), p.threshold(5, 1000))
	}
}

func TestNegativeBinomial(t *testing.T) {
	// A large shape is Poisson: P(N >= 3 | 0.5) = 1 - e^-0.5 (1 + 0.5 + 0.125).
	want := 1 - math.Exp(-0.5)*(1+0.5+0.125)
	if got := nbTail(3, 0.5, 1e7); math.Abs(got-want) > 1e-6 {
		t.Errorf("tail %v, want %v", got, want)
	}
	sum := 0.0
	for k := range 200 {
		sum += nbPMF(k, 4, 3)
	}
	if math.Abs(sum-1) > 1e-9 || nbTail(0, 4, 3) != 1 {
		t.Errorf("pmf sums to %v", sum)
	}
}

func TestNewHistoryCannotBurst(t *testing.T) {
	now := day0.Add(20 * time.Hour)
	var posts []time.Time
	for i := range 20 {
		posts = append(posts, now.Add(-time.Duration(i)*time.Minute))
	}
	if d := (Params{}).Scan(posts, now, day0.Add(-3*24*time.Hour), time.Time{}); d.Burst || d.Seen != 20 {
		t.Fatalf("%+v: want no burst on three days of history", d)
	}
}
