package alerts

import (
	"errors"
	"testing"
)

// TestSQLLeadTxSaveReview: the SQLite verb behind every review change
// writes only over the version it loaded, and a refused save leaves the
// lead as it was.
func TestSQLLeadTxSaveReview(t *testing.T) {
	ctx := t.Context()
	s, _ := openTestStore(t, Options{Now: newClock().Now})
	id := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 7, "仓库")).LeadID
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	lt := s.leadTx(tx)
	l, err := lt.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	next, _, err := Transit(*l, TransitionRequest{To: StateConfirmed}, s.now(), s.opts.SLA)
	if err != nil {
		t.Fatal(err)
	}
	if err := lt.SaveReview(ctx, &next, l.Version+1); !errors.Is(err, ErrConflict) {
		t.Fatalf("save over a version not loaded: %v", err)
	}
	if again, err := lt.Load(ctx, id); err != nil || again.State != StateNew || again.Version != l.Version {
		t.Fatalf("after a refused save: %+v %v", again, err)
	}
	if err := lt.SaveReview(ctx, &next, l.Version); err != nil {
		t.Fatal(err)
	}
	if again, err := lt.Load(ctx, id); err != nil || again.State != StateConfirmed || again.Version != l.Version+1 {
		t.Fatalf("after the save: %+v %v", again, err)
	}
	if _, err := lt.Load(ctx, "no-such-lead"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown lead: %v", err)
	}
}
