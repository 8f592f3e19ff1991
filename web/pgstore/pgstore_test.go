package pgstore

import (
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"riskmine/internal/pgtest"
	"riskmine/web"
	"riskmine/web/storetest"
)

func TestMain(m *testing.M) {
	web.SetPasswordCost(bcrypt.MinCost)
	os.Exit(m.Run())
}

// TestConformance runs the AccountStore suite against PostgreSQL, each
// case in a schema of its own.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) web.AccountStore {
		s, err := Open(context.Background(), pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.now = now
		return s
	})
}
