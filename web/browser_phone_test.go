package web

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPhoneLayout opens every page at 390×844 (a phone) as an
// admin: none may scroll sideways, and a lead's actions are on its first
// screen.
func TestBrowserPhoneLayout(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{AdminToken: adminToken, Profiling: false})
	_, fire := w.seed(t)
	do(t, tab, "phone viewport", chromedp.EmulateViewport(390, 844))
	browserLogin(t, tab, w.http.URL, "admin")
	pages := []string{"/", "/leads", "/leads/" + fire, "/search?q=" + url.QueryEscape("火灾"), "/places", "/sources",
		"/lexicons", "/webhooks", "/users", "/export", "/read-audit"}
	for _, p := range pages {
		do(t, tab, "open "+p, chromedp.Navigate(w.http.URL+p), chromedp.WaitReady(chromedp.CSS("main")))
		if sw := eval[int](t, tab, `document.documentElement.scrollWidth`); sw > 390 {
			wide := eval[string](t, tab, `(() => { let out = []; for (const el of document.querySelectorAll("main *")) { const r = el.getBoundingClientRect(); if (r.right > 392) out.push(el.tagName + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).split(" ")[0] : "") + " " + Math.round(r.right)); if (out.length > 6) break; } return out.join(", "); })()`)
			t.Errorf("%s is %d px wide at 390 px (widest: %s)", p, sw, wide)
		}
	}
	do(t, tab, "open the lead", chromedp.Navigate(w.http.URL+"/leads/"+fire), chromedp.WaitVisible(chromedp.CSS("#act-confirm")))
	if top := eval[float64](t, tab, `document.querySelector("#lead-actions").getBoundingClientRect().top`); top > 844 {
		t.Errorf("the lead's actions start %0.f px down, below the first screen (844 px)", top)
	}
}
