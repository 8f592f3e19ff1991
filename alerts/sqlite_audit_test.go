package alerts

import (
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
)

func TestSplitLegacyAuditNote(t *testing.T) {
	cases := []struct {
		note, to                 string
		text, reason, into, unit string
	}{
		{"已核实 (reason: 重复)", StateDismissed, "已核实", "重复", "", ""},
		{"(reason: 演练)", StateDismissed, "", "演练", "", ""},
		{"(unit: 鼓楼消防站)", StateDispatched, "", "", "", "鼓楼消防站"},
		{"见现场照片 (into 01ABC)", StateMerged, "见现场照片", "", "01ABC", ""},
		{"先派 (reason: 误报(演练)) (unit: 一中队)", StateDispatched, "先派", "误报(演练)", "", "一中队"},
		{"(reason: 重复) (into 01XYZ)", StateMerged, "", "重复", "01XYZ", ""},
		// Only a dispatch had a unit: a confirmation's note is the analyst's.
		{"请联系 (unit: 一中队)", StateConfirmed, "请联系 (unit: 一中队)", "", "", ""},
		{"属实", StateConfirmed, "属实", "", "", ""},
		{"", StateClosed, "", "", "", ""},
		{"电话(12345)", StateHandled, "电话(12345)", "", "", ""},
	}
	for _, c := range cases {
		text, reason, into, unit := splitLegacyAuditNote(c.note, c.to)
		if text != c.text || reason != c.reason || into != c.into || unit != c.unit {
			t.Errorf("split(%q, %s) = %q, %q, %q, %q; want %q, %q, %q, %q", c.note, c.to, text, reason, into, unit, c.text, c.reason, c.into, c.unit)
		}
	}
}

// TestAuditFieldsMigrateOldRows builds a database with the schema before
// the audit columns, writes audit rows the way the old Transition did (the
// English suffixes in the note), opens it with the store and reads them
// back split into note, reason, unit and merge target.
func TestAuditFieldsMigrateOldRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskmine.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	old := slices.Index(migrations, auditFieldsMigration)
	if old < 1 {
		t.Fatalf("the audit migration is not in the list (%d)", old)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE alerts_schema (version INTEGER NOT NULL)`)
	exec(`INSERT INTO alerts_schema(version) VALUES (?)`, old)
	for _, m := range migrations[:old] {
		exec(m)
	}
	exec(`INSERT INTO alerts_lead(id, title, summary, level, level_rank, score, top_category, county, categories, locations, terms,
		simhash, first_seen, last_seen, source_count, state, created_at, updated_at)
		VALUES ('L1', '仓库起火', '', 'high', 3, 7, 'fire', '350105', '[]', '[]', '[]', 1, 1, 1, 1, 'merged', 1, 1)`)
	rows := []struct{ from, to, note string }{
		{"new", "confirmed", "属实"},
		{"confirmed", "dispatched", "先派 (reason: 误报(演练)) (unit: 一中队)"},
		{"dispatched", "dismissed", "(reason: 演练)"},
		{"dismissed", "new", "复核后重开"},
		{"new", "merged", "(into 01HZZZ)"},
	}
	for i, r := range rows {
		exec(`INSERT INTO alerts_audit(lead_id, at, actor, action, from_state, to_state, note) VALUES ('L1', ?, 'li', 'transition', ?, ?, ?)`,
			int64(1000+i), r.from, r.to, r.note)
	}
	exec(`INSERT INTO alerts_audit(lead_id, at, actor, action, from_state, to_state, note) VALUES ('L1', 2000, 'li', 'note', '', '', '见照片 (unit: 不是派遣)')`)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Audit(t.Context(), "L1")
	if err != nil {
		t.Fatal(err)
	}
	want := []AuditEntry{
		{Note: "属实"},
		{Note: "先派", Reason: "误报(演练)", Unit: "一中队"},
		{Reason: "演练"},
		{Note: "复核后重开"},
		{MergeInto: "01HZZZ"},
		{Note: "见照片 (unit: 不是派遣)"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d audit entries after the migration, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Note != w.Note || g.Reason != w.Reason || g.Unit != w.Unit || g.MergeInto != w.MergeInto {
			t.Errorf("entry %d: note %q reason %q unit %q into %q; want %q %q %q %q", i, g.Note, g.Reason, g.Unit, g.MergeInto, w.Note, w.Reason, w.Unit, w.MergeInto)
		}
	}
	var v int
	if err := s.r.QueryRow(`SELECT version FROM alerts_schema`).Scan(&v); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d (%v), want %d", v, err, len(migrations))
	}
}

// TestTransitionStoresAuditFields: a new transition keeps the note as typed
// and its reason, unit and merge target in their own fields.
func TestTransitionStoresAuditFields(t *testing.T) {
	clock := newClock()
	s, _ := openTestStore(t, Options{Now: clock.Now})
	ctx := t.Context()
	a := mustFile(t, s, post("https://a.test/1", "fire", "350105001", 7, "仓库")).LeadID
	b := mustFile(t, s, post("https://b.test/2", "fire", "350104001", 0xffff0000, "工厂")).LeadID
	if _, err := s.Transition(ctx, a, TransitionRequest{To: StateConfirmed, Actor: "li"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, a, TransitionRequest{To: StateDispatched, Actor: "li", Note: "速去", Unit: "一中队"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, b, TransitionRequest{To: StateMerged, Actor: "li", Note: "同一起", Reason: "重复线索", MergeInto: a}); err != nil {
		t.Fatal(err)
	}
	ea, err := s.Audit(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	d := ea[len(ea)-2] // the dispatch; the merge adds merged_from after it
	if d.To != StateDispatched || d.Note != "速去" || d.Unit != "一中队" || d.Reason != "" || d.MergeInto != "" {
		t.Fatalf("dispatch entry %+v", d)
	}
	if m := ea[len(ea)-1]; m.Action != "merged_from" || m.Note != b {
		t.Fatalf("merged_from entry %+v", m)
	}
	eb, err := s.Audit(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	m := eb[len(eb)-1]
	if m.To != StateMerged || m.Note != "同一起" || m.Reason != "重复线索" || m.MergeInto != a || m.Unit != "" {
		t.Fatalf("merge entry %+v", m)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM alerts_audit WHERE note LIKE '%(reason:%' OR note LIKE '%(unit:%' OR note LIKE '%(into %'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d notes still carry English suffixes (%v)", n, err)
	}
}
