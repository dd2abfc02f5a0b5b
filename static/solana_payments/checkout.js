/* The checkout page: polls the status endpoint, counts the time left down, copies the address.
   Without this script the page still works: it shows the status of its last load and a reload link. */
(function () {
  "use strict";
  var root = document.querySelector("[data-sp-checkout]");
  if (!root) return;
  var statusUrl = root.getAttribute("data-sp-status-url");
  var pollMs = Math.max(1, parseFloat(root.getAttribute("data-sp-poll-seconds")) || 3) * 1000;
  var text = root.querySelector("[data-sp-status-text]");
  var open = root.querySelector("[data-sp-open]");
  var timeLeft = root.querySelector("[data-sp-time-left]");
  var secondsLeft = timeLeft ? parseInt(timeLeft.getAttribute("data-sp-seconds-left"), 10) || 0 : 0;
  var deadline = Date.now() + secondsLeft * 1000;
  var timer = null;

  function clock(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function tick() {
    if (!timeLeft) return;
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    timeLeft.textContent = clock(left);
  }

  function show(status) {
    root.setAttribute("data-sp-state", status.status);
    var message;
    if (status.settled) {
      message = "Paid. Thank you!" + (status.exception ? " (" + status.exception.replace("_", " ") + ")" : "");
    } else if (status.expired) {
      message = "This payment has expired.";
    } else {
      var paid = status.options.filter(function (o) { return o.amount_paid !== "0"; });
      message = paid.length
        ? "Received " + paid.map(function (o) { return o.amount_paid + " of " + o.amount_due + " " + o.token; }).join(", ") + "."
        : "Waiting for your payment.";
    }
    if (text.textContent.trim() !== message) text.textContent = message;
    text.className = "sp-status-text sp-status-" + status.status;
    if (status.status !== "initiated") {
      if (open) open.hidden = true;
      if (timer) window.clearTimeout(timer);
      timer = null;
      return false;
    }
    deadline = Date.now() + status.seconds_left * 1000;
    return true;
  }

  function poll() {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 429) return null; // throttled: ask again later
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (status) {
        var more = status ? show(status) : true;
        if (more) timer = window.setTimeout(poll, pollMs);
      })
      .catch(function () { timer = window.setTimeout(poll, pollMs * 2); });
  }

  var copy = root.querySelector("[data-sp-copy]");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var done = root.querySelector("[data-sp-copied]");
      navigator.clipboard.writeText(copy.getAttribute("data-sp-copy")).then(
        function () { done.textContent = "Copied."; },
        function () { done.textContent = "Copy failed: select the address and copy it."; }
      );
    });
  }

  if (root.getAttribute("data-sp-state") === "initiated") {
    tick();
    window.setInterval(tick, 1000);
    timer = window.setTimeout(poll, pollMs);
  }
})();
