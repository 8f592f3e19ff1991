package alerts

import (
	"context"
	"time"
)

// LeadTx is what filing and review need from storage, in storage words,
// inside one transaction: the decisions (lead_decide.go) run between its
// loads and saves, and lead_flow.go writes that glue once for every
// backend. SQLite implements it on its writer transaction (sqlite_lead_tx.go);
// a PostgreSQL backend would implement it on a transaction that locks the
// leads it loads (SELECT … FOR UPDATE).
type LeadTx interface {
	// SourceLead returns the lead a canonical URL was filed into.
	SourceLead(ctx context.Context, canonicalURL string) (leadID string, ok bool, err error)
	// NearDuplicates returns open leads with a post whose simhash may be
	// within the store's simhash distance of h (a superset: clustering
	// measures the distance); how it finds them (SQLite: bands of the hash)
	// is the backend's.
	NearDuplicates(ctx context.Context, h uint64) ([]LeadSketch, error)
	// RecentInPlace returns up to limit open leads of one top category and
	// county last seen at or after since, most recently seen first.
	RecentInPlace(ctx context.Context, category, county string, since time.Time, limit int) ([]LeadSketch, error)

	// Load returns a lead without its sources and notes (ErrNotFound).
	Load(ctx context.Context, id string) (*Lead, error)
	// Insert stores a new lead.
	Insert(ctx context.Context, l *Lead) error
	// SaveFiling writes what filing and merging change (level, score,
	// categories, places, terms, span, source count, due time); the
	// version is left alone.
	SaveFiling(ctx context.Context, l *Lead) error
	// SaveReview writes what review changes (state, assignee, unit,
	// resolution, merge target, closing and due time, case number, source
	// count) and the version l carries, when the stored version is still
	// loaded; ErrConflict otherwise.
	SaveReview(ctx context.Context, l *Lead, loaded int) error
	// AddSource files a post's source on a lead with what finds it again
	// (its simhash) and the lead's facets (categories, places, rules).
	AddSource(ctx context.Context, leadID string, c *Candidate, canonicalURL string, seen time.Time, newLead bool) error
	// MoveSources moves a lead's sources, hashes and facets to another.
	MoveSources(ctx context.Context, fromID, toID string) error
	// AppendAudit records audit entries in order.
	AppendAudit(ctx context.Context, e ...AuditEntry) error
	// Enqueue writes the outbox rows of event for l, one per endpoint that
	// wants it; first, when given, are the payload's sources (else the
	// latest are read). It returns how many rows it wrote.
	Enqueue(ctx context.Context, event string, l *Lead, first []Source) (int, error)
}
