// The session room's entries are never lost: every form marked `data-room-entry` on the live
// page is kept on this device ("waiting to send") from the moment its button is pressed until
// the server has answered it, and sent with a key so that sending it twice records it once
// (psiflow/web/idempotency.py). Offline, it waits for the connection; after the idle limit the
// page locks behind the user's password (psiflow/web/room_lock.py) and sends it once unlocked.
// Without this script every form still posts and redirects as a plain form.
(function () {
  "use strict";
  var region = document.getElementById("room-sync");
  if (!region || !window.fetch || !window.FormData) { return; }

  var SCRIPT_HEADER = "X-Room-Entry";
  var RETRY_MS = 15000;
  var storeKey = "psiflow.room." + region.getAttribute("data-room-user") + "." +
    region.getAttribute("data-room-session");
  var idleMs = parseFloat(region.getAttribute("data-idle-seconds")) * 1000;
  var unlockUrl = region.getAttribute("data-unlock-url");
  var loginUrl = region.getAttribute("data-login-url");
  var skew = 0;           // the server's clock minus this device's
  var lastContact = Date.now();
  var sending = false;
  var locked = false;
  var memory = [];        // when the browser keeps nothing (storage off or full)

  // --- the queue, kept in the browser ---------------------------------------------------

  function load() {
    try {
      var kept = window.localStorage.getItem(storeKey);
      return kept ? JSON.parse(kept) : memory.slice();
    } catch (e) {
      return memory.slice();
    }
  }

  function save(entries) {
    memory = entries.slice();
    try {
      window.localStorage.setItem(storeKey, JSON.stringify(entries));
    } catch (e) { /* kept in memory for as long as the page is open */ }
    show();
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }

  function readClock() {
    var now = region.getAttribute("data-server-now");
    if (now) { skew = Date.parse(now) - Date.now(); }
  }

  function formKey(form) {
    var action = form.getAttribute("action");
    var same = Array.prototype.filter.call(document.querySelectorAll("form"), function (f) {
      return f.getAttribute("action") === action;
    });
    return action + "#" + same.indexOf(form);
  }

  function describe(form, submitter) {
    var label = form.getAttribute("data-room-entry") || "Entry";
    if (submitter && submitter.textContent.trim() && submitter.name && submitter.name !== "conflict_choice") {
      label += ": " + submitter.textContent.trim();
    } else if (form.querySelector("[name=item_id]")) {
      var button = form.querySelector("button");
      if (button) { label += ": " + button.textContent.replace(/[✓○]/g, "").trim(); }
    }
    return label;
  }

  function enqueue(form, submitter) {
    var fields = [];
    var data = new FormData(form);
    data.forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string") { fields.push([name, value]); }
    });
    if (submitter && submitter.name) { fields.push([submitter.name, submitter.value]); }
    var entries = load();
    entries.push({
      key: newKey(),
      madeAt: new Date(Date.now() + skew).toISOString(),
      action: form.getAttribute("action"),
      form: formKey(form),
      label: describe(form, submitter),
      fields: fields,
      refused: ""
    });
    save(entries);
  }

  // --- what the page shows of the queue -----------------------------------------------------

  function show() {
    var status = document.getElementById("room-queue-status");
    var list = document.getElementById("room-queue-list");
    if (!status || !list) { return; }
    var entries = load();
    var waiting = entries.filter(function (e) { return !e.refused; }).length;
    var words = [];
    if (waiting) {
      words.push(waiting + (waiting === 1 ? " entry" : " entries") + " waiting to send" +
        (navigator.onLine ? "" : " (offline: kept on this device)") +
        (locked ? " (locked: enter your password)" : ""));
    }
    var refused = entries.length - waiting;
    if (refused) { words.push(refused + " not recorded: see below"); }
    status.textContent = words.join("; ");
    list.replaceChildren();
    entries.forEach(function (entry) {
      var item = document.createElement("li");
      var made = new Date(entry.madeAt);
      var text = entry.fields.filter(function (f) {
        return f[1] && ["kind", "item_id", "value", "version", "entry_key", "made_at"].indexOf(f[0]) < 0;
      }).map(function (f) { return f[1]; }).join(", ");
      item.textContent = made.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) +
        " " + entry.label + (text ? " (" + text + ")" : "") +
        (entry.refused ? ". Not recorded: " + entry.refused + " " : "");
      if (entry.refused) {
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button small";
        remove.textContent = "Remove";
        remove.setAttribute("aria-label", "Remove " + entry.label + " from this device");
        remove.addEventListener("click", function () {
          save(load().filter(function (e) { return e.key !== entry.key; }));
        });
        item.appendChild(remove);
      }
      list.appendChild(item);
    });
    list.hidden = entries.length === 0;
  }

  // --- sending ------------------------------------------------------------------------------

  function csrfToken() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  function drop(key, refusal) {
    var entries = load();
    if (refusal) {
      entries.forEach(function (e) { if (e.key === key) { e.refused = refusal; } });
    } else {
      entries = entries.filter(function (e) { return e.key !== key; });
    }
    save(entries);
  }

  function flush() {
    if (sending || locked || !navigator.onLine) { show(); return; }
    var next = load().filter(function (e) { return !e.refused; })[0];
    if (!next) { show(); return; }
    sending = true;
    var body = new FormData();
    next.fields.forEach(function (f) { body.append(f[0], f[1]); });
    body.append("csrf_token", csrfToken());
    body.append("entry_key", next.key);
    body.append("made_at", next.madeAt);
    var headers = {};
    headers[SCRIPT_HEADER] = "1";
    fetch(next.action, { method: "POST", body: body, credentials: "same-origin", headers: headers })
      .then(function (response) {
        return response.text().then(function (text) { return answered(next, response, text); });
      })
      .then(function (goOn) {
        sending = false;
        if (goOn) { flush(); }
      }, function () {
        // The connection dropped (or the answer never came): the entry stays; it is sent
        // again on the next try, and its key makes sure it is recorded once.
        sending = false;
        show();
      });
  }

  // Returns whether to go on with the next entry.
  function answered(entry, response, text) {
    var status = response.status;
    if (status === 401) {
      var said = parseJson(text);
      if (said.logged_out) { window.location.assign(loginUrl); return false; }
      lock();
      return false;
    }
    if (response.redirected && new URL(response.url).pathname === new URL(loginUrl, window.location.href).pathname) {
      // Logged out meanwhile (elsewhere, or a lock held too long): the entry waits here and is
      // sent when this user logs in again and the page opens.
      window.location.assign(loginUrl);
      return false;
    }
    lastContact = Date.now();
    var isPage = (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
    var doc = isPage ? new DOMParser().parseFromString(text, "text/html") : null;
    var main = doc && doc.getElementById("main");
    if (response.ok || status === 409 || status === 422) {
      if (!main || !doc.getElementById("room-sync")) {
        drop(entry.key, "the answer was not the session page; check the record and enter it again if it is missing.");
        return true;
      }
      if (!response.ok && !keepsForm(doc, entry)) {
        // Refused, and the page that says why no longer offers the form (e.g. signed
        // meanwhile): keep what was typed in the list rather than lose it.
        drop(entry.key, firstMessage(main) || "refused by the server.");
      } else {
        drop(entry.key);
      }
      replaceMain(main, entry, response.ok);
      return true;
    }
    if (status === 429 || status >= 500) { return false; }  // try again later
    drop(entry.key, (main && firstMessage(main)) || "refused by the server (" + status + ").");
    return true;
  }

  function parseJson(text) {
    try { return JSON.parse(text); } catch (e) { return {}; }
  }

  function firstMessage(main) {
    var said = main.querySelector("[role=alert], .error, p");
    return said ? said.textContent.trim() : "";
  }

  function keepsForm(doc, entry) {
    return Array.prototype.some.call(doc.querySelectorAll("form"), function (f) {
      return f.getAttribute("action") === entry.action;
    });
  }

  // --- the page, renewed from the answer, with what is typed elsewhere kept -------------------

  function typed() {
    var kept = {};
    document.querySelectorAll("#main form").forEach(function (form) {
      if (form.closest("#room-lock")) { return; }
      var values = [];
      Array.prototype.forEach.call(form.elements, function (el, i) {
        if (!el.name || el.type === "hidden" || el.type === "submit") { return; }
        if (el.type === "checkbox" || el.type === "radio") {
          if (el.checked !== el.defaultChecked) { values.push([i, el.name, el.value, el.checked]); }
        } else if (el.tagName === "SELECT") {
          var changed = Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
          if (changed) { values.push([i, el.name, el.value, null]); }
        } else if (el.value !== el.defaultValue) {
          values.push([i, el.name, el.value, null]);
        }
      });
      if (values.length) { kept[formKey(form)] = values; }
    });
    return kept;
  }

  function restore(kept, sentForm) {
    document.querySelectorAll("#main form").forEach(function (form) {
      var key = formKey(form);
      if (!kept[key] || key === sentForm) { return; }
      kept[key].forEach(function (v) {
        var el = form.elements[v[0]];
        if (!el || el.name !== v[1]) {
          el = Array.prototype.filter.call(form.elements, function (e) {
            return e.name === v[1] && (v[3] === null || e.value === v[2]);
          })[0];
        }
        if (!el) { return; }
        if (v[3] !== null) { el.checked = v[3]; } else { el.value = v[2]; }
      });
    });
  }

  function focusedPlace() {
    var el = document.activeElement;
    if (!el || el === document.body) { return null; }
    if (el.id) { return "#" + CSS.escape(el.id); }
    var form = el.form;
    if (form && el.name) {
      return { form: formKey(form), name: el.name, value: el.value };
    }
    return null;
  }

  function refocus(place) {
    if (!place) { return; }
    var el = null;
    if (typeof place === "string") {
      el = document.querySelector(place);
    } else {
      document.querySelectorAll("#main form").forEach(function (form) {
        if (!el && formKey(form) === place.form) {
          el = Array.prototype.filter.call(form.elements, function (e) {
            return e.name === place.name && (e.type !== "submit" || e.value === place.value);
          })[0] || null;
        }
      });
    }
    if (el && el.focus) { el.focus({ preventScroll: true }); }
  }

  function replaceMain(newMain, entry, accepted) {
    var current = document.getElementById("main");
    var kept = typed();
    var place = focusedPlace();
    var dialogOpen = locked;
    current.replaceChildren.apply(current, Array.prototype.slice.call(newMain.childNodes).map(function (n) {
      return document.adoptNode(n);
    }));
    region = document.getElementById("room-sync");
    readClock();
    bindLock();
    // An accepted entry's form comes back blank (anything in it now was typed since); a
    // refused one comes back as posted, with why, and stays so.
    restore(kept, accepted ? null : entry.form);
    refocus(place);
    if (!accepted) {
      var why = current.querySelector("[role=alert]");
      if (why && why.scrollIntoView) { why.scrollIntoView({ block: "center" }); }
    }
    if (dialogOpen) { lock(); }
    show();
    document.dispatchEvent(new CustomEvent("room:replaced"));
  }

  // --- the lock ---------------------------------------------------------------------------

  function dialog() { return document.getElementById("room-lock"); }

  function idle() { return Date.now() - lastContact > idleMs; }

  function lock() {
    locked = true;
    var d = dialog();
    if (d && !d.open) {
      d.showModal();
      var password = d.querySelector("input[type=password]");
      if (password) { password.focus(); }
    }
    show();
  }

  function unlocked(token) {
    locked = false;
    lastContact = Date.now();
    if (token) {
      document.querySelectorAll("input[name=csrf_token]").forEach(function (f) { f.value = token; });
    }
    var d = dialog();
    if (d && d.open) { d.close(); }
    flush();
  }

  function bindLock() {
    var d = dialog();
    if (!d || d.getAttribute("data-bound")) { return; }
    d.setAttribute("data-bound", "1");
    // The lock is not dismissed with Escape: only the password opens it.
    d.addEventListener("cancel", function (event) { event.preventDefault(); });
    var form = d.querySelector("form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = d.querySelector(".lock-error");
      var password = form.querySelector("input[type=password]");
      var body = new FormData();
      body.append("password", password.value);
      body.append("csrf_token", csrfToken());
      var headers = {};
      headers[SCRIPT_HEADER] = "1";
      fetch(unlockUrl, { method: "POST", body: body, credentials: "same-origin", headers: headers })
        .then(function (response) { return response.text(); })
        .then(function (text) {
          var said = parseJson(text);
          password.value = "";
          if (said.unlocked) {
            error.textContent = "";
            unlocked(said.csrf_token);
          } else if (said.logged_out) {
            error.textContent = said.error + " Your entries stay on this device and are sent when you log in again.";
            window.setTimeout(function () { window.location.assign(loginUrl); }, 4000);
          } else {
            error.textContent = said.error || "The password could not be checked; try again.";
            password.focus();
          }
        }, function () {
          error.textContent = "No connection: the password could not be checked. Try again when the connection returns.";
        });
    });
  }

  // --- wiring --------------------------------------------------------------------------------

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-room-entry]")) { return; }
    event.preventDefault();
    enqueue(form, event.submitter);
    // What was typed is in the queue now (and in the list): the form is ready for the next.
    form.reset();
    if (idle()) { lock(); } else { flush(); }
  });

  ["pointerdown", "keydown"].forEach(function (kind) {
    document.addEventListener(kind, function (event) {
      var d = dialog();
      if (!locked && idle() && !(d && d.contains(event.target))) { lock(); }
    }, true);
  });

  window.addEventListener("online", flush);
  window.addEventListener("offline", show);
  window.setInterval(function () {
    if (!locked && idle()) { lock(); }
    flush();
  }, RETRY_MS);
  window.setInterval(function () { if (!locked && idle()) { lock(); } }, 1000);

  readClock();
  bindLock();
  show();
  flush();
}());
