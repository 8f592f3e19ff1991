package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"riskmine/alerts"
)

// beepHook wraps WebAudio in the page so every oscillator started from
// then on is recorded in window.__beeps (its frequency and where it is
// connected), and the tone is still played as before. The queue's script
// makes its AudioContext only when the sound is switched on or a tone is
// due, so patching the prototype after the page loaded sees every call.
const beepHook = `window.__beeps = [];
(function () {
  var AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) { return false; }
  var create = AC.prototype.createOscillator;
  AC.prototype.createOscillator = function () {
    var osc = create.call(this);
    var start = osc.start, connect = osc.connect, to = [];
    osc.connect = function (node) { to.push(node && node.constructor ? node.constructor.name : String(node)); return connect.apply(this, arguments); };
    osc.start = function () { window.__beeps.push({ frequency: osc.frequency.value, connected: to.join(",") }); return start.apply(this, arguments); };
    return osc;
  };
  return true;
})();`

// TestBrowserNewLeadSound opens the queue with the WebAudio calls
// observed: a new lead with the sound off counts but plays nothing; with
// the sound switched on a new lead plays one tone; switched off again,
// none.
func TestBrowserNewLeadSound(t *testing.T) {
	tab := browserTab(t)
	w := newWorld(t, Options{})
	w.seed(t)
	browserLogin(t, tab, w.http.URL, "viv")
	do(t, tab, "open the queue", chromedp.Navigate(w.http.URL+"/leads"), chromedp.WaitVisible(chromedp.CSS("#sound-toggle")))
	if hooked := eval[bool](t, tab, beepHook); !hooked {
		t.Fatal("the WebAudio hook is not in the page (no AudioContext?)")
	}
	// The stream is open once the page has loaded; give it a moment to
	// subscribe before filing.
	time.Sleep(300 * time.Millisecond)
	n := 0
	file := func() {
		t.Helper()
		n++
		if _, err := w.leads.File(context.Background(), alerts.Candidate{URL: fmt.Sprintf("https://new.test/%d", n), Site: "example.test", Title: fmt.Sprintf("新的火情 %d", n),
			Snippet: "仓库起火", Level: "high", Score: 7, Categories: []alerts.CategoryScore{{Code: "explosion", Score: 7}},
			SimHash: uint64(0x0123456789ABCDEF) ^ (uint64(0xffff) << (16 * n)), SeenAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%d 条新线索", n)
		do(t, tab, "see the count "+want, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector("#new-leads .count").textContent.indexOf(%q) >= 0`, want), chromedp.WithPollingTimeout(20*time.Second)))
		// The tone is started in the same event handler that updates the
		// count, so it is recorded by now.
	}
	beeps := func() string { return eval[string](t, tab, `JSON.stringify(window.__beeps)`) }

	file()
	if b := beeps(); b != "[]" {
		t.Fatalf("a new lead with the sound off played %s", b)
	}
	do(t, tab, "turn the sound on", chromedp.Click(chromedp.CSS("#new-lead-sound")))
	file()
	b := beeps()
	if strings.Count(b, "frequency") != 1 || !strings.Contains(b, `"frequency":880`) || !strings.Contains(b, `"connected":"GainNode"`) {
		t.Fatalf("a new lead with the sound on played %s, want one 880 Hz tone through a gain node", b)
	}
	do(t, tab, "turn the sound off", chromedp.Click(chromedp.CSS("#new-lead-sound")))
	file()
	if b := beeps(); strings.Count(b, "frequency") != 1 {
		t.Fatalf("after turning the sound off a new lead played: %s", b)
	}
}
