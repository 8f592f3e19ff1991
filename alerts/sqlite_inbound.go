package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// InboundAnswer returns the answer already given to the inbound request
// webhookID from platform, so a replay gets it again without acting twice.
func (s *SQLStore) InboundAnswer(ctx context.Context, platform, webhookID string) (status int, answer []byte, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT status, answer FROM alerts_inbound WHERE platform = ? AND webhook_id = ?`,
		platform, webhookID).Scan(&status, &answer)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("alerts: inbound %s/%s: %w", platform, webhookID, err)
	}
	return status, answer, true, nil
}

// RecordInbound stores the answer to the inbound request webhookID from
// platform. A second record of the same id keeps the first answer.
func (s *SQLStore) RecordInbound(ctx context.Context, platform, webhookID string, status int, answer []byte) error {
	_, err := s.w.ExecContext(ctx, `INSERT OR IGNORE INTO alerts_inbound (platform, webhook_id, status, answer, at) VALUES (?, ?, ?, ?, ?)`,
		platform, webhookID, status, answer, ms(s.now()))
	if err != nil {
		return fmt.Errorf("alerts: record inbound %s/%s: %w", platform, webhookID, err)
	}
	return nil
}
