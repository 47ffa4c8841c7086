// Staff screens: live refresh that costs a 304 when nothing changed, alerts
// for new orders, cards that turn amber then red, printing (by hand and on arrival), undo expiry.
(function () {
  "use strict";

  var etags = new WeakMap();
  var known = new WeakMap();
  var soundOn = false;
  var audio = null;

  function orderIds(container) {
    return Array.prototype.map.call(container.querySelectorAll("[data-order-id]"), function (el) {
      return el.getAttribute("data-order-id");
    });
  }

  function beep() {
    if (!soundOn) { return; }
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    [0, 0.25].forEach(function (delay) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.3, audio.currentTime + delay);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + delay + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + delay);
      osc.stop(audio.currentTime + delay + 0.2);
    });
  }

  function alertNew(container) {
    var before = known.get(container) || [];
    var now = orderIds(container);
    known.set(container, now);
    if (!container.hasAttribute("data-alert-on-new")) { return; }
    var fresh = now.filter(function (id) { return before.indexOf(id) === -1; });
    if (!fresh.length) { return; }
    fresh.forEach(function (id) {
      var card = container.querySelector('[data-order-id="' + id + '"]');
      if (card) { card.classList.add("is-new"); }
    });
    var banner = document.querySelector("[data-new-alert]");
    if (banner) {
      banner.hidden = false;
      window.setTimeout(function () { banner.hidden = true; }, 8000);
    }
    beep();
  }

  // Kitchen tickets on paper. The screen beside the printer turns automatic printing on (the choice is this
  // browser's, kept with the tickets it printed); then every order prints once when it reaches the queue: at
  // once for an order for now, at its fire time for a scheduled one, which waits in « À venir » until then.
  var PRINTED_DAYS = 2;
  var printing = false;
  var printQueue = [];

  function printedKey(slug) { return "ocpizza-printed-" + slug; }

  function printedTickets(slug) {
    try { return JSON.parse(window.localStorage.getItem(printedKey(slug))) || {}; } catch (error) { return {}; }
  }

  function markPrinted(slug, ids) {
    var printed = printedTickets(slug);
    var now = Date.now();
    ids.forEach(function (id) { printed[id] = now; });
    Object.keys(printed).forEach(function (id) {
      if (now - printed[id] > PRINTED_DAYS * 86400000) { delete printed[id]; }
    });
    window.localStorage.setItem(printedKey(slug), JSON.stringify(printed));
  }

  function autoPrintOn(slug) { return window.localStorage.getItem(printedKey(slug) + "-on") === "1"; }

  function ticketCards() { return document.querySelectorAll("#board [data-ticket]"); }

  function printNext() {
    var area = document.querySelector("[data-print-area]");
    if (printing || !printQueue.length || !area) { return; }
    printing = true;
    var url = printQueue.shift();
    window.fetch(url, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var ticket = new DOMParser().parseFromString(html, "text/html").querySelector(".ticket");
        if (!ticket) { return; }
        area.replaceChildren(document.importNode(ticket, true));
        document.body.classList.add("is-printing-ticket");
        window.print();
      })
      .catch(function () { /* the card's « Ticket » link stays there to print it by hand */ })
      .then(function () {
        document.body.classList.remove("is-printing-ticket");
        area.replaceChildren();
        printing = false;
        printNext();
      });
  }

  function printNewTickets() {
    var toggle = document.querySelector("[data-auto-print]");
    if (!toggle) { return; }
    var slug = toggle.getAttribute("data-auto-print");
    if (!autoPrintOn(slug)) { return; }
    var printed = printedTickets(slug);
    var fresh = Array.prototype.filter.call(ticketCards(), function (card) {
      return !(card.getAttribute("data-order-id") in printed);
    });
    if (!fresh.length) { return; }
    markPrinted(slug, fresh.map(function (card) { return card.getAttribute("data-order-id"); }));
    fresh.forEach(function (card) { printQueue.push(card.getAttribute("data-ticket")); });
    printNext();
  }

  function showAutoPrint(toggle, on) {
    toggle.setAttribute("aria-pressed", String(on));
    toggle.textContent = on ? "Tickets imprimés automatiquement" : "Imprimer les tickets";
  }

  // Ages, lateness and undo buttons follow the clock between refreshes.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (card) {
      var due = Date.parse(card.getAttribute("data-due"));
      card.classList.toggle("is-late", now > due);
      card.classList.toggle("is-soon", now <= due && now >= due - 5 * 60 * 1000);
    });
    document.querySelectorAll("[data-created]").forEach(function (card) {
      var age = card.querySelector("[data-age]");
      if (age) {
        var minutes = Math.max(0, Math.floor((now - Date.parse(card.getAttribute("data-created"))) / 60000));
        age.textContent = "Il y a " + minutes + " min";
      }
    });
    document.querySelectorAll("[data-expires]").forEach(function (form) {
      if (now > Date.parse(form.getAttribute("data-expires"))) { form.remove(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(function (container) {
      known.set(container, orderIds(container));
      if (container.getAttribute("data-etag")) { etags.set(container, container.getAttribute("data-etag")); }
    });
    document.querySelectorAll("[data-sound-toggle]").forEach(function (button) {
      button.addEventListener("click", function () {
        soundOn = !soundOn;
        button.setAttribute("aria-pressed", String(soundOn));
        button.textContent = soundOn ? "Couper le son" : "Activer le son";
        if (soundOn) { beep(); }
      });
    });
    document.querySelectorAll("[data-auto-print]").forEach(function (toggle) {
      var slug = toggle.getAttribute("data-auto-print");
      showAutoPrint(toggle, autoPrintOn(slug));
      toggle.addEventListener("click", function () {
        var on = !autoPrintOn(slug);
        window.localStorage.setItem(printedKey(slug) + "-on", on ? "1" : "0");
        if (on) {
          // The orders already in the queue had their tickets, or will be printed by hand: only new ones print.
          markPrinted(slug, Array.prototype.map.call(ticketCards(), function (card) {
            return card.getAttribute("data-order-id");
          }));
        }
        showAutoPrint(toggle, on);
      });
    });
    printNewTickets();
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    tick();
    window.setInterval(tick, 15000);
  });

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (elt.hasAttribute("data-live") && event.detail.verb === "get" && etags.has(elt)) {
      event.detail.headers["If-None-Match"] = etags.get(elt);
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var elt = event.detail.elt;
    if (xhr.status === 304) {
      event.detail.shouldSwap = false;
      return;
    }
    if (elt.hasAttribute("data-live") && xhr.getResponseHeader("ETag")) {
      etags.set(elt, xhr.getResponseHeader("ETag"));
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var container = event.detail.target;
    if (container.hasAttribute("data-live")) {
      alertNew(container);
      printNewTickets();
      tick();
    }
  });
})();
