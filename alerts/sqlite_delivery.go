package alerts

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

const deliveryCols = `id, endpoint, event, lead_id, body, state, attempts, created_at, next_attempt_at, last_status, last_error, delivered_at`

func (s *SQLStore) scanDelivery(sc scanner) (*Delivery, error) {
	var d Delivery
	var created, next int64
	var delivered sql.NullInt64
	if err := sc.Scan(&d.ID, &d.Endpoint, &d.Event, &d.LeadID, &d.Body, &d.State, &d.Attempts, &created, &next,
		&d.LastStatus, &d.LastError, &delivered); err != nil {
		return nil, err
	}
	d.CreatedAt = s.at(created)
	if d.State == DeliveryPending {
		d.NextAttemptAt = s.atPtr(next)
	}
	if delivered.Valid {
		d.DeliveredAt = s.atPtr(delivered.Int64)
	}
	return &d, nil
}

// ClaimDeliveries leases up to req.Limit pending deliveries that are due
// and not leased by another claimer, oldest due first.
func (s *SQLStore) ClaimDeliveries(ctx context.Context, req ClaimRequest) ([]Delivery, error) {
	if req.Limit <= 0 {
		req.Limit = 1
	}
	now := ms(req.Now)
	filter, args := "", []any{now + req.Lease.Milliseconds(), now, now}
	if req.ID != "" {
		filter += " AND id = ?"
		args = append(args, req.ID)
	}
	if req.Endpoint != "" {
		filter += " AND endpoint = ?"
		args = append(args, req.Endpoint)
	}
	if len(req.ExceptEndpoints) > 0 {
		filter += " AND endpoint NOT IN (" + placeholders(len(req.ExceptEndpoints)) + ")"
		for _, e := range req.ExceptEndpoints {
			args = append(args, e)
		}
	}
	args = append(args, req.Limit)
	rows, err := s.w.QueryContext(ctx, `UPDATE alerts_delivery SET lease_until = ?
		WHERE id IN (SELECT id FROM alerts_delivery WHERE state = 'pending' AND next_attempt_at <= ? AND lease_until <= ?`+filter+`
			ORDER BY next_attempt_at LIMIT ?)
		RETURNING `+deliveryCols, args...)
	if err != nil {
		return nil, fmt.Errorf("alerts: claim deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := s.scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("alerts: claim deliveries: %w", err)
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts: claim deliveries: %w", err)
	}
	return out, nil
}

// RecordAttempts logs attempts and moves their deliveries on (delivered,
// rescheduled or dead), releasing the lease, in one transaction.
func (s *SQLStore) RecordAttempts(ctx context.Context, recs []AttemptRecord) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alerts: record attempts: %w", err)
	}
	defer tx.Rollback()
	for _, r := range recs {
		if _, err := s.exec(ctx, tx, `INSERT INTO alerts_attempt(delivery_id, n, at, status, latency_ns, error, outcome) VALUES (?,?,?,?,?,?,?)`,
			r.DeliveryID, r.N, ms(r.At), r.Status, int64(r.Latency), r.Error, r.Outcome); err != nil {
			return fmt.Errorf("alerts: record attempt of %s: %w", r.DeliveryID, err)
		}
		var q string
		var args []any
		switch r.Outcome {
		case "delivered", "delivered_by_digest":
			// A delivery folded into a digest keeps the digest's id in
			// last_error, so the outbox shows how it went out.
			note := ""
			if r.Outcome == "delivered_by_digest" {
				note = r.Error
			}
			q = `UPDATE alerts_delivery SET state = 'delivered', attempts = ?, last_status = ?, last_error = ?, delivered_at = ?, lease_until = 0 WHERE id = ?`
			args = []any{r.N, r.Status, note, ms(r.At), r.DeliveryID}
		case "retry":
			q = `UPDATE alerts_delivery SET attempts = ?, last_status = ?, last_error = ?, next_attempt_at = ?, lease_until = 0 WHERE id = ?`
			args = []any{r.N, r.Status, r.Error, ms(r.NextAttemptAt), r.DeliveryID}
		default:
			q = `UPDATE alerts_delivery SET state = 'dead', attempts = ?, last_status = ?, last_error = ?, lease_until = 0 WHERE id = ?`
			args = []any{r.N, r.Status, r.Error, r.DeliveryID}
		}
		if _, err := s.exec(ctx, tx, q, args...); err != nil {
			return fmt.Errorf("alerts: record attempt of %s: %w", r.DeliveryID, err)
		}
		if r.DisableEndpoint != "" {
			if _, err := s.exec(ctx, tx, `INSERT INTO alerts_endpoint(name, disabled_at, reason) VALUES (?,?,?)
				ON CONFLICT(name) DO UPDATE SET disabled_at = excluded.disabled_at, reason = excluded.reason`,
				r.DisableEndpoint, ms(r.At), r.Error); err != nil {
				return fmt.Errorf("alerts: disable endpoint %s: %w", r.DisableEndpoint, err)
			}
			if _, err := s.exec(ctx, tx, `UPDATE alerts_delivery SET state = 'dead', last_error = 'endpoint disabled: ' || ?
				WHERE endpoint = ? AND state = 'pending' AND lease_until <= ?`, r.Error, r.DisableEndpoint, ms(r.At)); err != nil {
				return fmt.Errorf("alerts: disable endpoint %s: %w", r.DisableEndpoint, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("alerts: record attempts: %w", err)
	}
	return nil
}

// Deliveries lists outbox rows, newest first, with the total count.
func (s *SQLStore) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, int, error) {
	var where []string
	var args []any
	if f.State != "" {
		where = append(where, "state = ?")
		args = append(args, f.State)
	}
	if f.Endpoint != "" {
		where = append(where, "endpoint = ?")
		args = append(args, f.Endpoint)
	}
	if f.LeadID != "" {
		where = append(where, "lead_id = ?")
		args = append(args, f.LeadID)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM alerts_delivery`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("alerts: count deliveries: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryCols+` FROM alerts_delivery`+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: list deliveries: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		d, err := s.scanDelivery(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("alerts: list deliveries: %w", err)
		}
		out = append(out, *d)
	}
	return out, total, rows.Err()
}

// Delivery returns one outbox row with its body.
func (s *SQLStore) Delivery(ctx context.Context, id string) (*Delivery, error) {
	d, err := s.scanDelivery(s.r.QueryRowContext(ctx, `SELECT `+deliveryCols+` FROM alerts_delivery WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("alerts: delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("alerts: delivery %s: %w", id, err)
	}
	return d, nil
}

// Attempts returns the logged attempts of a delivery, oldest first.
func (s *SQLStore) Attempts(ctx context.Context, deliveryID string) ([]Attempt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT delivery_id, n, at, status, latency_ns, error, outcome FROM alerts_attempt WHERE delivery_id = ? ORDER BY id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("alerts: attempts of %s: %w", deliveryID, err)
	}
	defer rows.Close()
	out := []Attempt{}
	for rows.Next() {
		var a Attempt
		var at, lat int64
		if err := rows.Scan(&a.DeliveryID, &a.N, &at, &a.Status, &lat, &a.Error, &a.Outcome); err != nil {
			return nil, fmt.Errorf("alerts: attempts of %s: %w", deliveryID, err)
		}
		a.At, a.Latency = s.at(at), time.Duration(lat)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Replay puts a dead or delivered delivery back in the queue, due now,
// with a fresh attempt budget. Its id (the webhook-id) stays the same, so a
// receiver that already processed it can recognise the replay.
func (s *SQLStore) Replay(ctx context.Context, deliveryID string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("alerts: replay %s: %w", deliveryID, err)
	}
	defer tx.Rollback()
	var state, endpoint string
	err = s.queryRow(ctx, tx, `SELECT state, endpoint FROM alerts_delivery WHERE id = ?`, deliveryID).Scan(&state, &endpoint)
	if err == sql.ErrNoRows {
		return fmt.Errorf("alerts: replay %s: %w", deliveryID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("alerts: replay %s: %w", deliveryID, err)
	}
	if state == DeliveryPending {
		return fmt.Errorf("alerts: replay %s: the delivery is still pending: %w", deliveryID, ErrInvalid)
	}
	var reason string
	err = s.queryRow(ctx, tx, `SELECT reason FROM alerts_endpoint WHERE name = ?`, endpoint).Scan(&reason)
	if err == nil {
		return fmt.Errorf("alerts: replay %s: endpoint %s is disabled (%s); enable it first: %w", deliveryID, endpoint, reason, ErrInvalid)
	}
	if err != sql.ErrNoRows {
		return fmt.Errorf("alerts: replay %s: %w", deliveryID, err)
	}
	if _, err := s.exec(ctx, tx, `UPDATE alerts_delivery SET state = 'pending', attempts = 0, next_attempt_at = ?, lease_until = 0, delivered_at = NULL WHERE id = ?`,
		ms(s.now()), deliveryID); err != nil {
		return fmt.Errorf("alerts: replay %s: %w", deliveryID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("alerts: replay %s: %w", deliveryID, err)
	}
	s.notify()
	return nil
}

// DisabledEndpoints returns the disabled endpoints and why.
func (s *SQLStore) DisabledEndpoints(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, reason FROM alerts_endpoint`)
	if err != nil {
		return nil, fmt.Errorf("alerts: disabled endpoints: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, r string
		if err := rows.Scan(&n, &r); err != nil {
			return nil, fmt.Errorf("alerts: disabled endpoints: %w", err)
		}
		out[n] = r
	}
	return out, rows.Err()
}

// EnableEndpoint re-enables an endpoint disabled after HTTP 410.
func (s *SQLStore) EnableEndpoint(ctx context.Context, name string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM alerts_endpoint WHERE name = ?`, name); err != nil {
		return fmt.Errorf("alerts: enable endpoint %s: %w", name, err)
	}
	return nil
}
