package web

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"riskmine/alerts"
)

// One headless Chromium serves every browser test of this binary; each test
// opens its own tab. TestMain closes it.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

// chromiumPath finds the system Chromium (CI installs it with apt).
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func closeBrowser() {
	if browser.cancel != nil {
		browser.cancel()
	}
}

// browserTab returns a new tab. Without Chromium the test is skipped,
// unless RISKMINE_REQUIRE_BROWSER is set (CI), where it fails. When the test
// fails, a screenshot of the tab is saved and its path printed.
func browserTab(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("RISKMINE_REQUIRE_BROWSER") != "" {
			t.Fatal("chromium not found and RISKMINE_REQUIRE_BROWSER is set")
		}
		t.Skip("chromium not found; install it (apt-get install chromium) to run the browser tests")
	}
	browser.once.Do(func() {
		dir, err := os.MkdirTemp("", "riskmine-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 900),
		)
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil {
			browser.err = err
		}
		browser.ctx = bctx
		browser.cancel = func() { bcancel(); acancel(); os.RemoveAll(dir) }
	})
	if browser.err != nil {
		t.Fatalf("start chromium: %v", browser.err)
	}
	tab, cancel := chromedp.NewContext(browser.ctx)
	// The first call on a context opens the tab and ties the tab's life to
	// the context it is given: open it here with the tab's own context, so
	// the time limits of later steps do not close it.
	if err := chromedp.Do(tab); err != nil {
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			saveScreenshot(t, tab)
		}
		cancel()
	})
	return tab
}

// saveScreenshot keeps what the tab showed when the test failed, in
// $RISKMINE_SCREENSHOT_DIR or a new temporary folder.
func saveScreenshot(t *testing.T, tab context.Context) {
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	dir := os.Getenv("RISKMINE_SCREENSHOT_DIR")
	if dir == "" {
		if dir, err = os.MkdirTemp("", "riskmine-browser-failure-"); err != nil {
			t.Logf("no screenshot: %v", err)
			return
		}
	}
	os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	t.Logf("screenshot of the failed browser test: %s", p)
}

// do runs steps with a time limit, failing the test with the step's error.
func do(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func eval[T any](t *testing.T, tab context.Context, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// browserLogin logs in through the form and waits for the dashboard.
func browserLogin(t *testing.T, tab context.Context, base, user string) {
	t.Helper()
	do(t, tab, "log in",
		// The UI language follows the browser unless chosen; choose Chinese.
		chromedp.Navigate(base+"/lang?l=zh-CN&next=/login"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#dash-figures")),
	)
}

func TestBrowserLoginAndSearchHighlight(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{})
	w.seed(t)
	browserLogin(t, tab, w.http.URL, "ana")
	if got := text(t, tab, "#fig-open"); got != "2" {
		t.Errorf("open leads on the dashboard: %q", got)
	}
	do(t, tab, "search",
		chromedp.Navigate(w.http.URL+"/search"),
		chromedp.WaitVisible(chromedp.CSS("#q")),
		chromedp.SendKeys(chromedp.CSS("#q"), "火灾"),
		chromedp.Click(chromedp.CSS("#search-submit")),
		chromedp.WaitVisible(chromedp.CSS(".hit mark")),
	)
	if m := text(t, tab, ".hit mark"); !strings.Contains(m, "火") {
		t.Errorf("highlight %q", m)
	}
	if !strings.Contains(text(t, tab, "#search-total"), "1") {
		t.Errorf("total %q", text(t, tab, "#search-total"))
	}
}

func TestBrowserTriageLeadToClosed(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{})
	_, fire := w.seed(t)
	browserLogin(t, tab, w.http.URL, "ana")
	state := func(s string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(chromedp.CSS(`#lead-state[data-state="` + s + `"]`))
	}
	do(t, tab, "open the lead", chromedp.Navigate(w.http.URL+"/leads/"+fire), state("new"))
	do(t, tab, "confirm", chromedp.Click(chromedp.CSS("#act-confirm")), state("confirmed"))
	do(t, tab, "dispatch",
		chromedp.SendKeys(chromedp.CSS(`.act-dispatch input[name="unit"]`), "马尾消防救援站"),
		chromedp.Click(chromedp.CSS("#act-dispatch")), state("dispatched"))
	do(t, tab, "handled",
		chromedp.SendKeys(chromedp.CSS(`.act-handled input[name="reason"]`), "明火已扑灭"),
		chromedp.Click(chromedp.CSS("#act-handled")), state("handled"))
	do(t, tab, "verify", chromedp.Click(chromedp.CSS("#act-verify")), state("verified"))
	do(t, tab, "close", chromedp.Click(chromedp.CSS("#act-close")), state("closed"))
	if n := eval[int](t, tab, `document.querySelectorAll("#timeline li").length`); n < 6 {
		t.Errorf("timeline has %d entries after five moves", n)
	}
}

func TestBrowserRunSourceNow(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{})
	browserLogin(t, tab, w.http.URL, "ana")
	do(t, tab, "run now",
		chromedp.Navigate(w.http.URL+"/sources"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-source="forum"] button.run-now`)),
		chromedp.Click(chromedp.CSS(`tr[data-source="forum"] button.run-now`)),
	)
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('tr[data-source="forum"]').getAttribute("data-run-done") === "true"`,
		chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("run did not finish in the page: %v", err)
	}
	if s := text(t, tab, `tr[data-source="forum"] .run-status`); !strings.Contains(s, "新增 2") {
		t.Errorf("status after the run: %q", s)
	}
}

func TestBrowserHostilePostDoesNotExecute(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{})
	hostile, _ := w.seed(t)
	pii := w.seedPII(t)
	browserLogin(t, tab, w.http.URL, "viv")
	pages := []struct{ path, ready string }{
		{"/leads/" + hostile, "#lead-title"},
		{"/leads", "#lead-table"},
		{"/search?q=" + url.QueryEscape("燃气"), ".hit"},
		{"/", "#dash-figures"},
		{"/leads/" + pii, "#lead-title"},
		{"/search?q=" + url.QueryEscape("诈骗"), ".hit"},
	}
	for _, p := range pages {
		do(t, tab, "open "+p.path, chromedp.Navigate(w.http.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		if pwned := eval[bool](t, tab, `window.__pwned !== undefined`); pwned {
			t.Fatalf("%s: the hostile post's script ran", p.path)
		}
		// A viewer's DOM holds the fraud post's numbers masked only.
		if leak := eval[bool](t, tab, `["`+piiPhone+`", "`+piiCard+`", "`+piiQQ+`"].some(n => document.documentElement.outerHTML.includes(n))`); leak {
			t.Errorf("%s: personal data in the viewer's DOM", p.path)
		}
		if n := eval[int](t, tab, `document.querySelectorAll("main script, main img[src=x]").length`); n != 0 {
			t.Errorf("%s: %d hostile elements in the DOM", p.path, n)
		}
	}
	do(t, tab, "open the lead", chromedp.Navigate(w.http.URL+"/leads/"+hostile), chromedp.WaitVisible(chromedp.CSS("#lead-title")))
	if title := text(t, tab, "#lead-title"); !strings.Contains(title, "<script>") {
		t.Errorf("the hostile title is not shown as text: %q", title)
	}
	do(t, tab, "open the fraud lead", chromedp.Navigate(w.http.URL+"/leads/"+pii), chromedp.WaitVisible(chromedp.CSS("#lead-title")))
	if title := text(t, tab, "#lead-title"); !strings.Contains(title, piiPhoneMsk) {
		t.Errorf("the viewer does not see the masked number in the title: %q", title)
	}
}

func TestBrowserConflictMessage(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{})
	_, fire := w.seed(t)
	browserLogin(t, tab, w.http.URL, "ana")
	do(t, tab, "open the lead", chromedp.Navigate(w.http.URL+"/leads/"+fire), chromedp.WaitVisible(chromedp.CSS("#act-confirm")))
	// Someone else acts while the page is open.
	if _, err := w.leads.Assign(context.Background(), fire, alerts.AssignRequest{Actor: "other", Assignee: "other"}); err != nil {
		t.Fatal(err)
	}
	do(t, tab, "confirm with the old version", chromedp.Click(chromedp.CSS("#act-confirm")), chromedp.WaitVisible(chromedp.CSS("p.error")))
	if msg := text(t, tab, "p.error"); !strings.Contains(msg, "已被他人修改") {
		t.Errorf("conflict message %q", msg)
	}
	if st := eval[string](t, tab, `document.querySelector("#lead-state").dataset.state`); st != "new" {
		t.Errorf("state after the refused action: %s", st)
	}
}

// TestBrowserBulkAndRedirects confirms leads from the queue (the checkboxes
// carry each lead's version) and follows the audit's redirect payloads in a
// real browser: it must stay on the site.
func TestBrowserBulkAndRedirects(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{})
	w.seed(t)
	browserLogin(t, tab, w.http.URL, "ana")
	do(t, tab, "bulk confirm",
		chromedp.Navigate(w.http.URL+"/leads"),
		chromedp.WaitVisible(chromedp.CSS("#select-all")),
		chromedp.Click(chromedp.CSS("#select-all")),
		chromedp.Click(chromedp.CSS("#bulk button[type=submit]")),
		// The old page has the table too: wait for the answer's notice.
		chromedp.WaitVisible(chromedp.CSS("p.flash")),
	)
	leads, _, err := w.leads.ListLeads(context.Background(), alerts.LeadFilter{States: []string{"confirmed"}})
	if err != nil || len(leads) != 2 {
		t.Fatalf("%d leads confirmed from the queue (%v), want 2", len(leads), err)
	}
	for _, p := range []string{"/%09/evil.example/x", "//evil.example/x", "/%5Cevil.example/x", "/\\evil.example/x"} {
		do(t, tab, "redirect "+p, chromedp.Navigate(w.http.URL+"/lang?l=en&next="+url.QueryEscape(p)), chromedp.WaitReady(chromedp.CSS("body")))
		if loc := eval[string](t, tab, "location.origin"); loc != w.http.URL {
			t.Errorf("next=%q took the browser to %s", p, loc)
		}
	}
}

// TestBrowserQueueShortcuts moves the focus with j, j and confirms the
// second lead with c; ? opens the list of shortcuts; keys typed into a
// field do nothing.
func TestBrowserQueueShortcuts(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{})
	w.seed(t)
	browserLogin(t, tab, w.http.URL, "ana")
	do(t, tab, "open the queue", chromedp.Navigate(w.http.URL+"/leads?sort=level"), chromedp.WaitVisible(chromedp.CSS("#lead-table")))
	// Typing j into the text filter moves nothing.
	do(t, tab, "type in a field", chromedp.SendKeys(chromedp.CSS(`#lead-filters input[name=q]`), "j"))
	if n := eval[int](t, tab, `document.querySelectorAll("tr.kbd-focus").length`); n != 0 {
		t.Fatalf("a key typed into a field moved the focus (%d rows focused)", n)
	}
	eval[bool](t, tab, `document.activeElement.blur(), true`)
	do(t, tab, "press ?", chromedp.KeyEvent("?"))
	if hidden := eval[bool](t, tab, `document.getElementById("kbd-help").hidden`); hidden {
		t.Fatal("? did not show the shortcuts")
	}
	do(t, tab, "press Escape", chromedp.KeyEvent("\u001b"))
	if hidden := eval[bool](t, tab, `document.getElementById("kbd-help").hidden`); !hidden {
		t.Error("Escape did not hide the shortcuts")
	}
	do(t, tab, "press j, j", chromedp.KeyEvent("j"), chromedp.KeyEvent("j"))
	second := eval[string](t, tab, `document.querySelectorAll("#lead-table tbody tr[data-lead]")[1].dataset.lead`)
	if got := eval[string](t, tab, `document.querySelector("tr.kbd-focus").dataset.lead`); got != second {
		t.Fatalf("focus on %s after j, j; want the second row %s", got, second)
	}
	do(t, tab, "press c", chromedp.KeyEvent("c"), chromedp.WaitVisible(chromedp.CSS("p.flash")))
	leads, _, err := w.leads.ListLeads(context.Background(), alerts.LeadFilter{States: []string{"confirmed"}})
	if err != nil || len(leads) != 1 || leads[0].ID != second {
		t.Fatalf("after j, j, c: %d confirmed (%v), want only %s", len(leads), err, second)
	}
	// d asks for the reason first; Enter in the reason field submits.
	first := eval[string](t, tab, `document.querySelectorAll("#lead-table tbody tr[data-lead]")[0].dataset.lead`)
	do(t, tab, "press j, d", chromedp.KeyEvent("j"), chromedp.KeyEvent("d"))
	if got := eval[string](t, tab, `document.activeElement.name + "/" + document.getElementById("bulk-action").value`); got != "reason/dismiss" {
		t.Fatalf("after d: focus and action %q, want reason/dismiss", got)
	}
	// The confirmation's flash is still shown when the reason is sent, so
	// the dismissal is awaited in the store, not on the page.
	do(t, tab, "type the reason", chromedp.SendKeys(chromedp.CSS(`#bulk input[name=reason]`), "演练\r"))
	var l *alerts.Lead
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		l, err = w.leads.GetLead(context.Background(), first)
		if err == nil && l.State == alerts.StateDismissed || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || l.State != alerts.StateDismissed || l.Resolution != "演练" {
		t.Fatalf("after j, d, reason: %+v (%v)", l, err)
	}
}

// TestBrowserNewLeadNotice files a lead while the queue is open: the page
// counts it and offers a reload; the sound toggle is off by default and
// remembered.
func TestBrowserNewLeadNotice(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{})
	w.seed(t)
	browserLogin(t, tab, w.http.URL, "viv")
	do(t, tab, "open the queue", chromedp.Navigate(w.http.URL+"/leads"), chromedp.WaitVisible(chromedp.CSS("#sound-toggle")))
	if on := eval[bool](t, tab, `document.getElementById("new-lead-sound").checked`); on {
		t.Error("the sound is on by default")
	}
	do(t, tab, "turn the sound on", chromedp.Click(chromedp.CSS("#new-lead-sound")))
	if v := eval[string](t, tab, `localStorage.getItem("riskmine.newLeadSound")`); v != "on" {
		t.Errorf("sound choice stored as %q", v)
	}
	// The stream is open once the page has loaded; give it a moment to
	// subscribe before filing (a lead filed earlier is in the list anyway).
	time.Sleep(300 * time.Millisecond)
	if _, err := w.leads.File(context.Background(), alerts.Candidate{URL: "https://new.test/1", Site: "example.test", Title: "新的火情",
		Snippet: "仓库起火", Level: "high", Score: 7, Categories: []alerts.CategoryScore{{Code: "explosion", Score: 7}},
		SimHash: 0x0123456789ABCDEF, SeenAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	do(t, tab, "see the notice", chromedp.WaitVisible(chromedp.CSS("#new-leads")))
	if msg := text(t, tab, "#new-leads"); !strings.Contains(msg, "1 条新线索") || !strings.Contains(msg, "刷新列表") {
		t.Errorf("notice %q", msg)
	}
	do(t, tab, "reload", chromedp.Click(chromedp.CSS("#new-leads a")), chromedp.WaitVisible(chromedp.CSS("#sound-toggle")))
	if on := eval[bool](t, tab, `document.getElementById("new-lead-sound").checked`); !on {
		t.Error("the sound choice was not remembered")
	}
	if n := eval[int](t, tab, `document.querySelectorAll("#lead-table tbody tr[data-lead]").length`); n != 3 {
		t.Errorf("%d leads after the reload, want 3", n)
	}
}
