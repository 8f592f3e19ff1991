package alerts

import (
	"context"
	"fmt"
	"time"
)

// The filing and review changes as "load, decide, save, audit, enqueue"
// over LeadTx: written once, whatever the backend.

// placeCandidates is how many recent leads of one category and county
// clustering looks at.
const placeCandidates = 50

// clusterIn finds the lead c joins through tx, or "".
func clusterIn(ctx context.Context, tx LeadTx, c *Candidate, at time.Time, p ClusterParams) (string, error) {
	if c.SimHash != 0 {
		near, err := tx.NearDuplicates(ctx, c.SimHash)
		if err != nil {
			return "", err
		}
		if id := NearestDuplicate(c.SimHash, near, p.SimhashDistance); id != "" {
			return id, nil
		}
	}
	top, counties, ok := PlaceKeys(c)
	if !ok {
		return "", nil
	}
	var same []LeadSketch
	for _, county := range counties {
		ls, err := tx.RecentInPlace(ctx, top, county, at.Add(-p.Window), placeCandidates)
		if err != nil {
			return "", err
		}
		same = append(same, ls...)
	}
	return BestInPlace(c, at, same, p), nil
}

// filing is one post to file, with its canonical URL and times resolved.
type filing struct {
	c             Candidate
	canon         string
	seen, at, now time.Time
}

// fileIn files one post through tx: a duplicate, a join or a new lead. It
// returns the result, how many outbox rows it queued, and the new lead
// when it created one.
func fileIn(ctx context.Context, tx LeadTx, f filing, opts Options) (FileResult, int, *Lead, error) {
	c := &f.c
	if id, ok, err := tx.SourceLead(ctx, f.canon); err != nil || ok {
		return FileResult{LeadID: id, Outcome: OutcomeDuplicate}, 0, nil, err
	}
	id, err := clusterIn(ctx, tx, c, f.at, opts.clusterParams())
	if err != nil {
		return FileResult{}, 0, nil, err
	}
	var l Lead
	var res FileResult
	var created *Lead
	event := EventLeadUpdated
	if id == "" {
		lid := newID(f.now)
		if opts.NewLeadID != nil {
			lid = opts.NewLeadID()
		}
		l = NewLead(lid, c, f.at, f.now, opts.SLA)
		if err := tx.Insert(ctx, &l); err != nil {
			return FileResult{}, 0, nil, err
		}
		if err := tx.AppendAudit(ctx, AuditEntry{LeadID: l.ID, At: f.now, Actor: "riskmine", Action: "created", To: StateNew, Note: f.canon}); err != nil {
			return FileResult{}, 0, nil, err
		}
		res = FileResult{LeadID: l.ID, Outcome: OutcomeCreated}
		event = EventLeadCreated
		created = &l
	} else {
		have, err := tx.Load(ctx, id)
		if err != nil {
			return FileResult{}, 0, nil, err
		}
		l = Join(*have, c, f.at, f.now, opts.SLA)
		if err := tx.SaveFiling(ctx, &l); err != nil {
			return FileResult{}, 0, nil, err
		}
		if err := tx.AppendAudit(ctx, AuditEntry{LeadID: l.ID, At: f.now, Actor: "riskmine", Action: "joined", Note: f.canon}); err != nil {
			return FileResult{}, 0, nil, err
		}
		res = FileResult{LeadID: l.ID, Outcome: OutcomeJoined}
	}
	if err := tx.AddSource(ctx, l.ID, c, f.canon, f.seen, created != nil); err != nil {
		return FileResult{}, 0, nil, err
	}
	var first []Source
	if created != nil {
		// The new lead's only source is this post: no need to read it back.
		first = []Source{sourceOf(c, f.canon, f.seen)}
	}
	n, err := tx.Enqueue(ctx, event, &l, first)
	if err != nil {
		return FileResult{}, 0, nil, err
	}
	return res, n, created, nil
}

// sourceOf is the source entry a candidate becomes.
func sourceOf(c *Candidate, canon string, seen time.Time) Source {
	src := Source{URL: c.URL, CanonicalURL: canon, Site: c.Site, Source: c.Source, Title: c.Title,
		Snippet: truncateRunes(c.Snippet, SourceTextRunes), SeenAt: seen.UTC(), Level: c.Level, Score: c.Score,
		Category: topCategory(c.Categories), Evidence: c.Evidence, LevelCues: keptCues(c.LevelCues)}
	if !c.PublishedAt.IsZero() {
		p := c.PublishedAt.UTC()
		src.PublishedAt = &p
	}
	if src.Evidence == nil {
		src.Evidence = []Evidence{}
	}
	return src
}

// keptCues is the level cues a source keeps: never nil, at most
// MaxLevelCues.
func keptCues(cs []LevelCue) []LevelCue {
	if cs == nil {
		return []LevelCue{}
	}
	return cs[:min(len(cs), MaxLevelCues)]
}

// transitionIn moves a lead through tx (see Transit and Merge) and returns
// the lead as it became and how many outbox rows it queued.
func transitionIn(ctx context.Context, tx LeadTx, id string, req TransitionRequest, now time.Time, sla map[string]time.Duration) (*Lead, int, error) {
	l, err := tx.Load(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	next, audit, err := Transit(*l, req, now, sla)
	if err != nil {
		return nil, 0, err
	}
	queued := 0
	if req.To == StateMerged {
		t, err := tx.Load(ctx, req.MergeInto)
		if err != nil {
			return nil, 0, err
		}
		merged, entry, err := Merge(*l, *t, req.Actor, now, sla)
		if err != nil {
			return nil, 0, err
		}
		if err := tx.MoveSources(ctx, l.ID, t.ID); err != nil {
			return nil, 0, fmt.Errorf("alerts: merge lead %s into %s: %w", l.ID, t.ID, err)
		}
		if err := tx.SaveFiling(ctx, &merged); err != nil {
			return nil, 0, fmt.Errorf("alerts: merge lead %s into %s: %w", l.ID, t.ID, err)
		}
		if err := tx.AppendAudit(ctx, entry); err != nil {
			return nil, 0, err
		}
		n, err := tx.Enqueue(ctx, EventLeadUpdated, &merged, nil)
		if err != nil {
			return nil, 0, err
		}
		queued += n
	}
	if err := tx.SaveReview(ctx, &next, l.Version); err != nil {
		return nil, 0, fmt.Errorf("alerts: transition lead %s: %w", id, err)
	}
	if err := tx.AppendAudit(ctx, audit...); err != nil {
		return nil, 0, fmt.Errorf("alerts: transition lead %s: %w", id, err)
	}
	n, err := tx.Enqueue(ctx, EventLeadStateChanged, &next, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: transition lead %s: queue webhooks: %w", id, err)
	}
	return &next, queued + n, nil
}

// assignIn assigns a lead through tx (see Reassign).
func assignIn(ctx context.Context, tx LeadTx, id string, req AssignRequest, now time.Time) (*Lead, int, error) {
	l, err := tx.Load(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	next, entry, err := Reassign(*l, req, now)
	if err != nil {
		return nil, 0, err
	}
	if err := tx.SaveReview(ctx, &next, l.Version); err != nil {
		return nil, 0, fmt.Errorf("alerts: assign lead %s: %w", id, err)
	}
	if err := tx.AppendAudit(ctx, entry); err != nil {
		return nil, 0, fmt.Errorf("alerts: assign lead %s: %w", id, err)
	}
	n, err := tx.Enqueue(ctx, EventLeadUpdated, &next, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: assign lead %s: queue webhooks: %w", id, err)
	}
	return &next, n, nil
}
