package pipeline

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"riskmine/alerts"
	"riskmine/index"
	"riskmine/nlp"
	"riskmine/web"
)

// TestRefusalIsWhatTheAnalystCanFix: the reason stored on a refused rule
// drops the packages' prefixes and keeps what the bounds said.
func TestRefusalIsWhatTheAnalystCanFix(t *testing.T) {
	err := fmt.Errorf("index: search %q: %w: 燃* matches more than 1024 words; write more of the word", "燃*", index.ErrBadQuery)
	if got, want := refusal(err), `search "燃*": bad query: 燃* matches more than 1024 words; write more of the word`; got != want {
		t.Errorf("refusal %q, want %q", got, want)
	}
}

// TestAlertRuleFilesWhatItFinds runs a rule made from a saved search over
// real stores (web's store and the lead store in one SQLite file, a Bleve
// index): the post it finds below the lead level becomes a lead at the
// lead level with an evidence item naming the rule, a post it does not
// find files nothing, and a second run files nothing new.
func TestAlertRuleFilesWhatItFinds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "riskmine.db")
	ws, err := web.OpenStore(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	leads, err := alerts.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { leads.Close() })
	ix, err := index.Open(index.Options{Path: filepath.Join(dir, "index"), FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	an, err := nlp.NewAnalyzer(nlp.Options{LexiconOnly: true})
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	for _, d := range []index.Doc{
		{ID: "https://bbs.test/t/1", URL: "https://bbs.test/t/1", CanonicalURL: "https://bbs.test/t/1", Source: "bbs", Site: "bbs.test",
			Title: "小区井盖松动", Body: "小区门口的井盖松动，踩上去会晃。", Level: "low", Score: 1, PublishedAt: now.Add(-time.Hour), FetchedAt: now.Add(-time.Hour)},
		{ID: "https://bbs.test/t/2", URL: "https://bbs.test/t/2", CanonicalURL: "https://bbs.test/t/2", Source: "bbs", Site: "bbs.test",
			Title: "周末菜价", Body: "周末菜市场的青菜便宜了。", Level: "none", PublishedAt: now.Add(-time.Hour), FetchedAt: now.Add(-time.Hour)},
	} {
		if err := ix.Add(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.AddUser(ctx, "ana", "a-long-enough-password-1", web.RoleAnalyst); err != nil {
		t.Fatal(err)
	}
	ss, err := ws.SaveSearch(ctx, "ana", "manholes", "q="+url.QueryEscape("井盖"))
	if err != nil {
		t.Fatal(err)
	}
	rule, err := ws.CreateAlertRule(ctx, ss.ID, "low", time.Hour, "ana")
	if err != nil {
		t.Fatal(err)
	}

	run := &AlertRules{Rules: ws, Index: ix, Analyzer: an, Leads: leads, LeadLevel: "medium", Location: time.UTC}
	n, err := run.RunRule(ctx, *rule, now)
	if err != nil || n != 1 {
		t.Fatalf("first run: %d filed, %v; want 1", n, err)
	}
	got, total, err := leads.ListLeads(ctx, alerts.LeadFilter{})
	if err != nil || total != 1 {
		t.Fatalf("leads: %d, %v; want 1", total, err)
	}
	l, err := leads.GetLead(ctx, got[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Level != "medium" {
		t.Errorf("level %q, want the lead level medium", l.Level)
	}
	if len(l.Sources) != 1 || l.Sources[0].CanonicalURL != "https://bbs.test/t/1" {
		t.Fatalf("sources %+v, want the manhole post alone", l.Sources)
	}
	named := false
	for _, e := range l.Sources[0].Evidence {
		if e.Rule == "alert_rule/manholes" {
			named = true
		}
	}
	if !named {
		t.Errorf("evidence %+v names no alert_rule/manholes", l.Sources[0].Evidence)
	}
	if n, err := run.RunRule(ctx, *rule, now.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("second run: %d filed, %v; want 0", n, err)
	}
}
