package pipeline

// The evidence side of the pipeline: the page of each post that files a
// lead is archived before the page is acknowledged, and each capture is
// recorded in its lead's audit trail.

import (
	"context"
	"fmt"
	"time"

	"riskmine/alerts"
	"riskmine/crawler"
	"riskmine/evidence"
)

// archive keeps the page of a post that filed a lead: a new lead, a new
// source of a lead, or a source already filed whose page was never
// archived (its first archiving failed, or it was filed before the archive
// existed). A source already archived is not archived again on every
// revisit. Both filing and archiving are idempotent, so a page whose
// archiving failed is fetched again, filed as a duplicate and archived.
//
// Each capture is then recorded in the lead's audit trail with its
// payload digest and WARC record, only after the archive holds it (on
// disk and indexed), so the trail never names a digest the archive lacks.
// Recording is idempotent too: a page whose recording failed, or whose
// process died between the two writes, comes back as a duplicate, finds
// its capture archived and records what is missing.
func (p *Pipeline) archive(j *pageJob, res alerts.FileResult) error {
	c := j.page.Capture
	if p.opts.Evidence == nil || c == nil || res.LeadID == "" {
		return nil
	}
	switch res.Outcome {
	case alerts.OutcomeCreated, alerts.OutcomeJoined:
	case alerts.OutcomeDuplicate:
		have, err := p.opts.Evidence.ForURLs(j.ctx, []string{j.page.CanonicalURL})
		if err != nil {
			return err
		}
		if len(have) > 0 {
			for _, e := range have {
				if e.LeadID == res.LeadID {
					if err := p.recordCapture(j.ctx, e); err != nil {
						return err
					}
				}
			}
			return nil
		}
	default:
		return nil
	}
	start := time.Now()
	e, wrote, err := p.opts.Evidence.Put(j.ctx, evidencePage(j.page.CanonicalURL, j.page.Source, res.LeadID, c))
	if err != nil {
		return err
	}
	if wrote {
		p.opts.Logger.Debug("page archived", "url", j.page.CanonicalURL, "lead_id", res.LeadID,
			"file", e.File, "offset", e.Offset, "payload_digest", e.PayloadDigest)
	}
	if m := p.opts.Metrics; m != nil {
		m.ObserveStage("archive", time.Since(start))
	}
	if e.LeadID != res.LeadID {
		// The same page and body were archived earlier for another lead
		// (merged or gone since): its trail has the entry already.
		return nil
	}
	return p.recordCapture(j.ctx, e)
}

// evidencePage converts the crawler's capture to the archive's input: the
// body as received (still content-coded), with the headers that say so.
func evidencePage(url, source, leadID string, c *crawler.Capture) evidence.Page {
	body := c.RawBody
	if body == nil {
		body = c.Body
	}
	return evidence.Page{LeadID: leadID, URL: url, Source: source, Capture: evidence.Capture{
		Method: c.Method, RequestURL: c.RequestURL, RequestHeader: c.RequestHeader,
		Status: c.Status, ResponseHeader: c.ResponseHeader, Body: body, Proto: c.Proto,
		RemoteAddr: c.RemoteAddr, FetchedAt: c.FetchedAt, Robots: c.Robots,
		RenderedDOM: c.RenderedDOM, Screenshot: c.Screenshot,
	}}
}

// recordCapture writes a capture's entry in its lead's audit trail unless
// it is there.
func (p *Pipeline) recordCapture(ctx context.Context, e evidence.Entry) error {
	if _, err := p.opts.Leads.RecordCapture(ctx, e.LeadID, captureNote(e)); err != nil {
		return fmt.Errorf("audit capture %d: %w", e.ID, err)
	}
	return nil
}

// captureNote is what the audit trail records of a capture.
func captureNote(e evidence.Entry) alerts.CaptureNote {
	return alerts.CaptureNote{PayloadDigest: e.PayloadDigest, File: e.File, RecordID: e.ResponseID,
		CapturedAt: e.CapturedAt, URL: e.URL}
}
