package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// InboundClaimTTL is how long a claimed inbound request may stay without
// an answer before another delivery of the same webhook id may take it
// over (the process that claimed it is then taken to have died).
const InboundClaimTTL = 2 * time.Minute

// Inbound requests are rows of alerts_inbound keyed by platform and
// webhook id; status 0 marks one claimed and still being acted on.

// InboundAnswer returns the answer already given to the inbound request
// webhookID from platform, so a replay gets it again without acting twice.
// A request still being acted on has no answer yet.
func (s *SQLStore) InboundAnswer(ctx context.Context, platform, webhookID string) (status int, answer []byte, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT status, answer FROM alerts_inbound WHERE platform = ? AND webhook_id = ? AND status != 0`,
		platform, webhookID).Scan(&status, &answer)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("alerts: inbound %s/%s: %w", platform, webhookID, err)
	}
	return status, answer, true, nil
}

// ClaimInbound reserves the inbound request webhookID from platform for
// the caller, who then acts on it and records the answer (RecordInbound)
// or gives the claim back (ReleaseInbound). When the request was answered
// before, it returns that answer instead (seen); when another delivery of
// the same id holds a claim younger than InboundClaimTTL, it returns
// neither, and the caller should ask the platform to retry. Two
// deliveries of one id thus never both act, even from two processes.
func (s *SQLStore) ClaimInbound(ctx context.Context, platform, webhookID string) (claimed bool, status int, answer []byte, seen bool, err error) {
	now := ms(s.now())
	res, err := s.w.ExecContext(ctx, `INSERT OR IGNORE INTO alerts_inbound (platform, webhook_id, status, answer, at) VALUES (?, ?, 0, x'', ?)`,
		platform, webhookID, now)
	if err != nil {
		return false, 0, nil, false, fmt.Errorf("alerts: claim inbound %s/%s: %w", platform, webhookID, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, 0, nil, false, nil
	}
	var at int64
	err = s.w.QueryRowContext(ctx, `SELECT status, answer, at FROM alerts_inbound WHERE platform = ? AND webhook_id = ?`,
		platform, webhookID).Scan(&status, &answer, &at)
	if err != nil {
		return false, 0, nil, false, fmt.Errorf("alerts: claim inbound %s/%s: %w", platform, webhookID, err)
	}
	if status != 0 {
		return false, status, answer, true, nil
	}
	if now-at < InboundClaimTTL.Milliseconds() {
		return false, 0, nil, false, nil
	}
	// A stale claim: take it over, unless another delivery just did.
	res, err = s.w.ExecContext(ctx, `UPDATE alerts_inbound SET at = ? WHERE platform = ? AND webhook_id = ? AND status = 0 AND at = ?`,
		now, platform, webhookID, at)
	if err != nil {
		return false, 0, nil, false, fmt.Errorf("alerts: claim inbound %s/%s: %w", platform, webhookID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, 0, nil, false, nil
}

// RecordInbound stores the answer to the inbound request webhookID from
// platform. A request answered already keeps its first answer.
func (s *SQLStore) RecordInbound(ctx context.Context, platform, webhookID string, status int, answer []byte) error {
	if status == 0 {
		return fmt.Errorf("alerts: record inbound %s/%s: status 0 is not an answer", platform, webhookID)
	}
	if answer == nil {
		answer = []byte{}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO alerts_inbound (platform, webhook_id, status, answer, at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (platform, webhook_id) DO UPDATE SET status = excluded.status, answer = excluded.answer, at = excluded.at
		WHERE alerts_inbound.status = 0`,
		platform, webhookID, status, answer, ms(s.now()))
	if err != nil {
		return fmt.Errorf("alerts: record inbound %s/%s: %w", platform, webhookID, err)
	}
	return nil
}

// ReleaseInbound gives back an unanswered claim, so that the platform's
// next delivery of the same id acts (after a failure of the store).
func (s *SQLStore) ReleaseInbound(ctx context.Context, platform, webhookID string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM alerts_inbound WHERE platform = ? AND webhook_id = ? AND status = 0`, platform, webhookID)
	if err != nil {
		return fmt.Errorf("alerts: release inbound %s/%s: %w", platform, webhookID, err)
	}
	return nil
}
