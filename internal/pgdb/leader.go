package pgdb

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// LeaderCheck is how often a leader checks it still holds its lock, and
// how often a follower tries to take it.
const LeaderCheck = 5 * time.Second

// Lead runs f on one node at a time among those that call Lead with the
// same name on one schema, until ctx ends. The node that holds the
// session advisory lock of name (on a connection it keeps for that) runs
// f with a context that ends when the lock is lost: its connection broke
// or the node stops. A node that dies loses its session, and so the lock,
// when PostgreSQL notices the connection is gone (at once for a killed
// process; after TCP keepalive for a lost host); another node then takes
// it within LeaderCheck. When the server ends the session while the node
// lives (a cut network), the old term may overlap the next for up to
// LeaderCheck, so f's work must be safe to repeat. onChange, when not nil, is told each time this
// node becomes or stops being the leader.
func Lead(ctx context.Context, pool *pgxpool.Pool, name string, f func(context.Context), onChange func(leader bool)) {
	for ctx.Err() == nil {
		held := leadOnce(ctx, pool, name, f, onChange)
		if !held {
			select {
			case <-ctx.Done():
			case <-time.After(LeaderCheck):
			}
		}
	}
}

// leadOnce tries the lock once; when taken it runs f until the lock is
// lost or ctx ends, and reports whether it held it.
func leadOnce(ctx context.Context, pool *pgxpool.Pool, name string, f func(context.Context), onChange func(bool)) bool {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return false
	}
	var got bool
	key := `hashtextextended(current_schema() || '/leader/' || $1, 0)`
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(`+key+`)`, name).Scan(&got); err != nil || !got {
		conn.Release()
		return false
	}
	if onChange != nil {
		onChange(true)
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(lctx)
	}()
	tick := time.NewTicker(LeaderCheck)
	defer tick.Stop()
	for lost := false; !lost; {
		select {
		case <-ctx.Done():
			lost = true
		case <-done:
			// f returned early; keep the lock until ctx ends, so the work
			// does not move to another node and start again.
			<-ctx.Done()
			lost = true
		case <-tick.C:
			pctx, pcancel := context.WithTimeout(ctx, LeaderCheck)
			lost = conn.Ping(pctx) != nil
			pcancel()
		}
	}
	cancel()
	<-done
	if onChange != nil {
		onChange(false)
	}
	// The lock goes with the session: unlock when the connection still
	// works, else drop the connection so PostgreSQL ends the session.
	uctx, ucancel := context.WithTimeout(context.Background(), LeaderCheck)
	defer ucancel()
	if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+key+`)`, name); err != nil {
		conn.Conn().Close(uctx)
	}
	conn.Release()
	return true
}
