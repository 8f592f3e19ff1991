package web

import (
	"context"
	"log/slog"
	"time"
)

// SearchSlots keeps the searches each user runs at once (page, API,
// export): a search holds a core and memory until it ends, so one user's
// burst must not take them all. On PostgreSQL the slots are shared by
// every API node, so the cap holds for a user whatever node serves them.
//
// A slot is held under a lease: one neither released nor renewed before
// its lease ends is free again, so the slots of a node that died come
// back on their own.
type SearchSlots interface {
	// AcquireSearchSlot takes a slot of user for lease and returns its
	// id, or "" when user already holds max live slots. Concurrent
	// acquisitions for one user, from any node, never hold more than max.
	AcquireSearchSlot(ctx context.Context, user string, max int, lease time.Duration) (string, error)
	// RenewSearchSlot extends a held slot's lease to lease from now;
	// ErrNotFound when the slot has expired or was released.
	RenewSearchSlot(ctx context.Context, id string, lease time.Duration) error
	// ReleaseSearchSlot frees a slot (an unknown id is no error).
	ReleaseSearchSlot(ctx context.Context, id string) error
}

// searchSlotLease is how long a search slot lasts unless renewed; a
// search renews its slot every third of it while it runs (an export runs
// for minutes).
const searchSlotLease = time.Minute

// searchSlots admits each user's searches through the store's slots.
type searchSlots struct {
	max   int
	lease time.Duration
	store SearchSlots
	log   *slog.Logger
}

func newSearchSlots(st SearchSlots, max int, log *slog.Logger) *searchSlots {
	if max <= 0 {
		max = 2
	}
	return &searchSlots{max: max, lease: searchSlotLease, store: st, log: log}
}

// enter admits a search of user, or reports false when the user already
// runs max searches. The caller calls leave when the search ends; until
// then the slot's lease is renewed.
func (g *searchSlots) enter(ctx context.Context, user string) (leave func(), ok bool, err error) {
	id, err := g.store.AcquireSearchSlot(ctx, user, g.max, g.lease)
	if err != nil || id == "" {
		return nil, false, err
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(g.lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				rctx, cancel := context.WithTimeout(context.Background(), g.lease/3)
				if err := g.store.RenewSearchSlot(rctx, id, g.lease); err != nil {
					g.log.Warn("search slot not renewed", "user", user, "error", err)
				}
				cancel()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		// The slot is freed even when the client has gone; one that
		// cannot be freed ends with its lease.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := g.store.ReleaseSearchSlot(rctx, id); err != nil {
			g.log.Warn("search slot not released", "user", user, "error", err)
		}
	}, true, nil
}
