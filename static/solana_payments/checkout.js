/* The checkout page: asks the status endpoint, counts the time left down, copies the address.
   It asks with ?wait=<key>: the server holds the request until the status changes or about 20 s pass
   (long polling), and the page asks again as soon as the answer arrives. An answer that comes back
   unchanged sooner than the poll interval (a server that does not hold, a proxy that cuts), or a request
   that fails, makes the page wait the interval before it asks again; after two such answers in a row it
   polls plainly every interval.
   When the status changes (paid, partly paid, expired), the checkout section is fetched afresh from its
   panel URL and swapped in, so the amounts, QR codes and paid details are the server's own.
   At the deadline the page says the payment expired at once, then asks the server.
   Without this script the page still works: it shows the status of its last load and a reload link. */
(function () {
  "use strict";

  /* The same key as payment_status.status_key() in Python. */
  function keyOf(status) {
    var paid = status.options.map(function (o) { return o.amount_paid; }).join(",");
    return [status.status, status.exception, status.expired ? "expired" : "", paid].join("|");
  }

  function clock(seconds) {
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function start(root) {
    var statusUrl = root.getAttribute("data-sp-status-url");
    var panelUrl = root.getAttribute("data-sp-panel-url");
    var key = root.getAttribute("data-sp-key");
    var pollMs = Math.max(1, parseFloat(root.getAttribute("data-sp-poll-seconds")) || 3) * 1000;
    var holding = (parseFloat(root.getAttribute("data-sp-hold-seconds")) || 0) > 0;
    var unheld = 0;  // held requests in a row that came back unchanged too soon, or failed
    var asking = false;  // a request is on its way: one at a time (the deadline's ask waits for it)
    var text = root.querySelector("[data-sp-status-text]");
    var open = root.querySelector("[data-sp-open]");
    var timeLeft = root.querySelector("[data-sp-time-left]");
    var secondsLeft = timeLeft ? parseInt(timeLeft.getAttribute("data-sp-seconds-left"), 10) || 0 : 0;
    var deadline = Date.now() + secondsLeft * 1000;
    var timer = null, ticker = null, stopped = false;

    function stop() {
      stopped = true;
      if (timer) window.clearTimeout(timer);
      if (ticker) window.clearInterval(ticker);
      timer = ticker = null;
    }

    function showExpired() {
      root.setAttribute("data-sp-state", "expired");
      text.textContent = "This payment has expired.";
      text.className = "sp-status-text sp-status-expired";
      if (open) open.hidden = true;
    }

    function tick() {
      if (!timeLeft) return;
      var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      timeLeft.textContent = clock(left);
      if (left === 0 && root.getAttribute("data-sp-state") === "initiated") {
        showExpired();  // the deadline passed: nothing more may be paid, whatever the last poll said
        if (timer) window.clearTimeout(timer);
        poll();
      }
    }

    function swap() {
      stop();
      fetch(panelUrl, { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.querySelector("[data-sp-checkout]");
          if (!fresh) throw new Error("no checkout in the panel");
          root.replaceWith(fresh);
          start(fresh);
        })
        .catch(function () { stopped = false; timer = window.setTimeout(poll, pollMs * 2); });
    }

    function poll() {
      if (stopped || asking) return;
      asking = true;
      var held = holding && unheld < 2;
      var url = statusUrl;
      if (held) url += (url.indexOf("?") < 0 ? "?" : "&") + "wait=" + encodeURIComponent(key);
      var asked = Date.now();
      function later(ms) { if (!stopped) timer = window.setTimeout(poll, ms); }
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 429) return null; // throttled: ask again later
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (status) {
          asking = false;
          if (stopped) return;
          if (status && keyOf(status) !== key) return swap();
          if (status && status.status === "initiated" && !status.expired) {
            deadline = Date.now() + status.seconds_left * 1000;
          }
          var took = Date.now() - asked;
          if (!held || !status || took < pollMs) {
            if (held) unheld += 1;
            return later(Math.max(0, pollMs - took));
          }
          unheld = 0;
          later(0);  // held until news or its time was up: ask again at once
        })
        .catch(function () { asking = false; if (held) unheld += 1; later(pollMs * 2); });
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
      ticker = window.setInterval(tick, 1000);
      timer = window.setTimeout(poll, holding ? 0 : pollMs);
    }
  }

  var root = document.querySelector("[data-sp-checkout]");
  if (root) start(root);
})();
