package config

import "time"

// Burst configures burst detection: a scan that files a lead of kind burst
// when one category is posted about in one county far more than its
// baseline (the 28 days before, with weekday factors) expects.
type Burst struct {
	// Enabled counts posts per category and county and runs the scan.
	Enabled bool `yaml:"enabled"`
	// Interval is how often the scan runs (default 15m).
	Interval Duration `yaml:"interval"`
	// Window is the sliding window posts are counted in (default 6h).
	Window Duration `yaml:"window"`
	// Sensitivity is the accepted rate of false bursts per category ×
	// county series per month on a steady stream (default 0.01: one per
	// 100 series-months). Higher finds smaller bursts and raises more
	// false ones.
	Sensitivity float64 `yaml:"sensitivity"`
	// MinPosts is the fewest posts in the window that can burst (default 3).
	MinPosts int `yaml:"min_posts"`
	// MinLevel is the level a post's category needs to count (default low).
	MinLevel string `yaml:"min_level"`
	// Level is the level of a burst lead (default medium).
	Level string `yaml:"level"`
}

func defaultBurst() Burst {
	return Burst{
		Interval:    Duration(15 * time.Minute),
		Window:      Duration(6 * time.Hour),
		Sensitivity: 0.01,
		MinPosts:    3,
		MinLevel:    "low",
		Level:       "medium",
	}
}

func (c *Config) validateBurst() error {
	b := c.Alerts.Burst
	if b.Interval.D() < time.Minute {
		return c.errAt("alerts.burst.interval", "must be a duration of at least 1m such as 15m, got %v", b.Interval.D())
	}
	if b.Window.D() < 10*time.Minute || b.Window.D() > 7*24*time.Hour {
		return c.errAt("alerts.burst.window", "must be a duration from 10m to 168h such as 6h, got %v", b.Window.D())
	}
	if b.Interval.D() > b.Window.D() {
		return c.errAt("alerts.burst.interval", "%v is longer than alerts.burst.window %v: posts would slip between scans", b.Interval.D(), b.Window.D())
	}
	if !(b.Sensitivity > 0 && b.Sensitivity <= 30) {
		return c.errAt("alerts.burst.sensitivity", "must be a rate of false bursts per series-month above 0 and at most 30 such as 0.01, got %g", b.Sensitivity)
	}
	if b.MinPosts < 2 {
		return c.errAt("alerts.burst.min_posts", "must be at least 2, got %d", b.MinPosts)
	}
	if !validLevel(b.MinLevel) || b.MinLevel == "none" {
		return c.errAt("alerts.burst.min_level", "got %q, expected low, medium, high or critical", b.MinLevel)
	}
	if !validLevel(b.Level) || b.Level == "none" {
		return c.errAt("alerts.burst.level", "got %q, expected low, medium, high or critical", b.Level)
	}
	return nil
}
