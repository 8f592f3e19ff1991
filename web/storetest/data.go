package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"riskmine/web"
)

// NewDataStore returns an empty web.DataStore that reads the time from
// now. It closes the store in t.Cleanup.
type NewDataStore func(t *testing.T, now func() time.Time) web.DataStore

// RunData runs the cases of the DataStore's parts beyond the accounts (Run
// has those): the read audit, the UI's sources and their audit, the
// lexicon audit, login attempts, login nonces and search slots.
func RunData(t *testing.T, newStore NewDataStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, web.DataStore, *Clock)
	}{
		{"ReadAudit", testReadAudit},
		{"ReadAuditPrune", testReadAuditPrune},
		{"UISources", testUISources},
		{"UISourcesConcurrent", testUISourcesConcurrent},
		{"LexiconAudit", testLexiconAudit},
		{"LoginAttempts", testLoginAttempts},
		{"LoginAttemptsConcurrent", testLoginAttemptsConcurrent},
		{"LoginNonces", testLoginNonces},
		{"SearchSlots", testSearchSlots},
		{"SearchSlotsConcurrent", testSearchSlotsConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
			tc.fn(t, newStore(t, c.Now), c)
		})
	}
}

func testReadAudit(t *testing.T, s web.DataStore, c *Clock) {
	ctx := context.Background()
	t0 := c.Now()
	if err := s.AddReads(ctx, nil); err != nil {
		t.Fatalf("no reads: %v", err)
	}
	got, n, err := s.Reads(ctx, web.ReadFilter{})
	if err != nil || n != 0 || got == nil || len(got) != 0 {
		t.Fatalf("reads of an empty audit: %#v, %d, %v; want an empty, non-nil list", got, n, err)
	}
	first := web.ReadEvent{At: t0.Add(1500 * time.Millisecond), User: "ana", Role: web.RoleAnalyst, ClientIP: "2001:db8::7",
		Kind: web.ReadSearch, Via: "api", Query: "燃气 泄漏", Filters: "level=high&category=hazmat_leak", Rows: 42, PII: true}
	evs := []web.ReadEvent{first,
		{At: t0.Add(2 * time.Second), User: "bo", Role: web.RoleViewer, ClientIP: "192.0.2.1", Kind: web.ReadView, Via: "ui", Target: "17", Rows: 3},
		{At: t0.Add(3 * time.Second), User: "ana", Role: web.RoleAnalyst, ClientIP: "192.0.2.2", Kind: web.ReadExport, Via: "ui", Target: "leads", Rows: 1000},
		// Two reads in one millisecond come back newest recorded first.
		{At: t0.Add(3 * time.Second), User: "ana", Role: web.RoleAnalyst, ClientIP: "192.0.2.2", Kind: web.ReadList, Via: "ui", Filters: "status=open"},
	}
	if err := s.AddReads(ctx, evs[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.AddReads(ctx, evs[1:]); err != nil {
		t.Fatal(err)
	}
	kinds := func(f web.ReadFilter) ([]string, int) {
		t.Helper()
		got, n, err := s.Reads(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range got {
			out = append(out, e.User+"/"+e.Kind)
		}
		return out, n
	}
	for _, tc := range []struct {
		name  string
		f     web.ReadFilter
		want  []string
		total int
	}{
		{"all, newest first", web.ReadFilter{}, []string{"ana/list", "ana/export", "bo/view", "ana/search"}, 4},
		{"by user", web.ReadFilter{User: "ana"}, []string{"ana/list", "ana/export", "ana/search"}, 3},
		{"by kind", web.ReadFilter{Kind: web.ReadView}, []string{"bo/view"}, 1},
		{"since is inclusive", web.ReadFilter{Since: t0.Add(2 * time.Second)}, []string{"ana/list", "ana/export", "bo/view"}, 3},
		{"until is exclusive", web.ReadFilter{Until: t0.Add(2 * time.Second)}, []string{"ana/search"}, 1},
		{"a page", web.ReadFilter{Limit: 2, Offset: 1}, []string{"ana/export", "bo/view"}, 4},
		{"past the end", web.ReadFilter{Offset: 10}, nil, 4},
		{"nobody", web.ReadFilter{User: "nobody-here"}, nil, 0},
	} {
		got, total := kinds(tc.f)
		if !slices.Equal(got, tc.want) || total != tc.total {
			t.Errorf("%s: %v of %d, want %v of %d", tc.name, got, total, tc.want, tc.total)
		}
	}
	// Every field comes back as written, the time to the millisecond.
	got, _, err = s.Reads(ctx, web.ReadFilter{Kind: web.ReadSearch})
	if err != nil || len(got) != 1 {
		t.Fatalf("the search read: %+v, %v", got, err)
	}
	g := got[0]
	if g.ID == 0 || !g.At.Equal(first.At) || g.User != first.User || g.Role != first.Role || g.ClientIP != first.ClientIP ||
		g.Kind != first.Kind || g.Via != first.Via || g.Target != "" || g.Query != first.Query || g.Filters != first.Filters ||
		g.Rows != first.Rows || !g.PII {
		t.Fatalf("read back %+v, wrote %+v", g, first)
	}
	// The default page is 50 reads.
	var many []web.ReadEvent
	for i := range 60 {
		many = append(many, web.ReadEvent{At: t0.Add(time.Minute + time.Duration(i)*time.Millisecond), User: "cy", Role: web.RoleViewer, Kind: web.ReadSearch, Via: "api"})
	}
	if err := s.AddReads(ctx, many); err != nil {
		t.Fatal(err)
	}
	if got, n, err := s.Reads(ctx, web.ReadFilter{User: "cy"}); err != nil || len(got) != 50 || n != 60 {
		t.Fatalf("default page: %d of %d, %v; want 50 of 60", len(got), n, err)
	}
}

func testReadAuditPrune(t *testing.T, s web.DataStore, c *Clock) {
	ctx := context.Background()
	t0 := c.Now()
	var evs []web.ReadEvent
	for i := range 5 {
		evs = append(evs, web.ReadEvent{At: t0.Add(time.Duration(i) * time.Hour), User: "ana", Role: web.RoleAnalyst, Kind: web.ReadList, Via: "ui"})
	}
	if err := s.AddReads(ctx, evs); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneReads(ctx, t0.Add(2*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneReads = %d, %v; want the 2 reads before the third hour", n, err)
	}
	got, total, err := s.Reads(ctx, web.ReadFilter{})
	if err != nil || total != 3 || !got[len(got)-1].At.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after pruning: %+v (%d), %v", got, total, err)
	}
	if n, err := s.PruneReads(ctx, t0.Add(2*time.Hour)); err != nil || n != 0 {
		t.Fatalf("pruning again: %d, %v", n, err)
	}
}

const (
	sourceA = "name: a\nkind: rss\nseeds: [\"https://a.example/rss\"]\n"
	sourceB = "name: a\nkind: rss\nseeds: [\"https://b.example/rss\"]\n"
)

func testUISources(t *testing.T, s web.DataStore, c *Clock) {
	ctx := context.Background()
	list, err := s.UISources(ctx)
	if err != nil || list == nil || len(list) != 0 {
		t.Fatalf("sources of an empty store: %#v, %v; want an empty, non-nil list", list, err)
	}
	created := c.Now()
	u, err := s.CreateUISource(ctx, "al", "a", sourceA)
	if err != nil || u.Name != "a" || u.YAML != sourceA || u.Paused || u.UpdatedBy != "al" || !u.UpdatedAt.Equal(created) {
		t.Fatalf("CreateUISource = %+v, %v", u, err)
	}
	if _, err := s.CreateUISource(ctx, "al", "a", sourceB); !errors.Is(err, web.ErrSourceExists) {
		t.Fatalf("a second source a: %v, want web.ErrSourceExists", err)
	}
	if _, err := s.CreateUISource(ctx, "al", "城市", "name: 城市\n"); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	u, err = s.UpdateUISource(ctx, "bo", "a", sourceB)
	if err != nil || u.YAML != sourceB || u.UpdatedBy != "bo" || !u.UpdatedAt.Equal(c.Now()) {
		t.Fatalf("UpdateUISource = %+v, %v", u, err)
	}
	if u, err = s.PauseUISource(ctx, "bo", "a", true); err != nil || !u.Paused || u.YAML != sourceB {
		t.Fatalf("PauseUISource = %+v, %v", u, err)
	}
	// An update keeps the pause.
	if u, err = s.UpdateUISource(ctx, "bo", "a", sourceA); err != nil || !u.Paused {
		t.Fatalf("an update of a paused source: %+v, %v", u, err)
	}
	got, err := s.UISource(ctx, "a")
	if err != nil || got.YAML != sourceA || !got.Paused || got.UpdatedBy != "bo" || !got.UpdatedAt.Equal(c.Now()) {
		t.Fatalf("UISource(a) = %+v, %v", got, err)
	}
	if _, err := s.PauseUISource(ctx, "al", "a", false); err != nil {
		t.Fatal(err)
	}
	_, err = s.UISource(ctx, "nothing")
	wantNotFound(t, "an unknown source", err)
	_, err = s.UpdateUISource(ctx, "al", "nothing", sourceA)
	wantNotFound(t, "updating an unknown source", err)
	_, err = s.PauseUISource(ctx, "al", "nothing", true)
	wantNotFound(t, "pausing an unknown source", err)
	wantNotFound(t, "deleting an unknown source", s.DeleteUISource(ctx, "al", "nothing"))
	list, err = s.UISources(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "城市" {
		t.Fatalf("UISources = %+v, %v; want a, 城市 by name", list, err)
	}
	if err := s.DeleteUISource(ctx, "al", "a"); err != nil {
		t.Fatal(err)
	}
	_, err = s.UISource(ctx, "a")
	wantNotFound(t, "a deleted source", err)
	// The audit has every change, newest first, with the states around it;
	// refused changes left none.
	audit, err := s.SourceAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ actor, action, name, before, after string }
	var rows []row
	for _, a := range audit {
		rows = append(rows, row{a.Actor, a.Action, a.Name, a.Before, a.After})
	}
	paused := "paused: true\n"
	want := []row{
		{"al", "delete", "a", sourceA, ""},
		{"al", "resume", "a", paused + sourceA, sourceA},
		{"bo", "update", "a", paused + sourceB, paused + sourceA},
		{"bo", "pause", "a", sourceB, paused + sourceB},
		{"bo", "update", "a", sourceA, sourceB},
		{"al", "create", "城市", "", "name: 城市\n"},
		{"al", "create", "a", "", sourceA},
	}
	if !slices.Equal(rows, want) {
		t.Fatalf("source audit:\n%+v\nwant\n%+v", rows, want)
	}
	if !audit[0].At.Equal(c.Now()) || !audit[len(audit)-1].At.Equal(created) {
		t.Fatalf("audit times %s … %s, want %s … %s", audit[0].At, audit[len(audit)-1].At, c.Now(), created)
	}
	if top, err := s.SourceAudit(ctx, 2); err != nil || len(top) != 2 || top[0].Action != "delete" {
		t.Fatalf("SourceAudit(2) = %+v, %v", top, err)
	}
}

// testUISourcesConcurrent has several administrators create one name and
// change another at once: one create wins, the others are told the name
// is taken, and the audit holds exactly the changes made.
func testUISourcesConcurrent(t *testing.T, s web.DataStore, _ *Clock) {
	ctx := context.Background()
	if _, err := s.CreateUISource(ctx, "al", "shared", sourceA); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, exists := 0, 0
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			_, err := s.CreateUISource(ctx, fmt.Sprintf("admin%d", i), "new", sourceA)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, web.ErrSourceExists):
				exists++
			default:
				errs <- err
			}
		})
		wg.Go(func() {
			if _, err := s.PauseUISource(ctx, fmt.Sprintf("admin%d", i), "shared", i%2 == 0); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if won != 1 || exists != n-1 {
		t.Fatalf("%d creates of one name won and %d were refused; want 1 and %d", won, exists, n-1)
	}
	audit, err := s.SourceAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	creates, pauses := 0, 0
	for _, a := range audit {
		switch {
		case a.Action == "create" && a.Name == "new":
			creates++
		case a.Name == "shared" && (a.Action == "pause" || a.Action == "resume"):
			pauses++
		}
	}
	if creates != 1 || pauses != n {
		t.Fatalf("audit: %d creates of new and %d pauses of shared, want 1 and %d", creates, pauses, n)
	}
}

func testLexiconAudit(t *testing.T, s web.DataStore, c *Clock) {
	ctx := context.Background()
	if got, err := s.LexiconAudit(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("an empty audit: %+v, %v", got, err)
	}
	changes := []web.LexiconChange{
		{At: c.Now(), Actor: "al", Action: "save", Code: "fire", Summary: "新增词 起火", Before: "terms: []\n", After: "terms: [起火]\n"},
		{At: c.Now().Add(time.Minute), Actor: "bo", Action: "save", Code: "fire.cases", Summary: "新增用例", Before: "", After: "- text: 起火\n"},
		{At: c.Now().Add(2 * time.Minute), Actor: "al", Action: "revert", Code: "fire", Summary: "撤销", Before: "terms: [起火]\n", After: "terms: []\n"},
	}
	for _, ch := range changes {
		if err := s.AddLexiconChange(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LexiconAudit(ctx, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("LexiconAudit = %+v, %v", got, err)
	}
	for i, g := range got {
		w := changes[len(changes)-1-i]
		if g.ID == 0 || !g.At.Equal(w.At) || g.Actor != w.Actor || g.Action != w.Action || g.Code != w.Code ||
			g.Summary != w.Summary || g.Before != w.Before || g.After != w.After {
			t.Fatalf("audit row %d: %+v, want %+v (newest first)", i, g, w)
		}
		if i > 0 && g.ID >= got[i-1].ID {
			t.Fatalf("ids %d then %d: newest first has the larger id", got[i-1].ID, g.ID)
		}
	}
	if top, err := s.LexiconAudit(ctx, 1); err != nil || len(top) != 1 || top[0].Action != "revert" {
		t.Fatalf("LexiconAudit(1) = %+v, %v", top, err)
	}
	one, err := s.LexiconChange(ctx, got[1].ID)
	if err != nil || one.ID != got[1].ID || !one.At.Equal(got[1].At) || one.Code != got[1].Code || one.After != got[1].After {
		t.Fatalf("LexiconChange(%d) = %+v, %v; want %+v", got[1].ID, one, err, got[1])
	}
	_, err = s.LexiconChange(ctx, got[0].ID+1000)
	wantNotFound(t, "an unknown lexicon change", err)
}
