/* jirakit dashboard: embeds the charts, follows the syncs page, nothing else.
   Plain JS, no build step; every chart's numbers are also in its table, so the pages
   are readable without it. */
(function () {
  "use strict";

  /* On a narrow screen: legends in two columns, and long category labels shortened. */
  function fitNarrow(spec, width) {
    if (!width || width >= 520) { return spec; }
    spec.config = spec.config || {};
    spec.config.legend = Object.assign({}, spec.config.legend, { columns: 2, labelLimit: Math.floor(width / 2) - 40 });
    var y = spec.encoding && spec.encoding.y;
    if (y && y.type === "nominal" && y.axis) {
      y.axis = Object.assign({}, y.axis, { labelLimit: Math.floor(width * 0.4) });
    }
    return spec;
  }

  function embedCharts(root) {
    var nodes = (root || document).querySelectorAll("[data-spec]");
    if (!nodes.length) { return; }
    if (typeof window.vegaEmbed !== "function") {
      nodes.forEach(function (el) {
        el.setAttribute("data-rendered", "error");
        el.textContent = "The charts need JavaScript; the table views have the same numbers.";
      });
      return;
    }
    nodes.forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-spec"));
      var spec = fitNarrow(JSON.parse(source.textContent), el.clientWidth);
      window.vegaEmbed(el, spec, {
        renderer: "svg",
        actions: false,
        ast: true,             // Vega's expression interpreter: no eval, strict CSP
        defaultStyle: false,   // no injected <style>: app.css has what is needed
        tooltip: { disableDefaultStyle: true }
      }).then(function () {
        el.setAttribute("data-rendered", "true");
      }).catch(function (error) {
        el.setAttribute("data-rendered", "error");
        el.textContent = "This chart could not be drawn (" + error.message + "); its table view has the same numbers.";
      });
    });
  }

  /* The syncs page: fetch the activity fragment again and again, sooner while a sync
     runs; skip while the tab is hidden; replace the fragment only when it changed, and
     tell screen readers when the status line changes. */
  function followSyncs() {
    var box = document.querySelector("[data-poll]");
    if (!box) { return; }
    var url = box.getAttribute("data-poll");
    var status = document.getElementById("sync-status");
    var lastStatus = null;

    function announce() {
      var root = box.querySelector("[data-status]");
      var text = root ? root.getAttribute("data-status") : "";
      if (status && lastStatus !== null && text !== lastStatus) { status.textContent = text; }
      lastStatus = text;
    }

    function next() {
      var root = box.querySelector("[data-next-poll]");
      var ms = root ? parseInt(root.getAttribute("data-next-poll"), 10) : 0;
      window.setTimeout(tick, ms > 0 ? ms : parseInt(box.getAttribute("data-interval"), 10) || 5000);
    }

    function tick() {
      if (document.hidden) { next(); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.status === 401) { window.location.reload(); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== box.innerHTML.trim() && html.trim() !== box.innerHTML.trim()) {
            var open = {};
            box.querySelectorAll("tr[data-run] details[open]").forEach(function (d) {
              open[d.closest("tr").getAttribute("data-run")] = true;
            });
            box.innerHTML = html;
            box.querySelectorAll("tr[data-run]").forEach(function (tr) {
              if (open[tr.getAttribute("data-run")]) { var d = tr.querySelector("details"); if (d) { d.open = true; } }
            });
            embedCharts(box);
            box.setAttribute("data-updated", String(Date.now()));
            announce();
          }
        })
        .catch(function () { /* the dashboard restarted or the network blinked: try again */ })
        .then(next);
    }

    announce();
    next();
  }

  /* A page that could not be shown (a sync holds the warehouse) tries again by itself. */
  function retryLater() {
    var seconds = parseInt(document.body.getAttribute("data-retry-after") || "", 10);
    if (seconds > 0) { window.setTimeout(function () { window.location.reload(); }, seconds * 1000); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    embedCharts(document);
    followSyncs();
    retryLater();
  });
})();
