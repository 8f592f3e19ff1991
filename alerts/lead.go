package alerts

import (
	"slices"
	"time"
)

// CategoryScore is a hazard category code with its score.
type CategoryScore struct {
	Code  string  `json:"code"`
	Score float64 `json:"score"`
}

// Evidence is one lexicon hit that made a post risky. Rule is the lexicon
// rule id ("<code>/<name>" or a term) and feeds the per-rule precision.
type Evidence struct {
	Rule     string  `json:"rule"`
	Category string  `json:"category"`
	Field    string  `json:"field"`
	Text     string  `json:"text"`
	Start    int     `json:"start"`
	End      int     `json:"end"`
	Weight   float64 `json:"weight"`
}

// LevelCue is a phrase that set a post's level: a cue of the severity
// rubric (casualties, trapped, spreading, resolved…) or, with kind
// "learned", a phrase the model's learned levels read when they raised the
// level. Start and End are rune offsets into the field, like evidence.
type LevelCue struct {
	Kind string `json:"kind"`
	// Level is the level the cue supports (critical, high, medium, low),
	// "" for a modifier (many_people, children, elderly, resolved) and for
	// a cue the post negates (kind "negated").
	Level string `json:"level"`
	Field string `json:"field"`
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// MaxLevelCues bounds the cues kept with one post (a long report can name
// casualties in every paragraph).
const MaxLevelCues = 32

// Candidate is one scored post offered for filing.
type Candidate struct {
	URL          string
	CanonicalURL string // the dedup key; URL when empty
	Site         string
	Source       string
	Title        string
	Snippet      string
	PublishedAt  time.Time
	SeenAt       time.Time
	Level        string
	Score        float64
	// Categories best first (the highest score is taken as the top category
	// whatever the order).
	Categories    []CategoryScore
	LocationCodes []string
	LocationNames []string // parallel to LocationCodes
	// Place is the post's most precise place below its divisions: the
	// spot a unit drives to (五四路与湖东路交叉口东侧25米, 国道324线274KM+600M);
	// PlaceCode is the code of the smallest division named with it. Both
	// are "" when the post names no road or place.
	Place     string
	PlaceCode string
	SimHash   uint64
	// Terms are the post's salient terms; two posts of one category and
	// county join only when they share some.
	Terms    []string
	Evidence []Evidence
	// LevelCues are the phrases that set Level (see LevelCue); at most
	// MaxLevelCues are kept.
	LevelCues []LevelCue
}

// Location is an administrative division a lead mentions.
type Location struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Source is one post filed into a lead.
type Source struct {
	ID           int64      `json:"id"`
	URL          string     `json:"url"`
	CanonicalURL string     `json:"canonical_url"`
	Site         string     `json:"site"`
	Source       string     `json:"source"`
	Title        string     `json:"title"`
	Snippet      string     `json:"snippet"`
	PublishedAt  *time.Time `json:"published_at,omitempty"`
	SeenAt       time.Time  `json:"seen_at"`
	Level        string     `json:"level"`
	Score        float64    `json:"score"`
	Category     string     `json:"category"`
	Evidence     []Evidence `json:"evidence"`
	// LevelCues say why the post has its level (empty for posts filed
	// before cues were kept and for burst posts).
	LevelCues []LevelCue `json:"level_cues"`
}

// Note is an analyst's remark on a lead.
type Note struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Text  string    `json:"text"`
}

// Lead is one incident, however many posts report it.
type Lead struct {
	ID string `json:"id"`
	// Kind is "" for a lead filed from posts and KindBurst for a burst of
	// posts in one category and county (see Burst).
	Kind        string          `json:"kind,omitempty"`
	Burst       *BurstInfo      `json:"burst,omitempty"`
	Title       string          `json:"title"`
	Summary     string          `json:"summary"`
	Level       string          `json:"level"`
	Score       float64         `json:"score"`
	Categories  []CategoryScore `json:"categories"`
	Locations   []Location      `json:"locations"`
	Place       string          `json:"place"`      // the most precise place of its posts (see Candidate.Place)
	PlaceCode   string          `json:"place_code"` // the code of the division named with it
	Terms       []string        `json:"terms"`
	SimHash     uint64          `json:"simhash,string"`
	FirstSeen   time.Time       `json:"first_seen"`
	LastSeen    time.Time       `json:"last_seen"`
	SourceCount int             `json:"source_count"`
	// Sources is filled by GetLead (all) and in webhook payloads (the latest few).
	Sources    []Source   `json:"sources,omitempty"`
	State      string     `json:"state"`
	Assignee   string     `json:"assignee,omitempty"`
	Unit       string     `json:"unit,omitempty"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	Overdue    bool       `json:"overdue"`
	Resolution string     `json:"resolution,omitempty"`
	MergedInto string     `json:"merged_into,omitempty"`
	// CaseNumber is the case platform's own number for the lead, set when
	// the platform reports back through the inbound API.
	CaseNumber string `json:"case_number,omitempty"`
	// Notes is filled by GetLead.
	Notes     []Note     `json:"notes,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	// Version counts review changes (transitions, assignment). New sources
	// do not bump it, so a busy lead can still be reviewed.
	Version int `json:"version"`
}

// LevelReasons returns the distinct cues (by kind and text) that support
// the lead's level in its listed posts of that level, newest post first,
// at most n: why the lead has its level, for messages and exports.
func (l *Lead) LevelReasons(n int) []LevelCue {
	var out []LevelCue
	for _, src := range l.Sources {
		if src.Level != l.Level {
			continue
		}
		for _, q := range src.LevelCues {
			if q.Level != l.Level || slices.ContainsFunc(out, func(o LevelCue) bool { return o.Kind == q.Kind && o.Text == q.Text }) {
				continue
			}
			if out = append(out, q); len(out) == n {
				return out
			}
		}
	}
	return out
}

// TopCategory returns the lead's highest-scoring category code, or "".
func (l *Lead) TopCategory() string { return topCategory(l.Categories) }

func topCategory(cs []CategoryScore) string {
	best, code := -1.0, ""
	for _, c := range cs {
		if c.Score > best {
			best, code = c.Score, c.Code
		}
	}
	return code
}

// FileResult tells what filing a candidate did.
type FileResult struct {
	LeadID string `json:"lead_id,omitempty"`
	// Outcome is created, joined, duplicate or below_threshold.
	Outcome string `json:"outcome"`
}

// Filing outcomes.
const (
	OutcomeCreated        = "created"
	OutcomeJoined         = "joined"
	OutcomeDuplicate      = "duplicate"
	OutcomeBelowThreshold = "below_threshold"
)

// AuditEntry is one recorded change of a lead.
type AuditEntry struct {
	ID     int64     `json:"id"`
	LeadID string    `json:"lead_id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	// Action is created, joined, transition, assign, note, merged_from or
	// captured (ActionCaptured; its Note is a CaptureNote).
	Action string `json:"action"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	// Note is the text as the actor typed it (for created and joined, the
	// post's address; for merged_from, the lead merged in).
	Note string `json:"note,omitempty"`
	// Reason, Unit and MergeInto are a transition's dismissal or closing
	// reason, the unit a lead was dispatched to and the lead it was merged
	// into, as given; displays translate the labels, never these values.
	Reason    string `json:"reason,omitempty"`
	Unit      string `json:"unit,omitempty"`
	MergeInto string `json:"merge_into,omitempty"`
}

// LeadFilter selects leads for ListLeads. Empty fields do not filter.
type LeadFilter struct {
	States     []string
	Levels     []string
	Categories []string
	// LocationPrefix keeps leads with a location code starting with it.
	LocationPrefix string
	Assignee       string
	Overdue        bool
	// Query matches title and summary (substring).
	Query string
	// Sort is last_seen (default, newest first), first_seen, level, score,
	// due or sources.
	Sort   string
	Limit  int // default 50, at most 1000
	Offset int
}

// Stats is the dashboard summary.
type Stats struct {
	ByState      map[string]int `json:"by_state"`
	ByLevel      map[string]int `json:"by_level"` // open leads only
	Open         int            `json:"open"`
	Overdue      int            `json:"overdue"`
	Closed       int            `json:"closed"`
	ClosedOnTime int            `json:"closed_on_time"`
	// OnTimeRate is closed-before-due over closed; 0 when nothing closed.
	OnTimeRate   float64         `json:"on_time_rate"`
	TopLocations []LocationCount `json:"top_locations"`
	// MentionsPerDay counts filed posts per day (in the store's zone) and top category over
	// the last 30 days.
	MentionsPerDay []DayCount `json:"mentions_per_day"`
}

// LocationCount is a location with its number of open leads.
type LocationCount struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Leads int    `json:"leads"`
}

// DayCount is the number of posts filed on a day in a category.
type DayCount struct {
	Day      string `json:"day"` // 2006-01-02
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// RuleStat is the review feedback for one lexicon rule.
type RuleStat struct {
	Rule      string `json:"rule"`
	Leads     int    `json:"leads"`     // leads it contributed evidence to
	Confirmed int    `json:"confirmed"` // of those, confirmed or later
	Dismissed int    `json:"dismissed"`
	// Precision is confirmed / (confirmed + dismissed); -1 when neither.
	Precision float64 `json:"precision"`
}
