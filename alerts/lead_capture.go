package alerts

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// ActionCaptured is the audit action recording that a page of one of the
// lead's sources was archived as evidence. Its note is a CaptureNote.
const ActionCaptured = "captured"

// CaptureNote is what the audit trail records of an archived capture: the
// SHA-256 payload digest the WARC response record carries, where that
// record is (file and WARC-Record-ID), the page and when it was fetched.
// It is stored as one line of key=value fields (Format) and shown
// translated by the UI (ParseCaptureNote).
type CaptureNote struct {
	PayloadDigest string
	File          string
	RecordID      string
	CapturedAt    time.Time
	URL           string
}

// Format writes the note as stored. The URL comes last, so a URL holding
// spaces would still read back whole.
func (c CaptureNote) Format() string {
	return fmt.Sprintf("payload_digest=%s file=%s record=%s captured_at=%s url=%s",
		c.PayloadDigest, c.File, c.RecordID, c.CapturedAt.UTC().Format(time.RFC3339Nano), c.URL)
}

// ParseCaptureNote reads back a note written by Format; ok is false for
// any other text.
func ParseCaptureNote(note string) (CaptureNote, bool) {
	var c CaptureNote
	rest := note
	for _, key := range []string{"payload_digest=", "file=", "record=", "captured_at="} {
		v, ok := strings.CutPrefix(rest, key)
		if !ok {
			return CaptureNote{}, false
		}
		val, after, ok := strings.Cut(v, " ")
		if !ok || val == "" {
			return CaptureNote{}, false
		}
		switch key {
		case "payload_digest=":
			c.PayloadDigest = val
		case "file=":
			c.File = val
		case "record=":
			c.RecordID = val
		case "captured_at=":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return CaptureNote{}, false
			}
			c.CapturedAt = t
		}
		rest = after
	}
	u, ok := strings.CutPrefix(rest, "url=")
	if !ok || u == "" {
		return CaptureNote{}, false
	}
	c.URL = u
	return c, true
}

// RecordCapture adds a captured entry (actor riskmine) to the lead's audit
// trail unless the trail already records that capture (the same WARC
// record): the pipeline calls it once a capture is on disk and indexed,
// and again when a page comes back after a crash or a failed write, so
// each capture is recorded once. It reports whether it wrote the entry.
func (s *SQLStore) RecordCapture(ctx context.Context, leadID string, c CaptureNote) (bool, error) {
	if err := CheckCapture(leadID, c); err != nil {
		return false, err
	}
	note := c.Format()
	// The record id alone names the capture; matching on it (not the
	// whole note) keeps the check right if the note's wording changes.
	// The expression and the literal action are the index's (migrations).
	const recorded = `SELECT count(*) FROM alerts_audit WHERE lead_id = ? AND action = 'captured' AND ` + CaptureRecordSQLite + ` = ?`
	// Most calls are for pages revisited after their capture was recorded:
	// answered on the read side, without taking the writer.
	var n int
	if err := s.r.QueryRowContext(ctx, recorded, leadID, c.RecordID).Scan(&n); err != nil {
		return false, fmt.Errorf("alerts: capture for lead %s: %w", leadID, err)
	}
	if n > 0 {
		return false, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("alerts: capture for lead %s: %w", leadID, err)
	}
	defer tx.Rollback()
	// The lead must exist; a lead that thousands of posts joined is not
	// loaded (its JSON columns grow with them) to learn that.
	var leads int
	if err := s.queryRow(ctx, tx, `SELECT count(*) FROM alerts_lead WHERE id = ?`, leadID).Scan(&leads); err != nil {
		return false, fmt.Errorf("alerts: capture for lead %s: %w", leadID, err)
	}
	if leads == 0 {
		return false, fmt.Errorf("alerts: lead %s: %w", leadID, ErrNotFound)
	}
	if err := s.queryRow(ctx, tx, recorded, leadID, c.RecordID).Scan(&n); err != nil {
		return false, fmt.Errorf("alerts: capture for lead %s: %w", leadID, err)
	}
	if n > 0 {
		return false, nil
	}
	if err := s.audit(ctx, tx, leadID, s.now(), "riskmine", ActionCaptured, "", "", note); err != nil {
		return false, fmt.Errorf("alerts: capture for lead %s: %w", leadID, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("alerts: capture for lead %s: %w", leadID, err)
	}
	s.prepareWanted(ctx)
	return true, nil
}
