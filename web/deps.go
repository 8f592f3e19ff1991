package web

import (
	"context"
	"time"

	"riskmine/alerts"
	"riskmine/crawler"
	"riskmine/index"
	"riskmine/nlp"
)

// Deps are the other components the pages use, each through a small
// interface defined here. A nil field turns its pages into a "not
// available" notice and its API routes into 503 answers.
type Deps struct {
	// Leads is the lead store (an alerts.ServiceStore: *alerts.SQLStore
	// or alerts/pgstore's *Store, which have every optional interface
	// below).
	Leads LeadService
	// Outbox is the webhook outbox of the same store.
	Outbox OutboxService
	// Dispatcher replays deliveries and sends tests (*alerts.Dispatcher).
	Dispatcher WebhookSender
	// Endpoints are the configured webhook receivers, shown without secrets.
	Endpoints []alerts.Endpoint
	// Search is the full-text index (*index.Index).
	Search Searcher
	// Sources is the crawl scheduler (*crawler.Scheduler).
	Sources SourceService
	// SourceEditor puts the sources added in the UI live (*crawler.Scheduler);
	// nil keeps them stored but not scheduled.
	SourceEditor SourceEditor
	// Analyzer scores the lexicon page's try-a-sentence box (*nlp.Analyzer).
	// When it also has a method Lexicons() []*nlp.Lexicon the page lists
	// every term and rule; otherwise it lists the rules that have fired.
	Analyzer Analyzer
	// Lexicons lets administrators edit the lexicons (/lexicons/edit/{code});
	// nil turns editing off.
	Lexicons *LexiconFiles
	// LeadEvents tells the open UI of new leads (GET /api/v1/events). When
	// nil and Leads has SubscribeLeads (an alerts.ServiceStore does), Leads
	// is used.
	LeadEvents LeadSubscriber
	// Platforms are the case platforms that report back through
	// POST /api/v1/inbound/{name}: name → whsec_ secret (alerts.platforms).
	Platforms map[string]string
	// Inbound claims and remembers inbound webhook ids. When nil and
	// Leads has the InboundStore methods (an alerts.ServiceStore does),
	// Leads is used.
	Inbound InboundStore
	// Evidence is the evidence archive (*evidence.Archive): the lead page
	// shows the archived copies of its sources and offers the bundle.
	Evidence EvidenceStore
}

// InboundStore claims each inbound webhook id per platform for one
// delivery and keeps the answer it got (see alerts.SQLStore.ClaimInbound).
type InboundStore interface {
	ClaimInbound(ctx context.Context, platform, webhookID string) (claimed bool, status int, answer []byte, seen bool, err error)
	RecordInbound(ctx context.Context, platform, webhookID string, status int, answer []byte) error
	ReleaseInbound(ctx context.Context, platform, webhookID string) error
}

// An alerts.ServiceStore, as Leads, has every optional interface web looks
// for on it.
var (
	_ LeadService    = alerts.ServiceStore(nil)
	_ OutboxService  = alerts.ServiceStore(nil)
	_ InboundStore   = alerts.ServiceStore(nil)
	_ PlaceService   = alerts.ServiceStore(nil)
	_ LeadSubscriber = alerts.ServiceStore(nil)
)

// LeadService is what the dashboard, the leads queue, the lead page and
// the lexicon precision figures need from the lead store.
type LeadService interface {
	GetLead(ctx context.Context, id string) (*alerts.Lead, error)
	GetLeadWindow(ctx context.Context, id string, w alerts.SourceWindow) (*alerts.Lead, int, error)
	ListLeads(ctx context.Context, f alerts.LeadFilter) ([]alerts.Lead, int, error)
	SimilarLeads(ctx context.Context, id string, limit int) ([]alerts.Lead, error)
	Transition(ctx context.Context, id string, req alerts.TransitionRequest) (*alerts.Lead, error)
	Assign(ctx context.Context, id string, req alerts.AssignRequest) (*alerts.Lead, error)
	AddNote(ctx context.Context, id, actor, text string) (*alerts.Lead, error)
	Audit(ctx context.Context, id string) ([]alerts.AuditEntry, error)
	Stats(ctx context.Context) (*alerts.Stats, error)
	RuleStats(ctx context.Context) ([]alerts.RuleStat, error)
}

// OutboxService is what the webhooks page reads from the outbox.
type OutboxService interface {
	Deliveries(ctx context.Context, f alerts.DeliveryFilter) ([]alerts.Delivery, int, error)
	Attempts(ctx context.Context, deliveryID string) ([]alerts.Attempt, error)
	DisabledEndpoints(ctx context.Context) (map[string]string, error)
	EnableEndpoint(ctx context.Context, name string) error
}

// WebhookSender replays a delivery (waking the dispatcher) and sends a
// signed test event to an endpoint.
type WebhookSender interface {
	Replay(ctx context.Context, deliveryID string) error
	SendTest(ctx context.Context, name string) (*alerts.TestResult, error)
}

// Searcher is the full-text search of the index.
type Searcher interface {
	Search(ctx context.Context, q index.Query) (*index.Result, error)
}

// SourceService is what the sources page needs from the crawl scheduler.
type SourceService interface {
	Sources() []crawler.Source
	Trigger(name string) error
	Progress(name string) (crawler.Stats, bool)
	NextRun(name string) (time.Time, bool)
	LastRun(ctx context.Context, source string) (crawler.Run, bool, error)
	Runs(ctx context.Context, source string, limit int) ([]crawler.Run, error)
}

// Analyzer scores a sentence for the lexicon page.
type Analyzer interface {
	Analyze(in nlp.Input) *nlp.Assessment
	Categories() []string
}

// modelHolder is implemented by an analyzer that reads a detection model;
// the lexicon page shows the model's version, training date and figures.
type modelHolder interface {
	Model() *nlp.Model
}

// ModelReloader reads the configured detection model file again and puts
// it live; on an error the running model stays. The lexicon page offers it
// to administrators beside SIGHUP.
type ModelReloader interface {
	ReloadModel() (version string, err error)
}

// lexiconLister is implemented by an analyzer that can list its lexicons.
type lexiconLister interface {
	Lexicons() []*nlp.Lexicon
}
