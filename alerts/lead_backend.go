package alerts

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// What a Store in another package (alerts/pgstore) needs to run the shared
// flow over its own LeadTx: the prepared options, the filing checks, the
// flows themselves and the outbox rows an event makes. The SQLite store
// uses the unexported forms directly.

// Prepared returns o with its defaults filled in, or an error naming the
// field that is wrong (the lead level, an endpoint's secret).
func (o Options) Prepared() (Options, error) {
	o = o.withDefaults()
	if LevelRank(o.LeadLevel) < 1 {
		return o, fmt.Errorf("alerts: lead level %q, expected low, medium, high or critical: %w", o.LeadLevel, ErrInvalid)
	}
	for _, e := range o.Endpoints {
		if _, err := e.signingKey(); err != nil {
			return o, fmt.Errorf("alerts: webhook %s: %w", e.Name, err)
		}
	}
	return o, nil
}

// Filing is one candidate checked and ready to file (see PrepareFiling).
type Filing struct{ f filing }

// CanonicalURL is the URL that makes filing idempotent.
func (f Filing) CanonicalURL() string { return f.f.canon }

// PrepareFiling checks c as File does: a candidate without a URL or with
// an unknown level is ErrInvalid; one below opts' lead level gives ok
// false (nothing to file). opts must be Prepared.
func PrepareFiling(c Candidate, opts Options) (f Filing, ok bool, err error) {
	canon := c.CanonicalURL
	if canon == "" {
		canon = c.URL
	}
	if canon == "" {
		return Filing{}, false, fmt.Errorf("alerts: file: candidate has no url: %w", ErrInvalid)
	}
	if LevelRank(c.Level) < 0 {
		return Filing{}, false, fmt.Errorf("alerts: file %s: unknown level %q: %w", canon, c.Level, ErrInvalid)
	}
	if LevelRank(c.Level) < LevelRank(opts.LeadLevel) {
		return Filing{}, false, nil
	}
	now := opts.Now()
	seen := c.SeenAt
	if seen.IsZero() {
		seen = now
	}
	at := c.PublishedAt
	if at.IsZero() {
		at = seen
	}
	return Filing{filing{c: c, canon: canon, seen: seen, at: at, now: now}}, true, nil
}

// FileIn files f through tx (duplicate, join or new lead) and returns the
// result and how many outbox rows it queued.
func FileIn(ctx context.Context, tx LeadTx, f Filing, opts Options) (FileResult, int, error) {
	res, n, _, err := fileIn(ctx, tx, f.f, opts)
	return res, n, err
}

// TransitionIn moves a lead through tx at opts' clock (Transit, Merge).
func TransitionIn(ctx context.Context, tx LeadTx, id string, req TransitionRequest, opts Options) (*Lead, int, error) {
	return transitionIn(ctx, tx, id, req, opts.Now(), opts.SLA)
}

// AssignIn assigns a lead through tx at opts' clock (Reassign).
func AssignIn(ctx context.Context, tx LeadTx, id string, req AssignRequest, opts Options) (*Lead, int, error) {
	return assignIn(ctx, tx, id, req, opts.Now())
}

// SourceOf is the source entry a candidate filed under canon becomes.
func SourceOf(c *Candidate, canon string, seen time.Time) Source { return sourceOf(c, canon, seen) }

// OpenStates are the states of a lead still being worked on.
func OpenStates() []string { return append([]string(nil), openStates...) }

// PositiveStates are the states of a lead confirmed as real.
func PositiveStates() []string { return append([]string(nil), positiveStates...) }

// LeadCounty is the county (6-digit code) a lead is clustered under.
func LeadCounty(l *Lead) string { return leadCounty(l) }

// NoteText returns an analyst's note as stored (trimmed), ErrInvalid when
// empty, and the actor as audited.
func NoteText(id, actor, text string) (string, string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", "", fmt.Errorf("alerts: note on lead %s is empty: %w", id, ErrInvalid)
	}
	return actorOr(actor), text, nil
}

// CheckCapture refuses an incomplete or malformed capture with ErrInvalid.
func CheckCapture(leadID string, c CaptureNote) error {
	if c.PayloadDigest == "" || c.RecordID == "" || c.File == "" || c.URL == "" || strings.ContainsAny(c.PayloadDigest+c.File+c.RecordID, " \n") {
		return fmt.Errorf("alerts: capture for lead %s: incomplete or malformed (%+v): %w", leadID, c, ErrInvalid)
	}
	return nil
}

// CaptureRecordSQLite and CaptureRecordPostgres are the SQL expressions
// that read the WARC record id back out of a captured entry's note (the
// text between " record=" and the next space). Each backend indexes its
// expression over the captured entries of a lead, so that asking whether
// a capture is recorded costs one index probe, not a scan of every entry
// of a lead that thousands of posts joined; the query must use the
// expression exactly as the index does.
const (
	CaptureRecordSQLite   = `substr(note, instr(note, ' record=') + 8, instr(substr(note, instr(note, ' record=') + 8), ' ') - 1)`
	CaptureRecordPostgres = `split_part(split_part(note, ' record=', 2), ' ', 1)`
)

// OutboxRow is one outbox row an event makes for one endpoint.
type OutboxRow struct {
	ID, Endpoint, Event string
	Body                []byte
}

// WantsEvent reports whether any of opts' endpoints wants event for l
// (else no row is written and no sources need reading).
func WantsEvent(opts Options, event string, l *Lead) bool {
	for _, e := range opts.Endpoints {
		if e.wants(event, l) {
			return true
		}
	}
	return false
}

// OutboxRows renders event for l, whose payload carries srcs, into one row
// per endpoint that wants it, at now.
func OutboxRows(opts Options, event string, l *Lead, srcs []Source, now time.Time) ([]OutboxRow, error) {
	pl := *l
	pl.Sources = srcs
	pl.Notes = nil
	var out []OutboxRow
	for _, e := range opts.Endpoints {
		if !e.wants(event, l) {
			continue
		}
		body, err := renderBody(e.Format, event, &pl, now)
		if err != nil {
			return nil, err
		}
		out = append(out, OutboxRow{ID: "msg_" + newID(now), Endpoint: e.Name, Event: event, Body: body})
	}
	return out, nil
}

// PayloadSources is how many of the latest sources a webhook body carries.
const PayloadSources = payloadSources

// SimhashBands splits h into distance+1 chunks: two hashes within distance
// bits share at least one (pigeonhole), so an index on (band, value) finds
// every near-duplicate without a scan.
func SimhashBands(h uint64, distance int) []int64 {
	s := SQLStore{bands: distance + 1}
	return s.bandValues(h)
}
