package alerts

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCaptureNoteRoundTrip(t *testing.T) {
	c := CaptureNote{PayloadDigest: "sha256:0f3a", File: "riskmine-20260105-1-ab.warc.gz",
		RecordID: "<urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427>", CapturedAt: time.Date(2026, 1, 5, 3, 4, 5, 600, time.UTC),
		URL: "http://forum.test/t/1?a=1&b=a b"}
	got, ok := ParseCaptureNote(c.Format())
	if !ok || got != c {
		t.Fatalf("round trip: %v %+v", ok, got)
	}
	for _, bad := range []string{"", "已电话核实", "payload_digest=sha256:1 file=f record=r url=u",
		"payload_digest=sha256:1 file=f record=r captured_at=yesterday url=u",
		"payload_digest=sha256:1 file=f record=r captured_at=2026-01-05T03:04:05Z url="} {
		if _, ok := ParseCaptureNote(bad); ok {
			t.Errorf("%q parsed as a capture note", bad)
		}
	}
}

// TestRecordCapture: one entry per capture (by its record id), by
// riskmine, whatever the number of calls; a second capture gets its own;
// an incomplete note and an unknown lead are refused.
func TestRecordCapture(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t, Options{})
	res := mustFile(t, s, post("http://a.test/1", "gas_leak", "350102", 1, "燃气", "泄漏"))
	c := CaptureNote{PayloadDigest: "sha256:aa", File: "f.warc.gz", RecordID: "<urn:uuid:1>", CapturedAt: time.Now(), URL: "http://a.test/1"}
	for i, want := range []bool{true, false, false} {
		wrote, err := s.RecordCapture(ctx, res.LeadID, c)
		if err != nil || wrote != want {
			t.Fatalf("call %d: wrote %v, %v", i, wrote, err)
		}
	}
	c2 := c
	c2.RecordID, c2.PayloadDigest = "<urn:uuid:2>", "sha256:bb"
	if wrote, err := s.RecordCapture(ctx, res.LeadID, c2); !wrote || err != nil {
		t.Fatalf("second capture: %v %v", wrote, err)
	}
	trail, err := s.Audit(ctx, res.LeadID)
	if err != nil {
		t.Fatal(err)
	}
	var notes []CaptureNote
	for _, a := range trail {
		if a.Action == ActionCaptured {
			n, ok := ParseCaptureNote(a.Note)
			if !ok || a.Actor != "riskmine" {
				t.Fatalf("entry %+v", a)
			}
			notes = append(notes, n)
		}
	}
	if len(notes) != 2 || notes[0].RecordID != c.RecordID || notes[1].PayloadDigest != c2.PayloadDigest {
		t.Fatalf("captured entries %+v", notes)
	}
	bad := c
	bad.PayloadDigest = ""
	if _, err := s.RecordCapture(ctx, res.LeadID, bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("incomplete note: %v", err)
	}
	if _, err := s.RecordCapture(ctx, "NOPE", c); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown lead: %v", err)
	}
}

// TestRecordCaptureUsesItsIndex: the check whether a capture is recorded
// is answered by the alerts_audit_capture index, not by reading every
// entry of the lead (a lead thousands of posts joined has thousands).
func TestRecordCaptureUsesItsIndex(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	plan := queryPlan(t, s, `SELECT count(*) FROM alerts_audit WHERE lead_id = ? AND action = 'captured' AND `+CaptureRecordSQLite+` = ?`, "L", "<urn:uuid:1>")
	if len(plan) != 1 || !strings.Contains(plan[0], "INDEX alerts_audit_capture (lead_id=? AND <expr>=?)") {
		t.Fatalf("plan %q, want a probe of alerts_audit_capture on both columns", plan)
	}
}

// BenchmarkRecordCaptureBigLead records captures of posts joining one
// lead that already has b.N of them, as a crawl of one noisy board does.
func BenchmarkRecordCaptureBigLead(b *testing.B) {
	ctx := context.Background()
	s, _ := openTestStore(b, Options{})
	res := mustFile(b, s, post("http://a.test/1", "gas_leak", "350102", 1, "燃气", "泄漏"))
	c := CaptureNote{PayloadDigest: "sha256:aa", File: "f.warc.gz", CapturedAt: time.Now(), URL: "http://a.test/1"}
	for i := 0; b.Loop(); i++ {
		c.RecordID = fmt.Sprintf("<urn:uuid:%d>", i)
		if wrote, err := s.RecordCapture(ctx, res.LeadID, c); err != nil || !wrote {
			b.Fatal(wrote, err)
		}
	}
}

// TestLatestSourcesReadInOrder: a lead's latest sources (a webhook's
// payload, read at every filing) come from an index in order, not from a
// sort of every source of a lead that thousands of posts joined.
func TestLatestSourcesReadInOrder(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	plan := queryPlan(t, s, `SELECT id FROM alerts_source WHERE lead_id = ? ORDER BY seen_at DESC, id DESC LIMIT 5`, "L")
	if len(plan) != 1 || !strings.Contains(plan[0], "INDEX alerts_source_lead_seen (lead_id=?)") {
		t.Fatalf("plan %q, want one ordered read of alerts_source_lead_seen", plan)
	}
}

// queryPlan is SQLite's plan of q, one line a step.
func queryPlan(t *testing.T, s *SQLStore, q string, args ...any) []string {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
