package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"riskmine/nlp"
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

// phoneFits fails the test when the page scrolls sideways at 390 px, naming
// the widest elements.
func phoneFits(t *testing.T, tab context.Context, what string) {
	t.Helper()
	if sw := eval[int](t, tab, `document.documentElement.scrollWidth`); sw > 390 {
		wide := eval[string](t, tab, `(() => { let out = []; for (const el of document.querySelectorAll("main *")) { const r = el.getBoundingClientRect(); if (r.right > 392) out.push(el.tagName + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).split(" ")[0] : "") + " " + Math.round(r.right)); if (out.length > 6) break; } return out.join(", "); })()`)
		t.Errorf("%s is %d px wide at 390 px (widest: %s)", what, sw, wide)
	}
}

// reachable fails the test unless every element sel matches is shown
// whole within the phone's width (it can be scrolled to, never beside).
func reachable(t *testing.T, tab context.Context, what, sel string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const els = [...document.querySelectorAll(%q)]; if (!els.length) return "none"; for (const el of els) { const r = el.getBoundingClientRect(); if (r.width < 1 || r.height < 1) return "hidden: " + el.outerHTML.slice(0, 80); if (r.left < 0 || r.right > 390) return "off the side: " + el.outerHTML.slice(0, 80) + " " + Math.round(r.left) + "–" + Math.round(r.right); } return ""; })()`, sel)
	if got := eval[string](t, tab, js); got != "" {
		t.Errorf("%s (%s): %s", what, sel, got)
	}
}

// TestBrowserPhoneSourceTester runs the selector tester from a UI source's
// row at 390×844: the sources page and the result fit the width, and every
// button (save, test, pause, delete, add, test again) is reachable.
func TestBrowserPhoneSourceTester(t *testing.T) {
	tab := browserTab(t)
	e, site := testerEnv(t)
	yaml := testerYAML(site, "a.thread")
	if r := e.login("admin").postForm("/sources/manage", url.Values{"yaml": {yaml}}, true); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add the source: %d %s", r.StatusCode, readAll(t, r))
	}
	do(t, tab, "phone viewport", chromedp.EmulateViewport(390, 844))
	phoneLogin(t, tab, e.http.URL)
	do(t, tab, "open the sources", chromedp.Navigate(e.http.URL+"/sources/manage"), chromedp.WaitVisible(chromedp.CSS(`tr[data-source="board"]`)))
	phoneFits(t, tab, "/sources/manage")
	reachable(t, tab, "the source's actions", `tr[data-source="board"] button`)
	reachable(t, tab, "the add and test buttons", `#source-add button, #source-test-form button`)
	do(t, tab, "test from the row", chromedp.Click(chromedp.CSS(`tr[data-source="board"] button[formaction]`)),
		chromedp.WaitVisible(chromedp.CSS(`#source-test-items`)))
	if got := text(t, tab, "#source-test-items"); !strings.Contains(got, "小区燃气泄漏") {
		t.Fatalf("the tester found: %q", got)
	}
	phoneFits(t, tab, "the tester's result")
	reachable(t, tab, "the tester's form", `#source-test-form button, #source-test-form textarea, #source-test-form input[type=url]`)
	// A detail page with its extracted text, too.
	do(t, tab, "test a detail page",
		chromedp.SetValue(chromedp.CSS(`#source-test-form input[name=url]`), site.URL+"/t/1"),
		chromedp.Click(chromedp.CSS(`#source-test-form button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`#source-test-page`)))
	phoneFits(t, tab, "the tester's detail result")
	reachable(t, tab, "the detail table", `#source-test-page`)
}

// TestBrowserPhoneLexiconEditor opens the lexicon editor at 390×844: it
// fits the width, the text box and the save button are reachable, a refusal
// shows without scrolling sideways, and a saved edit offers the restore.
func TestBrowserPhoneLexiconEditor(t *testing.T) {
	tab := browserTab(t)
	e, _, _ := lexiconEnv(t)
	do(t, tab, "phone viewport", chromedp.EmulateViewport(390, 844))
	phoneLogin(t, tab, e.http.URL)
	do(t, tab, "open the editor", chromedp.Navigate(e.http.URL+"/lexicons/edit/fire"), chromedp.WaitVisible(chromedp.CSS(`#lexicon-edit textarea`)))
	phoneFits(t, tab, "/lexicons/edit/fire")
	reachable(t, tab, "the editor", `#lexicon-edit textarea, #lexicon-edit button`)
	emb, _ := nlp.EmbeddedLexicon("fire")
	broken := strings.Replace(string(emb), "{term: 失火, weight: 3}", "{term: 失火, weight: -3}", 1)
	do(t, tab, "save a broken edit", chromedp.SetValue(chromedp.CSS(`#lexicon-edit textarea`), broken),
		chromedp.Click(chromedp.CSS(`#lexicon-edit button`)), chromedp.WaitVisible(chromedp.CSS(`#lexicon-refusal`)))
	phoneFits(t, tab, "the refusal")
	reachable(t, tab, "the refusal and the editor", `#lexicon-refusal, #lexicon-edit button`)
	gutted := "code: fire\nname: 火灾\nterms:\n  - {term: 烤焦味弥漫, weight: 3}\n"
	do(t, tab, "save an edit failing the cases", chromedp.SetValue(chromedp.CSS(`#lexicon-edit textarea`), gutted),
		chromedp.Click(chromedp.CSS(`#lexicon-edit button`)), chromedp.WaitVisible(chromedp.CSS(`#lexicon-failures`)))
	phoneFits(t, tab, "the failed cases")
	good := strings.Replace(string(emb), "terms:\n", "terms:\n  - {term: 烤焦味弥漫, weight: 3}\n", 1)
	do(t, tab, "save a good edit", chromedp.SetValue(chromedp.CSS(`#lexicon-edit textarea`), good),
		chromedp.Click(chromedp.CSS(`#lexicon-edit button`)), chromedp.WaitVisible(chromedp.CSS(`#lexicon-restore`)))
	phoneFits(t, tab, "the edited lexicon")
	reachable(t, tab, "the restore button", `#lexicon-restore button`)
	reachable(t, tab, "the revert buttons", `.lexicon-revert button`)
	// The shared cues and the cases share the page.
	for _, p := range []string{"/lexicons/edit/_common", "/lexicons/edit/fire/cases"} {
		do(t, tab, "open "+p, chromedp.Navigate(e.http.URL+p), chromedp.WaitVisible(chromedp.CSS(`#lexicon-edit textarea`)))
		phoneFits(t, tab, p)
		reachable(t, tab, p, `#lexicon-edit textarea, #lexicon-edit button`)
	}
}

// phoneLogin logs admin in through the form on a server without a lead
// store (no dashboard figures to wait for).
func phoneLogin(t *testing.T, tab context.Context, base string) {
	t.Helper()
	do(t, tab, "log in",
		chromedp.Navigate(base+"/lang?l=zh-CN&next=/login"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "admin"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
	)
}
