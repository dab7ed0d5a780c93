// Keeps the live session page's console current between posts: the time since the dose and
// the count-down to the next vital signs; and makes its one-tap actions land on an open form.
// In a practice run it also fetches the page when the scenario's next event comes.
// The page works without it: every value here is also rendered by the server, and every
// action is a plain link to the form it names.
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

  // Anchors land just below the sticky console, whatever its height on this screen. Looked
  // up each time: the room's script (room.js) may put a freshly rendered page in place.
  function measure() {
    var bar = document.querySelector(".session-clock");
    if (!bar) { return; }
    var height = bar.getBoundingClientRect().height;
    document.documentElement.style.setProperty("--console-height", Math.ceil(height + 8) + "px");
  }

  // "Adverse event" and "Emergency end" point at a closed <details>: open it. A tap on a
  // console action also puts the cursor in the form's first field, so one tap starts the
  // entry; a page merely loaded at an anchor (after a post) moves no focus.
  function openTarget(id, focus) {
    var target = id && document.getElementById(id);
    if (!target) { return; }
    if (target.tagName === "DETAILS" && !target.open) { target.open = true; }
    if (focus) {
      var first = target.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus({ preventScroll: true }); }
      target.scrollIntoView({ block: "start" });
    }
  }

  tick();
  measure();
  window.setInterval(function () { tick(); measure(); }, 15000);
  window.addEventListener("resize", measure);
  // room.js put a freshly rendered page in place: bring its clock and count-down up to date.
  document.addEventListener("room:replaced", function () { tick(); measure(); });
  openTarget(window.location.hash.slice(1), false);
  // A practice run: the scenario's next event (the monitor's alarm, what the patient says)
  // comes at its minute on the training clock, and the page fetches it then, as a monitor
  // alarms without being asked. Never over something half typed or still being sent by the
  // room's script (room.js): it waits for that.
  function busy() {
    var queue = document.getElementById("room-queue-status");
    if (queue && queue.textContent.trim()) { return true; }
    var active = document.activeElement;
    if (active && active.matches && active.matches("input:not([type=hidden]), textarea, select")) {
      return true;
    }
    return Array.prototype.some.call(document.querySelectorAll("main input:not([type=hidden]), main textarea"), function (el) {
      if (el.type === "checkbox" || el.type === "radio") { return el.checked !== el.defaultChecked; }
      return el.value !== el.defaultValue;
    });
  }
  var fetching = false;
  function nextScriptedEvent() {
    var panel = document.querySelector("[data-next-event-at]");
    if (!panel || fetching || now() < Date.parse(panel.getAttribute("data-next-event-at")) || busy()) { return; }
    fetching = true;
    window.location.reload();
  }
  if (document.querySelector(".training-panel")) { window.setInterval(nextScriptedEvent, 1000); }

  // Delegated, so the actions of a page put in place later work the same.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".console-actions a[href^='#']");
    if (!link) { return; }
    var id = link.getAttribute("href").slice(1);
    window.setTimeout(function () { measure(); openTarget(id, id !== "add-event"); }, 0);
  });
}());
