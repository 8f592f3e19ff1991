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

// archiveWork is one page to archive, handed from the store stage to the
// archive workers with what they need of its job (the job's page is the
// store stage's, which goes on with it meanwhile).
type archiveWork struct {
	ctx         context.Context
	url, source string
	capture     *crawler.Capture
	res         alerts.FileResult
	done        chan error
}

// archiveWork says whether the page of j, just filed with res, is to be
// archived: a page of a new lead, a new source of a lead, or a source
// already filed whose page was never archived (its first archiving
// failed, or it was filed before the archive existed; archive finds out).
// A source already archived is not archived again on every revisit. Both
// filing and archiving are idempotent, so a page whose archiving failed
// is fetched again, filed as a duplicate and archived.
func (p *Pipeline) archiveWork(j *pageJob, res alerts.FileResult) (archiveWork, bool) {
	c := j.page.Capture
	if p.opts.Evidence == nil || c == nil || res.LeadID == "" {
		return archiveWork{}, false
	}
	switch res.Outcome {
	case alerts.OutcomeCreated, alerts.OutcomeJoined, alerts.OutcomeDuplicate:
	default:
		return archiveWork{}, false
	}
	return archiveWork{ctx: j.ctx, url: j.page.CanonicalURL, source: j.page.Source, capture: c, res: res, done: make(chan error, 1)}, true
}

// archive keeps the page of w (see archiveWork). Each capture is then
// recorded in the lead's audit trail with its payload digest and WARC
// record, only after the archive holds it (on disk and indexed), so the
// trail never names a digest the archive lacks. Recording is idempotent
// too: a page whose recording failed, or whose process died between the
// two writes, comes back as a duplicate, finds its capture archived and
// records what is missing.
func (p *Pipeline) archive(w archiveWork) error {
	res := w.res
	if res.Outcome == alerts.OutcomeDuplicate {
		have, err := p.opts.Evidence.ForURLs(w.ctx, []string{w.url})
		if err != nil {
			return err
		}
		if len(have) > 0 {
			for _, e := range have {
				if e.LeadID == res.LeadID {
					if err := p.recordCapture(w.ctx, e); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	start := time.Now()
	e, wrote, err := p.opts.Evidence.Put(w.ctx, evidencePage(w.url, w.source, res.LeadID, w.capture))
	if err != nil {
		return err
	}
	if wrote {
		p.opts.Logger.Debug("page archived", "url", w.url, "lead_id", res.LeadID,
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
	return p.recordCapture(w.ctx, e)
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
