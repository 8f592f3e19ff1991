package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"riskmine/web"
)

// pruneEvery is how often a node deletes the expired rows of the limits'
// tables (attempts, nonces, slots) while it writes to them.
const pruneEvery = time.Minute

// errWait rolls back a reservation that must wait.
var errWait = errors.New("wait")

// ReserveAttempts takes an attempt for every key at once, or for none and
// says how long to wait. The keys' rows are locked (created if new), in
// key order, for the transaction in which the policy decides, so
// concurrent reservations of a key from every node are counted one after
// another.
func (s *Store) ReserveAttempts(ctx context.Context, p web.AttemptPolicy, keys ...string) (time.Duration, error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	if len(keys) == 0 {
		return 0, nil
	}
	now := s.now()
	var wait time.Duration
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// A row that conflicts is updated to itself: that locks it and
		// returns what it holds. A new row holds no failures.
		rows, err := tx.Query(ctx, `INSERT INTO web_login_attempts AS a (key, failures, last_at, expires_at)
			SELECT k, 0, $2, $2 FROM unnest($1::text[]) AS k ORDER BY k
			ON CONFLICT (key) DO UPDATE SET failures = a.failures
			RETURNING key, failures, last_at`, keys, now)
		if err != nil {
			return err
		}
		var (
			key      string
			failures int
			last     time.Time
			next     = make([]int32, 0, len(keys))
			names    = make([]string, 0, len(keys))
		)
		if _, err := pgx.ForEachRow(rows, []any{&key, &failures, &last}, func() error {
			wait = max(wait, p.Wait(failures, last, now))
			names = append(names, key)
			next = append(next, int32(p.Next(failures, last, now)))
			return nil
		}); err != nil {
			return err
		}
		if wait > 0 {
			return errWait
		}
		_, err = tx.Exec(ctx, `UPDATE web_login_attempts AS a SET failures = v.n, last_at = $3, expires_at = $4
			FROM unnest($1::text[], $2::integer[]) AS v(key, n) WHERE a.key = v.key`, names, next, now, now.Add(p.Window))
		return err
	})
	if errors.Is(err, errWait) {
		return wait, nil
	}
	if err != nil {
		return 0, fmt.Errorf("web: reserve login attempts: %w", err)
	}
	s.pruneLimits(ctx, now)
	return 0, nil
}

// GiveBackAttempts returns one reserved attempt of each key.
func (s *Store) GiveBackAttempts(ctx context.Context, keys ...string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE web_login_attempts SET failures = greatest(failures - 1, 0) WHERE key = ANY($1)`, keys); err != nil {
		return fmt.Errorf("web: give back login attempts: %w", err)
	}
	return nil
}

// ForgetAttempts clears keys.
func (s *Store) ForgetAttempts(ctx context.Context, keys ...string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM web_login_attempts WHERE key = ANY($1)`, keys); err != nil {
		return fmt.Errorf("web: forget login attempts: %w", err)
	}
	return nil
}

// AddLoginNonce keeps a login token issued to ip until expires; only a
// hash of the token is stored.
func (s *Store) AddLoginNonce(ctx context.Context, nonce, ip string, expires time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO web_login_nonces (nonce_hash, client_ip, expires_at) VALUES ($1, $2, $3)`,
		web.SecretHash(nonce), ip, expires); err != nil {
		return fmt.Errorf("web: add login nonce: %w", err)
	}
	s.pruneLimits(ctx, s.now())
	return nil
}

// TakeLoginNonce removes a login token and says whom it was issued to; one
// statement deletes and returns it, so of concurrent takes on any nodes
// one gets it.
func (s *Store) TakeLoginNonce(ctx context.Context, nonce string) (string, time.Time, error) {
	var ip string
	var expires time.Time
	err := s.pool.QueryRow(ctx, `DELETE FROM web_login_nonces WHERE nonce_hash = $1 RETURNING client_ip, expires_at`,
		web.SecretHash(nonce)).Scan(&ip, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", time.Time{}, web.ErrNotFound
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("web: take login nonce: %w", err)
	}
	return ip, expires, nil
}

// AcquireSearchSlot takes one of user's max search slots for lease, or
// returns "" when all are held. The count and the insert run under a
// transaction-scoped advisory lock of the user, in one round trip (a
// batch is one implicit transaction), so concurrent acquisitions from
// every node are decided one after another; the user's lapsed slots are
// deleted on the way.
func (s *Store) AcquireSearchSlot(ctx context.Context, user string, max int, lease time.Duration) (string, error) {
	now := s.now()
	id := web.NewSearchSlotID()
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/web_search_slots/' || $1, 0))`, user)
	b.Queue(`DELETE FROM web_search_slots WHERE user_name = $1 AND expires_at <= $2`, user, now)
	b.Queue(`INSERT INTO web_search_slots (id, user_name, expires_at)
		SELECT $1, $2, $4 WHERE (SELECT count(*) FROM web_search_slots WHERE user_name = $2 AND expires_at > $3) < $5`,
		id, user, now, now.Add(lease), max)
	br := s.pool.SendBatch(ctx, b)
	var tag pgconn.CommandTag
	var err error
	for range b.Len() {
		if tag, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("web: acquire a search slot of %s: %w", user, err)
	}
	if tag.RowsAffected() == 0 {
		return "", nil
	}
	s.pruneLimits(ctx, now)
	return id, nil
}

// RenewSearchSlot extends a held slot's lease.
func (s *Store) RenewSearchSlot(ctx context.Context, id string, lease time.Duration) error {
	now := s.now()
	tag, err := s.pool.Exec(ctx, `UPDATE web_search_slots SET expires_at = $2 WHERE id = $1 AND expires_at > $3`, id, now.Add(lease), now)
	if err != nil {
		return fmt.Errorf("web: renew search slot: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("web: search slot: %w", web.ErrNotFound)
	}
	return nil
}

// ReleaseSearchSlot frees a slot.
func (s *Store) ReleaseSearchSlot(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM web_search_slots WHERE id = $1`, id); err != nil {
		return fmt.Errorf("web: release search slot: %w", err)
	}
	return nil
}

// pruneLimits deletes the expired rows of the limits' tables, at most
// every pruneEvery per node; a failure is left to the next time.
func (s *Store) pruneLimits(ctx context.Context, now time.Time) {
	last := s.pruned.Load()
	if now.UnixMilli()-last < pruneEvery.Milliseconds() || !s.pruned.CompareAndSwap(last, now.UnixMilli()) {
		return
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM web_login_attempts WHERE expires_at <= $1`, now)
	b.Queue(`DELETE FROM web_login_nonces WHERE expires_at < $1`, now)
	b.Queue(`DELETE FROM web_search_slots WHERE expires_at <= $1`, now)
	_ = s.pool.SendBatch(ctx, b).Close()
}
