package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"riskmine/alerts"
)

const deliveryCols = `id, endpoint, event, lead_id, body, state, attempts, created_at, next_attempt_at, last_status, last_error, delivered_at`

func (s *Store) scanDelivery(row pgx.Row) (*alerts.Delivery, error) {
	var d alerts.Delivery
	var next time.Time
	if err := row.Scan(&d.ID, &d.Endpoint, &d.Event, &d.LeadID, &d.Body, &d.State, &d.Attempts, &d.CreatedAt, &next,
		&d.LastStatus, &d.LastError, &d.DeliveredAt); err != nil {
		return nil, err
	}
	d.CreatedAt = s.at(d.CreatedAt)
	if d.State == alerts.DeliveryPending {
		d.NextAttemptAt = s.atPtr(&next)
	}
	d.DeliveredAt = s.atPtr(d.DeliveredAt)
	return &d, nil
}

func (s *Store) collectDeliveries(rows pgx.Rows) ([]alerts.Delivery, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.Delivery, error) {
		d, err := s.scanDelivery(r)
		if err != nil {
			return alerts.Delivery{}, err
		}
		return *d, nil
	})
	if out == nil {
		out = []alerts.Delivery{}
	}
	return out, err
}

// ClaimDeliveries leases up to req.Limit due pending deliveries that no
// other claimer holds, oldest due first. Rows another node is claiming at
// this moment are skipped (FOR UPDATE SKIP LOCKED), not waited for.
func (s *Store) ClaimDeliveries(ctx context.Context, req alerts.ClaimRequest) ([]alerts.Delivery, error) {
	if req.Limit <= 0 {
		req.Limit = 1
	}
	args := []any{req.Now.Add(req.Lease), req.Now}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	filter := ""
	if req.ID != "" {
		filter += " AND id = " + arg(req.ID)
	}
	if req.Endpoint != "" {
		filter += " AND endpoint = " + arg(req.Endpoint)
	}
	if len(req.ExceptEndpoints) > 0 {
		filter += " AND NOT (endpoint = ANY(" + arg(req.ExceptEndpoints) + "))"
	}
	rows, err := s.pool.Query(ctx, `UPDATE alerts_delivery d SET lease_until = $1
		FROM (SELECT id FROM alerts_delivery WHERE state = 'pending' AND next_attempt_at <= $2 AND lease_until <= $2`+filter+`
			ORDER BY next_attempt_at LIMIT `+arg(req.Limit)+` FOR UPDATE SKIP LOCKED) c
		WHERE d.id = c.id
		RETURNING `+prefixed("d.", deliveryCols), args...)
	if err != nil {
		return nil, fmt.Errorf("alerts: claim deliveries: %w", err)
	}
	out, err := s.collectDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("alerts: claim deliveries: %w", err)
	}
	slices.SortFunc(out, func(a, b alerts.Delivery) int {
		return cmp.Or(a.NextAttemptAt.Compare(*b.NextAttemptAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// RecordAttempts logs attempts and moves their deliveries on (delivered,
// rescheduled or dead), releasing the lease, in one transaction.
func (s *Store) RecordAttempts(ctx context.Context, recs []alerts.AttemptRecord) error {
	if len(recs) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) (int, error) {
		for _, r := range recs {
			if _, err := tx.Exec(ctx, `INSERT INTO alerts_attempt(delivery_id, n, at, status, latency_ns, error, outcome) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
				r.DeliveryID, r.N, r.At, r.Status, int64(r.Latency), r.Error, r.Outcome); err != nil {
				return 0, fmt.Errorf("alerts: record attempt of %s: %w", r.DeliveryID, err)
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
				q = `UPDATE alerts_delivery SET state = 'delivered', attempts = $1, last_status = $2, last_error = $3, delivered_at = $4,
					lease_until = '-infinity' WHERE id = $5`
				args = []any{r.N, r.Status, note, r.At, r.DeliveryID}
			case "retry":
				q = `UPDATE alerts_delivery SET attempts = $1, last_status = $2, last_error = $3, next_attempt_at = $4,
					lease_until = '-infinity' WHERE id = $5`
				args = []any{r.N, r.Status, r.Error, r.NextAttemptAt, r.DeliveryID}
			default:
				q = `UPDATE alerts_delivery SET state = 'dead', attempts = $1, last_status = $2, last_error = $3,
					lease_until = '-infinity' WHERE id = $4`
				args = []any{r.N, r.Status, r.Error, r.DeliveryID}
			}
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return 0, fmt.Errorf("alerts: record attempt of %s: %w", r.DeliveryID, err)
			}
			if r.DisableEndpoint != "" {
				if _, err := tx.Exec(ctx, `INSERT INTO alerts_endpoint(name, disabled_at, reason) VALUES ($1,$2,$3)
					ON CONFLICT (name) DO UPDATE SET disabled_at = excluded.disabled_at, reason = excluded.reason`,
					r.DisableEndpoint, r.At, r.Error); err != nil {
					return 0, fmt.Errorf("alerts: disable endpoint %s: %w", r.DisableEndpoint, err)
				}
				if _, err := tx.Exec(ctx, `UPDATE alerts_delivery SET state = 'dead', last_error = 'endpoint disabled: ' || $1
					WHERE endpoint = $2 AND state = 'pending' AND lease_until <= $3`, r.Error, r.DisableEndpoint, r.At); err != nil {
					return 0, fmt.Errorf("alerts: disable endpoint %s: %w", r.DisableEndpoint, err)
				}
			}
		}
		return 0, nil
	})
}

// Deliveries lists outbox rows, newest first, with the total count.
func (s *Store) Deliveries(ctx context.Context, f alerts.DeliveryFilter) ([]alerts.Delivery, int, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.State != "" {
		where = append(where, "state = "+arg(f.State))
	}
	if f.Endpoint != "" {
		where = append(where, "endpoint = "+arg(f.Endpoint))
	}
	if f.LeadID != "" {
		where = append(where, "lead_id = "+arg(f.LeadID))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM alerts_delivery`+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("alerts: count deliveries: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	lim, off := arg(limit), arg(max(f.Offset, 0))
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryCols+` FROM alerts_delivery`+cond+` ORDER BY created_at DESC, id DESC LIMIT `+lim+` OFFSET `+off, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: list deliveries: %w", err)
	}
	out, err := s.collectDeliveries(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("alerts: list deliveries: %w", err)
	}
	return out, total, nil
}

// Delivery returns one outbox row with its body.
func (s *Store) Delivery(ctx context.Context, id string) (*alerts.Delivery, error) {
	d, err := s.scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryCols+` FROM alerts_delivery WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("alerts: delivery %s: %w", id, alerts.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("alerts: delivery %s: %w", id, err)
	}
	return d, nil
}

// Attempts returns the logged attempts of a delivery, oldest first.
func (s *Store) Attempts(ctx context.Context, deliveryID string) ([]alerts.Attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT delivery_id, n, at, status, latency_ns, error, outcome FROM alerts_attempt
		WHERE delivery_id = $1 ORDER BY id`, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("alerts: attempts of %s: %w", deliveryID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alerts.Attempt, error) {
		var a alerts.Attempt
		var lat int64
		err := r.Scan(&a.DeliveryID, &a.N, &a.At, &a.Status, &lat, &a.Error, &a.Outcome)
		a.At, a.Latency = s.at(a.At), time.Duration(lat)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: attempts of %s: %w", deliveryID, err)
	}
	if out == nil {
		out = []alerts.Attempt{}
	}
	return out, nil
}

// Replay puts a dead or delivered delivery back in the queue, due now,
// with a fresh attempt budget and the same id.
func (s *Store) Replay(ctx context.Context, deliveryID string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) (int, error) {
		var state, endpoint string
		err := tx.QueryRow(ctx, `SELECT state, endpoint FROM alerts_delivery WHERE id = $1 FOR UPDATE`, deliveryID).Scan(&state, &endpoint)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("alerts: replay %s: %w", deliveryID, alerts.ErrNotFound)
		}
		if err != nil {
			return 0, fmt.Errorf("alerts: replay %s: %w", deliveryID, err)
		}
		if state == alerts.DeliveryPending {
			return 0, fmt.Errorf("alerts: replay %s: the delivery is still pending: %w", deliveryID, alerts.ErrInvalid)
		}
		var reason string
		err = tx.QueryRow(ctx, `SELECT reason FROM alerts_endpoint WHERE name = $1`, endpoint).Scan(&reason)
		if err == nil {
			return 0, fmt.Errorf("alerts: replay %s: endpoint %s is disabled (%s); enable it first: %w", deliveryID, endpoint, reason, alerts.ErrInvalid)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("alerts: replay %s: %w", deliveryID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts_delivery SET state = 'pending', attempts = 0, next_attempt_at = $1,
			lease_until = '-infinity', delivered_at = NULL WHERE id = $2`, s.now(), deliveryID); err != nil {
			return 0, fmt.Errorf("alerts: replay %s: %w", deliveryID, err)
		}
		return 1, nil
	})
	return err
}

// DisabledEndpoints returns the disabled endpoints and why.
func (s *Store) DisabledEndpoints(ctx context.Context) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, reason FROM alerts_endpoint`)
	if err != nil {
		return nil, fmt.Errorf("alerts: disabled endpoints: %w", err)
	}
	out := map[string]string{}
	var n, r string
	_, err = pgx.ForEachRow(rows, []any{&n, &r}, func() error {
		out[n] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: disabled endpoints: %w", err)
	}
	return out, nil
}

// EnableEndpoint re-enables an endpoint disabled after HTTP 410.
func (s *Store) EnableEndpoint(ctx context.Context, name string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM alerts_endpoint WHERE name = $1`, name); err != nil {
		return fmt.Errorf("alerts: enable endpoint %s: %w", name, err)
	}
	return nil
}

// InboundAnswer returns the answer already given to the inbound request
// webhookID from platform; a request still being acted on has none.
func (s *Store) InboundAnswer(ctx context.Context, platform, webhookID string) (status int, answer []byte, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT status, answer FROM alerts_inbound WHERE platform = $1 AND webhook_id = $2 AND status <> 0`,
		platform, webhookID).Scan(&status, &answer)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("alerts: inbound %s/%s: %w", platform, webhookID, err)
	}
	return status, answer, true, nil
}

// ClaimInbound reserves the inbound request for the caller (see
// alerts.SQLStore.ClaimInbound): the primary key decides between nodes.
func (s *Store) ClaimInbound(ctx context.Context, platform, webhookID string) (claimed bool, status int, answer []byte, seen bool, err error) {
	now := s.now()
	wrap := func(err error) error { return fmt.Errorf("alerts: claim inbound %s/%s: %w", platform, webhookID, err) }
	tag, err := s.pool.Exec(ctx, `INSERT INTO alerts_inbound (platform, webhook_id, status, answer, at) VALUES ($1, $2, 0, '', $3)
		ON CONFLICT DO NOTHING`, platform, webhookID, now)
	if err != nil {
		return false, 0, nil, false, wrap(err)
	}
	if tag.RowsAffected() == 1 {
		return true, 0, nil, false, nil
	}
	var at time.Time
	err = s.pool.QueryRow(ctx, `SELECT status, answer, at FROM alerts_inbound WHERE platform = $1 AND webhook_id = $2`,
		platform, webhookID).Scan(&status, &answer, &at)
	if err != nil {
		return false, 0, nil, false, wrap(err)
	}
	if status != 0 {
		return false, status, answer, true, nil
	}
	if now.Sub(at) < alerts.InboundClaimTTL {
		return false, 0, nil, false, nil
	}
	// A stale claim: take it over, unless another delivery just did.
	tag, err = s.pool.Exec(ctx, `UPDATE alerts_inbound SET at = $1 WHERE platform = $2 AND webhook_id = $3 AND status = 0 AND at = $4`,
		now, platform, webhookID, at)
	if err != nil {
		return false, 0, nil, false, wrap(err)
	}
	return tag.RowsAffected() == 1, 0, nil, false, nil
}

// RecordInbound stores the answer to an inbound request; one answered
// already keeps its first answer.
func (s *Store) RecordInbound(ctx context.Context, platform, webhookID string, status int, answer []byte) error {
	if status == 0 {
		return fmt.Errorf("alerts: record inbound %s/%s: status 0 is not an answer", platform, webhookID)
	}
	if answer == nil {
		answer = []byte{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO alerts_inbound (platform, webhook_id, status, answer, at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (platform, webhook_id) DO UPDATE SET status = excluded.status, answer = excluded.answer, at = excluded.at
		WHERE alerts_inbound.status = 0`, platform, webhookID, status, answer, s.now())
	if err != nil {
		return fmt.Errorf("alerts: record inbound %s/%s: %w", platform, webhookID, err)
	}
	return nil
}

// ReleaseInbound gives back an unanswered claim.
func (s *Store) ReleaseInbound(ctx context.Context, platform, webhookID string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM alerts_inbound WHERE platform = $1 AND webhook_id = $2 AND status = 0`, platform, webhookID); err != nil {
		return fmt.Errorf("alerts: release inbound %s/%s: %w", platform, webhookID, err)
	}
	return nil
}

// NotifySourceHealth queues ev for every endpoint that opted in to source
// health and returns how many deliveries it queued; the rows have no lead.
// Every node's dispatcher is woken (NOTIFY), and any of them delivers.
func (s *Store) NotifySourceHealth(ctx context.Context, ev alerts.SourceHealthEvent) (int, error) {
	now := s.now()
	rows, err := alerts.SourceHealthRows(s.opts, ev, now)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) (int, error) {
		for _, r := range rows {
			if _, err := tx.Exec(ctx, `INSERT INTO alerts_delivery(id, endpoint, event, lead_id, body, state, created_at, next_attempt_at)
				VALUES ($1,$2,$3,'',$4,$5,$6,$6)`, r.ID, r.Endpoint, r.Event, r.Body, alerts.DeliveryPending, now); err != nil {
				return 0, err
			}
		}
		return len(rows), nil
	})
	if err != nil {
		return 0, fmt.Errorf("alerts: source health of %s: %w", ev.Source, err)
	}
	return len(rows), nil
}
