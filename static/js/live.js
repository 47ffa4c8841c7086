// Live parts follow their stream (htmx's SSE extension; ocpizzapp/streams.py on the server) and poll only
// while it is not open: a part's poll (hx-trigger "every Ns") is held back while the stream of the part
// or of an element around it is open, and comes back by itself when the stream drops (stream server
// stopped, network cut), at the part's usual pace. The stream's events ("sse:changed") always go through.
(function () {
  "use strict";

  function setOpen(event, open) {
    var elt = event.target;
    if (!(elt instanceof Element) || !elt.hasAttribute("data-stream")) { return; }
    if (open) { elt.setAttribute("data-stream-open", ""); } else { elt.removeAttribute("data-stream-open"); }
  }

  document.addEventListener("htmx:sseOpen", function (event) { setOpen(event, true); });
  document.addEventListener("htmx:sseError", function (event) { setOpen(event, false); });
  document.addEventListener("htmx:sseClose", function (event) { setOpen(event, false); });

  document.addEventListener("htmx:confirm", function (event) {
    // A poll has no triggering event; a tap or the stream's event has one.
    if (event.detail.triggeringEvent) { return; }
    if (event.detail.elt.closest("[data-stream-open]")) { event.preventDefault(); }
  });
})();
