package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserArchivedCopyRunsNothing opens a lead whose archived page has
// scripts, inline handlers and references to an outside server, in the
// sandboxed frame of the lead page and then on its own: no script runs and
// the outside server gets no request either way.
func TestBrowserArchivedCopyRunsNothing(t *testing.T) {
	tab := browserTab(t)
	w := newEvidenceWorld(t, true)
	browserLogin(t, tab, w.http.URL, "ana")

	// Navigate waits for the load event, which waits for the frame.
	do(t, tab, "lead page", chromedp.Navigate(w.http.URL+"/leads/"+w.lead), chromedp.WaitVisible(chromedp.CSS("iframe.archived-frame")))
	if s := eval[string](t, tab, `document.querySelector("iframe.archived-frame").getAttribute("sandbox")`); s != "" {
		t.Errorf("sandbox attribute %q, want empty (nothing allowed)", s)
	}
	loaded := eval[bool](t, tab, `performance.getEntriesByType("resource").some(e => e.name.endsWith(`+"`"+w.copyPath()+"`"+`))`)
	if !loaded {
		t.Fatal("the frame did not load the archived copy")
	}
	if got := eval[string](t, tab, `document.title`); got == "archived" {
		t.Error("the archived page took over the lead page's title")
	}

	// On its own, the copy's CSP still sandboxes it.
	do(t, tab, "archived copy", chromedp.Navigate(w.http.URL+w.copyPath()), chromedp.WaitReady(chromedp.CSS("#marker")))
	if got := eval[string](t, tab, `document.querySelector("#marker").textContent`); got != "化工厂爆炸，联系人电话13812345678" {
		t.Errorf("archived text %q", got)
	}
	if ran := eval[string](t, tab, `String(document.documentElement.getAttribute("data-ran"))`); ran != "null" {
		t.Errorf("a script of the archived page ran (data-ran=%s)", ran)
	}
	// The data: image is allowed and loads; the outside one does not.
	if n := eval[int](t, tab, `[...document.images].filter(i => i.complete && i.naturalWidth > 0).length`); n != 1 {
		t.Errorf("%d images loaded, want only the data: one", n)
	}
	// The load event came after every subresource was tried, so any
	// request the page made has reached the outside server by now.
	if hits := w.outsideHits(); len(hits) != 0 {
		t.Errorf("the archived copy reached the outside server: %v", hits)
	}

	// The control: the same bytes served without the copy's headers do
	// run their script and reach the outside server, so the checks above
	// can fail.
	plain := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		rw.Write(w.body)
	}))
	defer plain.Close()
	do(t, tab, "unprotected copy", chromedp.Navigate(plain.URL), chromedp.WaitReady(chromedp.CSS("#marker")))
	if ran := eval[string](t, tab, `String(document.documentElement.getAttribute("data-ran"))`); ran == "null" {
		t.Error("control: the script did not run without the CSP")
	}
	if len(w.outsideHits()) == 0 {
		t.Error("control: no request reached the outside server without the CSP")
	}
}
