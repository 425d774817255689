/* The console's little behaviour (plain JS). Every page works without it: confirmations are a server
   step; this only keeps a running job's progress current and lets Esc close a confirmation. */
(function () {
  "use strict";
  var progress = document.querySelector("[data-poll]");
  if (progress && !progress.hasAttribute("data-done")) {
    window.setTimeout(function () { window.location.reload(); }, 1500);
  }
  var cancel = document.querySelector("#confirm a.secondary");
  if (cancel) {
    document.addEventListener("keydown", function (e) { if (e.key === "Escape") window.location.href = cancel.href; });
  }
}());
