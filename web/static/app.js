// riskmine UI: a little plain JavaScript. Every page works without it
// except the live progress of "run now", which falls back to a reload.
(function () {
  "use strict";
  var csrf = document.body ? document.body.getAttribute("data-csrf") : "";

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
