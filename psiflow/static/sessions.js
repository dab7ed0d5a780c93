// Keeps the live session page's clock and "next vital signs due" current between posts.
// The page works without it: every value here is also rendered by the server.
(function () {
  "use strict";
  var clock = document.querySelector(".session-clock");
  if (!clock) { return; }
  // Measure against the server's clock, not the tablet's, which may be wrong.
  var served = Date.parse(clock.getAttribute("data-now"));
  var loaded = Date.now();
  // A practice session's training clock runs faster than the wall clock (data-speed, e.g. 12).
  var speed = Number(clock.getAttribute("data-speed")) || 1;
  // ...until it reaches the present (data-wall), which it never passes.
  var wall = clock.hasAttribute("data-wall") ? Date.parse(clock.getAttribute("data-wall")) : served;

  function now() {
    var elapsed = Date.now() - loaded;
    return Math.min(served + elapsed * speed, wall + elapsed);
  }

  function minutes(ms) { return Math.floor(ms / 60000); }

  function hhmm(total) {
    var h = Math.floor(total / 60), m = total % 60;
    return h + ":" + (m < 10 ? "0" : "") + m;
  }

  function tick() {
    document.querySelectorAll("[data-elapsed-from]").forEach(function (el) {
      var from = Date.parse(el.getAttribute("data-elapsed-from"));
      var to = el.hasAttribute("data-elapsed-to") ? Date.parse(el.getAttribute("data-elapsed-to")) : now();
      el.textContent = hhmm(Math.max(0, minutes(to - from)));
    });
    document.querySelectorAll("[data-due-at]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due-at"));
      var left = minutes(due - now());
      var tile = el.closest(".clock-tile");
      if (left > 0) {
        el.textContent = "Due in " + left + " min";
      } else if (left === 0) {
        el.textContent = "Due now";
      } else {
        el.textContent = "Overdue by " + (-left) + " min";
      }
      // Overdue after the protocol tolerance the server uses (5 minutes).
      if (tile) { tile.classList.toggle("overdue", left < -5); }
    });
  }

  tick();
  window.setInterval(tick, 15000);
}());
