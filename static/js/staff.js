// Staff screens: live refresh that costs a 304 when nothing changed, alerts
// for new orders, cards that turn amber then red, printing, undo expiry.
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
      tick();
    }
  });
})();
