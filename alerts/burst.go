package alerts

import "time"

// KindBurst is the Lead.Kind of a burst lead: many posts of one category
// in one county in a short time, far more than the county's usual rate,
// whatever each post's own level.
const KindBurst = "burst"

// BurstInfo explains a burst lead: the series (category × county) and the
// window in which it saw far more posts than its baseline expects.
type BurstInfo struct {
	Category string `json:"category"`
	// CategoryName is the category's display name (its lexicon's name).
	CategoryName string `json:"category_name,omitempty"`
	County       string `json:"county"`
	CountyName   string `json:"county_name,omitempty"`
	// From and To bound the window of the scan that filed (or last
	// strengthened) the burst.
	From time.Time `json:"window_from"`
	To   time.Time `json:"window_to"`
	// Seen is the number of posts in that window, Expected the baseline's
	// mean for it (from the 28 days before, with weekday factors) and
	// Threshold the fewest posts that would have burst.
	Seen      int     `json:"seen"`
	Expected  float64 `json:"expected"`
	Threshold int     `json:"threshold"`
	// Tail is the chance of at least Seen posts under the baseline.
	Tail float64 `json:"tail"`
}

// BurstPost is a scored post counted for burst detection in every
// category and county it names.
type BurstPost struct {
	URL          string
	CanonicalURL string // the dedup key; URL when empty
	Site         string
	Source       string
	Title        string
	Snippet      string
	// At is when the post counts: published, else seen.
	At     time.Time
	SeenAt time.Time
	Level  string
	Score  float64
	// Categories and Counties are the series the post counts in: every
	// category code with every 6-digit county code.
	Categories []string
	Counties   []string
	// CountyNames is parallel to Counties.
	CountyNames []string
}

// BurstSeries is one category × county series with its post count in a
// window.
type BurstSeries struct {
	Category   string
	County     string
	CountyName string
	Posts      int
}

// BurstFiling is a burst a scan found: its series, what the scan saw and
// the level and whether it opens a new lead or extends the series' latest.
type BurstFiling struct {
	Info  BurstInfo
	Level string
	// New opens a new burst lead; otherwise the posts of the window that
	// are not yet on a burst lead join the series' latest burst lead (a
	// new one is opened when it has none).
	New bool
}
