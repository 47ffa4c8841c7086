// htmx leaves 4xx answers unswapped. A typed business error's answer (marked by the
// server) is the message the person must read: show it in the page's alert region.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.getResponseHeader("OC-Business-Error")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
