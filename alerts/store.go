package alerts

import (
	"context"
	"log/slog"
	"time"
)

// Store keeps leads, their audit trail and the webhook outbox. SQLStore is
// the SQLite implementation; a PostgreSQL one would be a new file.
type Store interface {
	// File files a candidate post: new lead, joined lead or duplicate.
	File(ctx context.Context, c Candidate) (FileResult, error)
	GetLead(ctx context.Context, id string) (*Lead, error)
	// GetLeadWindow is GetLead with only the window w of the lead's
	// posts, in GetLead's order, and how many posts the lead has in all:
	// a lead joined by thousands of posts is shown a page at a time
	// without reading them all.
	GetLeadWindow(ctx context.Context, id string, w SourceWindow) (*Lead, int, error)
	ListLeads(ctx context.Context, f LeadFilter) ([]Lead, int, error)
	SimilarLeads(ctx context.Context, id string, limit int) ([]Lead, error)
	Transition(ctx context.Context, id string, req TransitionRequest) (*Lead, error)
	Assign(ctx context.Context, id string, req AssignRequest) (*Lead, error)
	AddNote(ctx context.Context, id, actor, text string) (*Lead, error)
	Audit(ctx context.Context, id string) ([]AuditEntry, error)
	// RecordCapture records an archived capture of a source's page in the
	// lead's audit trail, once per capture.
	RecordCapture(ctx context.Context, leadID string, c CaptureNote) (bool, error)
	Stats(ctx context.Context) (*Stats, error)
	RuleStats(ctx context.Context) ([]RuleStat, error)

	// ClaimDeliveries leases due pending deliveries for delivery.
	ClaimDeliveries(ctx context.Context, req ClaimRequest) ([]Delivery, error)
	// RecordAttempts stores attempt outcomes and reschedules or finishes
	// their deliveries, in one transaction.
	RecordAttempts(ctx context.Context, recs []AttemptRecord) error
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, int, error)
	Delivery(ctx context.Context, id string) (*Delivery, error)
	Attempts(ctx context.Context, deliveryID string) ([]Attempt, error)
	// Replay puts a dead (or delivered) delivery back in the queue, due now.
	Replay(ctx context.Context, deliveryID string) error
	DisabledEndpoints(ctx context.Context) (map[string]string, error)
	EnableEndpoint(ctx context.Context, name string) error
	// OutboxSignal is signalled after outbox rows are committed, so a
	// dispatcher in the same process need not wait for its next poll.
	OutboxSignal() <-chan struct{}
	Close() error
}

// SourceWindow picks Limit posts of a lead from the Offset-th on, in
// the order GetLead gives them (a burst's counted posts first, then the
// posts filed into it; each newest first). Limit 0 means all from Offset.
type SourceWindow struct{ Offset, Limit int }

// Split shares the window between two lists shown one after the other,
// the first holding n posts: the part of each to read, and whether to
// read it at all.
func (w SourceWindow) Split(n int) (first SourceWindow, readFirst bool, rest SourceWindow, readRest bool) {
	w.Offset, w.Limit = max(w.Offset, 0), max(w.Limit, 0)
	if w.Offset >= n {
		return SourceWindow{}, false, SourceWindow{Offset: w.Offset - n, Limit: w.Limit}, true
	}
	if w.Limit == 0 {
		return w, true, SourceWindow{}, true
	}
	taken := min(w.Limit, n-w.Offset)
	rest = SourceWindow{Limit: w.Limit - taken}
	return w, true, rest, rest.Limit > 0
}

// ReadSourceWindow reads the window w of a lead's posts for a backend's
// GetLeadWindow: a burst lead's counted posts (burst true), then the posts
// filed into it. count tells how many posts a list holds, read reads a
// window of one. A window of all posts reads both lists whole and counts
// nothing. It returns the posts and the lead's total.
func ReadSourceWindow(w SourceWindow, burst bool, count func(burst bool) (int, error),
	read func(burst bool, w SourceWindow) ([]Source, error)) ([]Source, int, error) {
	all := w.Offset <= 0 && w.Limit <= 0
	first, readFirst, rest, readRest := SourceWindow{}, burst, SourceWindow{}, true
	nBurst, nOwn := 0, 0
	if !all {
		var err error
		if burst {
			if nBurst, err = count(true); err != nil {
				return nil, 0, err
			}
		}
		if nOwn, err = count(false); err != nil {
			return nil, 0, err
		}
		first, readFirst, rest, readRest = w.Split(nBurst)
	}
	var out []Source
	if readFirst {
		b, err := read(true, first)
		if err != nil {
			return nil, 0, err
		}
		out = b
	}
	if readRest {
		own, err := read(false, rest)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, own...)
	}
	if all {
		return out, len(out), nil
	}
	return out, nBurst + nOwn, nil
}

// Options tune filing and SLA. Zero fields take the defaults shown.
type Options struct {
	// Location is the zone times are returned in and the dashboard's days
	// are counted in (default UTC).
	Location *time.Location
	// LeadLevel is the minimum level filed (default medium).
	LeadLevel string
	// ClusterWindow: posts of one category and county this close in time
	// may join (default 48h).
	ClusterWindow time.Duration
	// SimhashDistance is the largest Hamming distance of near-duplicates
	// (default 3; negative means exact simhash only).
	SimhashDistance int
	// MinSharedTerms is how many salient terms two posts of one category
	// and county must share (default 2, or fewer when a side has fewer).
	MinSharedTerms int
	// SLA is the due time by level (default critical 2h, high 24h,
	// medium 72h, low 7d).
	SLA map[string]time.Duration
	// Endpoints are the webhooks outbox rows are written for.
	Endpoints []Endpoint
	// Now is the clock (default time.Now).
	Now func() time.Time
	// NewLeadID, when set, names new leads instead of a ULID of the time
	// (tests whose outcome follows lead ids, such as the verdicts held out
	// by a hash of the id).
	NewLeadID func() string
	// Logger (default discards).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.LeadLevel == "" {
		o.LeadLevel = "medium"
	}
	if o.ClusterWindow <= 0 {
		o.ClusterWindow = 48 * time.Hour
	}
	if o.SimhashDistance == 0 {
		o.SimhashDistance = 3
	}
	if o.SimhashDistance < 0 {
		o.SimhashDistance = 0
	}
	if o.SimhashDistance > 31 {
		o.SimhashDistance = 31
	}
	if o.MinSharedTerms <= 0 {
		o.MinSharedTerms = 2
	}
	if o.SLA == nil {
		o.SLA = map[string]time.Duration{
			"critical": 2 * time.Hour,
			"high":     24 * time.Hour,
			"medium":   72 * time.Hour,
			"low":      7 * 24 * time.Hour,
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// Delivery is one outbox row: one event for one endpoint. Its ID is the
// webhook-id, stable across retries and replays.
type Delivery struct {
	ID            string     `json:"id"`
	Endpoint      string     `json:"endpoint"`
	Event         string     `json:"event"`
	LeadID        string     `json:"lead_id"`
	Body          []byte     `json:"-"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// Attempt is one logged delivery attempt.
type Attempt struct {
	DeliveryID string        `json:"delivery_id"`
	N          int           `json:"n"`
	At         time.Time     `json:"at"`
	Status     int           `json:"status"` // HTTP status; 0 for a network error
	Latency    time.Duration `json:"latency_ns"`
	Error      string        `json:"error,omitempty"`
	Outcome    string        `json:"outcome"` // delivered, retry or dead
}

// ClaimRequest asks for due deliveries.
type ClaimRequest struct {
	Now   time.Time
	Limit int
	// Lease is how long claimed rows stay invisible to other claimers; a
	// crash mid-delivery makes them due again when it runs out.
	Lease time.Duration
	// ID, when set, claims only that delivery.
	ID string
	// Endpoint, when set, claims only that endpoint's deliveries.
	Endpoint string
	// ExceptEndpoints, when set, claims only deliveries for other endpoints.
	ExceptEndpoints []string
}

// AttemptRecord is the result of one attempt, written by RecordAttempts.
type AttemptRecord struct {
	Attempt
	// NextAttemptAt is when to retry (Outcome retry).
	NextAttemptAt time.Time
	// DisableEndpoint marks the endpoint disabled (HTTP 410) and kills its
	// other pending deliveries.
	DisableEndpoint string
}

// DeliveryFilter selects deliveries. Empty fields do not filter.
type DeliveryFilter struct {
	State    string
	Endpoint string
	LeadID   string
	Limit    int // default 50
	Offset   int
}
