/* Live progress on the operations dashboard: while a run shown is queued or running, poll the status
   endpoint every 2 seconds and update its bar, count and status. The page works without this file. */
(function () {
  "use strict";
  var root = document.querySelector("[data-status-url]");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-status-url");
  var every = 2000;

  function active() {
    return root.querySelector('tr[data-run-active="true"]') !== null;
  }

  function update(run) {
    var row = root.querySelector('tr[data-run-id="' + run.id + '"]');
    if (!row) { return; }  // a run started after the page was drawn: the next page load shows it
    var bar = row.querySelector("progress");
    bar.value = run.percent;
    bar.textContent = run.percent + "%";
    row.querySelector(".sp-run-count").textContent = run.done + " / " + run.total;
    root.querySelectorAll('[data-run-status="' + run.id + '"]').forEach(function (status) {
      status.textContent = run.status_display;
      status.className = status.className.replace(/\bsp-status-\S+/, "sp-status-" + run.status);
    });
    if (run.finished && row.getAttribute("data-run-active") === "true") {
      document.getElementById("sp-refresh").hidden = false;
    }
    row.setAttribute("data-run-active", run.finished ? "false" : "true");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        data.runs.forEach(update);
        if (active()) { window.setTimeout(poll, every); }
      })
      .catch(function () { window.setTimeout(poll, every * 5); });
  }

  if (active()) { window.setTimeout(poll, every); }
})();
