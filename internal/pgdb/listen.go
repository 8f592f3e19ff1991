package pgdb

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// notice is the payload of a Notify: the schema, so installations sharing
// a server (and test schemas) do not hear each other, and the message.
type notice struct {
	Schema  string `json:"schema"`
	Message string `json:"message"`
}

// Notify sends message on channel to every node listening on the same
// schema (Listen). NOTIFY payloads are limited to about 8000 bytes: send
// a name, and let the listener read the rest from a table.
func Notify(ctx context.Context, pool *pgxpool.Pool, channel, message string) error {
	_, err := pool.Exec(ctx, `SELECT pg_notify($1, json_build_object('schema', current_schema(), 'message', $2::text)::text)`, channel, message)
	return err
}

// Listen calls f with each message Notify sends on channel in this pool's
// schema (this node's own included), until ctx ends. It holds one
// connection of the pool for that. ready, when not nil, is called each
// time LISTEN is on again: after a lost connection, messages sent while
// it was down are missed, so ready is where a listener reads the state
// again. A lost connection is taken again after a second. channel is a
// name of the code's own (it is quoted, not escaped).
func Listen(ctx context.Context, pool *pgxpool.Pool, channel string, ready func(), f func(message string)) {
	for ctx.Err() == nil {
		listenOnce(ctx, pool, channel, ready, f)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, channel string, ready func(), f func(string)) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return
	}
	// The connection may be mid-wait when ctx ends: close it rather than
	// hand it back to the pool with LISTEN still on.
	defer func() {
		conn.Conn().Close(context.Background())
		conn.Release()
	}()
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return
	}
	if _, err := conn.Exec(ctx, `LISTEN "`+channel+`"`); err != nil {
		return
	}
	if ready != nil {
		ready()
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return
		}
		var m notice
		if json.Unmarshal([]byte(n.Payload), &m) == nil && m.Schema == schema {
			f(m.Message)
		}
	}
}
