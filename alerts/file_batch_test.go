package alerts

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBatchFailureIsolated files a group of posts in which one fails inside
// the shared transaction (a trigger refuses its source row): the others are
// filed, the failing one leaves no lead, source, audit or outbox row.
func TestBatchFailureIsolated(t *testing.T) {
	ep := Endpoint{Name: "case", URL: "http://127.0.0.1:9/", Secret: testSecret}
	s, _ := openTestStore(t, Options{Endpoints: []Endpoint{ep}})
	if _, err := s.w.Exec(`CREATE TRIGGER test_refuse BEFORE INSERT ON alerts_source
		WHEN NEW.url = 'https://bad.test/x' BEGIN SELECT RAISE(ABORT, 'refused by test'); END`); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var batch []*fileReq
	for i, url := range []string{"https://ok.test/1", "https://bad.test/x", "https://ok.test/2"} {
		c := post(url, "fire", "", uint64(i+1)*0x1111111111111111)
		batch = append(batch, &fileReq{ctx: context.Background(), c: c, canon: url, seen: now, at: now, now: now, done: make(chan fileDone, 1)})
	}
	s.fileBatch(batch)
	for i, r := range batch {
		d := <-r.done
		if i == 1 {
			if d.err == nil || !strings.Contains(d.err.Error(), "refused by test") {
				t.Fatalf("bad post: %+v", d)
			}
			continue
		}
		if d.err != nil || d.res.Outcome != OutcomeCreated {
			t.Fatalf("post %d: %+v", i, d)
		}
	}
	if n := countRows(t, s, "alerts_lead", "1"); n != 2 {
		t.Fatalf("%d leads, want 2", n)
	}
	if n := countRows(t, s, "alerts_audit", "1"); n != 2 {
		t.Fatalf("%d audit rows, want 2", n)
	}
	if n := countRows(t, s, "alerts_delivery", "1"); n != 2 {
		t.Fatalf("%d outbox rows, want 2", n)
	}
}
