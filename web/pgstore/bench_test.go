package pgstore

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"riskmine/internal/pgtest"
	"riskmine/web"
)

// benchStores are the backends the limits' benchmarks compare: SQLite
// (in the process) and PostgreSQL (skipped without the test server).
func benchStores(b *testing.B) map[string]func(b *testing.B) web.DataStore {
	return map[string]func(b *testing.B) web.DataStore{
		"sqlite": func(b *testing.B) web.DataStore {
			s, err := web.OpenStore(filepath.Join(b.TempDir(), "riskmine.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(b *testing.B) web.DataStore {
			s, err := Open(context.Background(), pgtest.DSN(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// BenchmarkBearerLimit is what every request with a bearer token pays for
// the wrong-token limit: a reservation for its client address, given back
// when the token is good. Parallel clients use 16 addresses.
func BenchmarkBearerLimit(b *testing.B) {
	p := web.AttemptPolicy{Free: 20, Base: time.Second, MaxDelay: time.Minute, Window: time.Hour}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name](b)
			ctx := context.Background()
			var n atomic.Int32
			b.RunParallel(func(pb *testing.PB) {
				key := fmt.Sprintf("t:192.0.2.%d", n.Add(1)%16)
				for pb.Next() {
					if _, err := s.ReserveAttempts(ctx, p, key); err != nil {
						b.Error(err)
						return
					}
					if err := s.GiveBackAttempts(ctx, key); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSearchSlot is what every search pays for its user's cap: a slot
// taken and released. Parallel clients are 16 users.
func BenchmarkSearchSlot(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := benchStores(b)[name](b)
			ctx := context.Background()
			var n atomic.Int32
			b.RunParallel(func(pb *testing.PB) {
				user := fmt.Sprintf("user%d", n.Add(1)%16)
				for pb.Next() {
					id, err := s.AcquireSearchSlot(ctx, user, 2, time.Minute)
					if err != nil || id == "" {
						b.Errorf("acquire: %q, %v", id, err)
						return
					}
					if err := s.ReleaseSearchSlot(ctx, id); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
