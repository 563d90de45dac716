"""The console's one script, served as `/ui/console.js` under `script-src 'self'`: the
page's auto-refresh. It reads the page again every `data-seconds` of `#refresh`, unless
the operator paused it (kept for the tab, in sessionStorage), is editing a form (nothing
typed is lost), or the tab is hidden; a form's answer (a new client's secret, a refusal)
has no `#refresh` and is never read again. Without the script the page works the same,
only without refreshing itself.

The text lives in a module rather than a file beside the templates so that it travels in
the wheel with the code that serves it.
"""

SCRIPT = r""""use strict";
(function () {
  var box = document.getElementById("refresh");
  if (!box) {
    return;  // a form's answer (a new client's secret, a refusal): never read again
  }
  var seconds = Number(box.getAttribute("data-seconds")) || 10;
  var toggle = document.getElementById("refresh-toggle");
  var state = document.getElementById("refresh-state");
  var PAUSED = "igw-console-paused";
  var editing = false;

  function paused() {
    return sessionStorage.getItem(PAUSED) === "1";
  }

  function show() {
    var off = paused();
    toggle.textContent = off ? "Resume" : "Pause";
    toggle.setAttribute("aria-pressed", off ? "true" : "false");
    state.textContent = off ? "auto-refresh paused"
      : editing ? "auto-refresh waits: a form is being edited"
      : "refreshes every " + seconds + " s";
    box.classList.toggle("paused", off || editing);
  }

  toggle.addEventListener("click", function () {
    if (paused()) {
      sessionStorage.removeItem(PAUSED);
    } else {
      sessionStorage.setItem(PAUSED, "1");
    }
    show();
  });
  document.addEventListener("input", function (event) {
    if (event.target.closest && event.target.closest("main form")) {
      editing = true;
      show();
    }
  });
  window.setInterval(function () {
    if (!paused() && !editing && !document.hidden) {
      window.location.reload();
    }
  }, seconds * 1000);
  box.hidden = false;
  show();
})();"""
