package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"riskmine/alerts"
)

// TestLeadPageShowsBurst: a burst lead's page names its series, the
// window, the posts seen against the expected count, and lists the posts.
func TestLeadPageShowsBurst(t *testing.T) {
	w := newWorld(t, Options{})
	ctx := context.Background()
	now := time.Now()
	for i := range 4 {
		at := now.Add(-time.Duration(i+1) * 20 * time.Minute)
		if err := w.leads.RecordBurstPost(ctx, alerts.BurstPost{URL: fmt.Sprintf("https://bbs.test/t/%d", i), Title: fmt.Sprintf("仓山区接到诈骗电话 %d", i),
			At: at, SeenAt: at, Level: "low", Categories: []string{"fraud"}, Counties: []string{"350104"}, CountyNames: []string{"福建省/福州市/仓山区"}}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := w.leads.FileBurst(ctx, alerts.BurstFiling{Info: alerts.BurstInfo{Category: "fraud", County: "350104", CountyName: "福建省/福州市/仓山区",
		From: now.Add(-6 * time.Hour), To: now, Seen: 4, Expected: 0.25, Threshold: 4, Tail: 1e-4}, Level: "medium", New: true})
	if err != nil || res.Outcome != alerts.OutcomeCreated {
		t.Fatalf("file burst: %+v %v", res, err)
	}
	c := w.login("ana")
	resp := c.get("/leads/" + res.LeadID)
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{`id="lead-burst"`, "帖文突增", "福建省/福州市/仓山区", `id="burst-seen">4<`, `id="burst-expected">0.25<`, "来源帖文（4）", "仓山区接到诈骗电话 3"} {
		if !strings.Contains(body, want) {
			t.Errorf("burst lead page lacks %q", want)
		}
	}
	c.lang = "en"
	if body := c.getBody("/leads/" + res.LeadID); !strings.Contains(body, "Burst of posts") || !strings.Contains(body, "Posts in the window") {
		t.Error("the English page lacks the burst panel")
	}
}
