// riskmine UI: a little plain JavaScript. Every page works without it
// except the live progress of "run now", which falls back to a reload.
(function () {
  "use strict";
  var csrf = document.body ? document.body.getAttribute("data-csrf") : "";
  // Hints that only make sense with the script (shortcuts) show under .js.
  document.documentElement.classList.add("js");

  // Ask before destructive actions: <form data-confirm="message">.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    var msg = f.getAttribute && f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });

  // Leads queue: the header checkbox selects every row.
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=id][form=bulk]").forEach(function (c) { c.checked = all.checked; });
    });
  }

  // Leads queue: keyboard shortcuts. j/k move a visible focus between the
  // rows, Enter opens the focused lead, x selects it; c, d and a act on the
  // selected leads (or the focused one) through the bulk form: c confirms at
  // once, d and a put the cursor in the reason or assignee field first.
  // ? shows the list. Keys typed into a field are left alone.
  var table = document.getElementById("lead-table");
  var help = document.getElementById("kbd-help");
  if (table) {
    var bulk = document.getElementById("bulk");
    var rows = function () { return Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-lead]")); };
    var focused = -1;
    var focusRow = function (i) {
      var rs = rows();
      if (rs.length === 0) { return; }
      i = Math.max(0, Math.min(rs.length - 1, i));
      rs.forEach(function (r) { r.classList.remove("kbd-focus"); r.removeAttribute("aria-current"); });
      rs[i].classList.add("kbd-focus");
      rs[i].setAttribute("aria-current", "true");
      if (rs[i].scrollIntoView) { rs[i].scrollIntoView({ block: "nearest" }); }
      focused = i;
    };
    var boxOf = function (row) { return row ? row.querySelector("input[name=id][form=bulk]") : null; };
    var typing = function (el) {
      if (!el || !el.tagName) { return false; }
      var tag = el.tagName.toLowerCase();
      return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
    };
    var bulkAct = function (action) {
      if (!bulk) { return; }
      var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name=id][form=bulk]"));
      var any = boxes.some(function (b) { return b.checked; });
      if (!any) {
        var b = boxOf(rows()[focused]);
        if (!b) { return; }
        b.checked = true;
      }
      var sel = document.getElementById("bulk-action");
      if (sel) { sel.value = action; }
      if (action === "confirm") {
        if (bulk.requestSubmit) { bulk.requestSubmit(); } else { bulk.submit(); }
        return;
      }
      var field = bulk.querySelector(action === "dismiss" ? "input[name=reason]" : "select[name=assignee]");
      if (field) {
        if (action === "dismiss") { field.required = true; }
        // Focus when the key is released, so the key's own character
        // does not land in the field.
        pendingFocus = field;
      }
    };
    var pendingFocus = null;
    document.addEventListener("keyup", function () {
      if (pendingFocus) { pendingFocus.focus(); pendingFocus = null; }
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) { return; }
      var rs = rows();
      switch (ev.key) {
      case "j": focusRow(focused + 1); break;
      case "k": focusRow(focused < 0 ? 0 : focused - 1); break;
      case "Enter": {
        // Enter on a focused link or button keeps its own meaning.
        if (ev.target && ev.target.closest && ev.target.closest("a, button")) { return; }
        var link = rs[focused] && rs[focused].querySelector("a.lead-link");
        if (!link) { return; }
        window.location.href = link.href;
        break;
      }
      case "x": {
        var b = boxOf(rs[focused]);
        if (!b) { return; }
        b.checked = !b.checked;
        break;
      }
      case "c": bulkAct("confirm"); break;
      case "d": bulkAct("dismiss"); break;
      case "a": bulkAct("assign"); break;
      case "?": if (help) { help.hidden = !help.hidden; } break;
      case "Escape": if (help) { help.hidden = true; } break;
      default: return;
      }
      ev.preventDefault();
    });
  }

  // Leads queue: new leads arrive as server-sent events; the page counts
  // them and links to a reload. An optional beep (off by default, the
  // choice kept in localStorage) is made with WebAudio, no audio file.
  var notice = document.getElementById("new-leads");
  if (notice && window.EventSource) {
    var soundKey = "riskmine.newLeadSound";
    var toggle = document.getElementById("new-lead-sound");
    var audio = null;
    var soundOn = function () {
      try { return window.localStorage.getItem(soundKey) === "on"; } catch (e) { return false; }
    };
    var audioCtx = function () {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!audio && AC) { audio = new AC(); }
      return audio;
    };
    var beep = function () {
      var ac = audioCtx();
      if (!ac) { return; }
      if (ac.state === "suspended" && ac.resume) { ac.resume(); }
      var osc = ac.createOscillator();
      var gain = ac.createGain();
      osc.type = "sine";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, ac.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, ac.currentTime + 0.2);
      osc.connect(gain);
      gain.connect(ac.destination);
      osc.start();
      osc.stop(ac.currentTime + 0.2);
    };
    if (toggle) {
      toggle.checked = soundOn();
      toggle.parentNode.hidden = false;
      toggle.addEventListener("change", function () {
        try { window.localStorage.setItem(soundKey, toggle.checked ? "on" : "off"); } catch (e) { /* private mode */ }
        // Browsers let a page make sound after a gesture: this click is one.
        if (toggle.checked) { audioCtx(); }
      });
    }
    var fresh = 0;
    var es = new EventSource("/api/v1/events");
    es.addEventListener("lead", function () {
      fresh++;
      var span = notice.querySelector(".count");
      if (span) { span.textContent = (notice.getAttribute("data-msg") || "%d").replace("%d", String(fresh)); }
      notice.hidden = false;
      if (soundOn()) { beep(); }
    });
    window.addEventListener("pagehide", function () { es.close(); });
  }

  // Sources: "run now" starts a run through the API and polls its progress.
  function text(el, s) { if (el) { el.textContent = s; } }
  function poll(name, row) {
    var bar = row.querySelector(".progress > span");
    var status = row.querySelector(".run-status");
    fetch("/api/v1/sources/" + encodeURIComponent(name) + "/progress", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        // The number of pages is not known in advance: the bar creeps
        // forward with every fetch and fills when the run ends.
        var fetched = p.stats ? p.stats.fetched : 0;
        if (bar) { bar.style.width = (p.done ? 100 : Math.min(95, 10 + 3 * fetched)) + "%"; }
        text(status, p.message || "");
        row.setAttribute("data-run-state", p.state || "");
        if (p.done) {
          var btn = row.querySelector("button.run-now");
          if (btn) { btn.disabled = false; }
          row.setAttribute("data-run-done", "true");
          return;
        }
        setTimeout(function () { poll(name, row); }, 700);
      })
      .catch(function () { setTimeout(function () { poll(name, row); }, 1500); });
  }
  document.querySelectorAll("form.run-now").forEach(function (f) {
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var name = f.getAttribute("data-source");
      var row = f.closest("tr") || f;
      var btn = f.querySelector("button");
      if (btn) { btn.disabled = true; }
      row.removeAttribute("data-run-done");
      fetch("/api/v1/sources/" + encodeURIComponent(name) + "/run", {
        method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf }
      }).then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) { throw new Error(b.error || r.statusText); }
          if (b.state === "queued") {
            // An api node of a cluster: a crawler node will run it.
            text(row.querySelector(".run-status"), b.message || b.state);
            if (btn) { btn.disabled = false; }
            return;
          }
          poll(name, row);
        });
      }).catch(function (e) {
        text(row.querySelector(".run-status"), String(e.message || e));
        if (btn) { btn.disabled = false; }
      });
    });
  });
})();

// Place picker: a place filter suggests divisions by name (仓山 →
// 福建省/福州市/仓山区) from /api/v1/places as the user types; the filter
// takes the name path, a short name or a code alike.
(function () {
  document.querySelectorAll("input[data-places]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    var timer = null, last = "";
    input.addEventListener("input", function () {
      var q = input.value.trim();
      if (q === last || q === "" || /^[0-9]+$/.test(q)) { return; }
      last = q;
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch("/api/v1/places?limit=10&q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { places: [] }; })
          .then(function (d) {
            list.textContent = "";
            (d.places || []).forEach(function (p) {
              var o = document.createElement("option");
              o.value = p.path;
              o.label = p.code;
              list.appendChild(o);
            });
          })
          .catch(function () {});
      }, 150);
    });
  });
})();

// Phones: each table cell gets its column's name, shown before it when the
// rows stack (app.css).
(function () {
  document.querySelectorAll("table.grid").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length) { return; }
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        var h = heads[i] && heads[i].textContent.trim();
        if (h && !td.hasAttribute("data-label")) { td.setAttribute("data-label", h); }
      });
    });
  });
})();
