package alerts

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// A Verdict is an analyst's judgement of a lead, as a training example for
// the detection model: the lead's first post, labelled by what the analysts
// decided.
type Verdict struct {
	LeadID string
	// Category is the lead's top category, the one the verdict speaks for
	// when it is positive.
	Category string
	// Positive: the lead was confirmed (and possibly dispatched, handled,
	// verified or closed). A negative is a dismissal whose reason says the
	// post was no hazard; it speaks against every category.
	Positive bool
	State    string
	Reason   string
	// Title and Text are the lead's first post (its text as kept on the
	// lead, up to SourceTextRunes).
	Title, Text string
	At          time.Time
}

// positiveStates are the states a confirmed lead can be in.
var positiveStates = []string{StateConfirmed, StateDispatched, StateHandled, StateVerified, StateClosed}

// notANegative holds the words of dismissal reasons that say nothing about
// the post's content: a duplicate or a lead outside the jurisdiction can
// be a real hazard.
var notANegative = []string{
	"重复", "重複", "duplicate", "dup",
	"辖区外", "轄區外", "非本辖区", "非本轄區", "不属本辖区", "不属于本辖区", "不在本辖区", "外地", "属地不符", "非属地",
	"out of area", "out-of-area", "outside our area", "not our area",
}

// DismissalIsNegative reports whether a dismissal with this reason makes
// its lead a negative example (the post is no hazard): every reason except
// a duplicate or an out-of-area lead.
func DismissalIsNegative(reason string) bool {
	r := strings.ToLower(strings.TrimSpace(reason))
	if r == "" {
		return false
	}
	for _, w := range notANegative {
		if strings.Contains(r, w) {
			return false
		}
	}
	return true
}

// Verdicts lists the reviewed leads as training examples: the confirmed
// leads (positives) and the dismissed ones whose reason counts as a
// negative (see DismissalIsNegative), oldest review first. Merged leads and
// leads still new are left out.
func (s *SQLStore) Verdicts(ctx context.Context) ([]Verdict, error) {
	states := append(append([]string(nil), positiveStates...), StateDismissed)
	args := make([]any, len(states))
	for i, st := range states {
		args[i] = st
	}
	rows, err := s.r.QueryContext(ctx, `SELECT l.id, l.top_category, l.state, l.resolution, l.updated_at, s.title, s.snippet
		FROM alerts_lead l JOIN alerts_source s ON s.id = (SELECT MIN(id) FROM alerts_source WHERE lead_id = l.id)
		WHERE l.state IN (`+placeholders(len(states))+`) ORDER BY l.updated_at, l.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("alerts: verdicts: %w", err)
	}
	defer rows.Close()
	var out []Verdict
	for rows.Next() {
		var v Verdict
		var at int64
		if err := rows.Scan(&v.LeadID, &v.Category, &v.State, &v.Reason, &at, &v.Title, &v.Text); err != nil {
			return nil, fmt.Errorf("alerts: verdicts: %w", err)
		}
		v.At = s.at(at)
		v.Positive = v.State != StateDismissed
		if !v.Positive && !DismissalIsNegative(v.Reason) {
			continue
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: verdicts: %w", err)
	}
	return out, nil
}
