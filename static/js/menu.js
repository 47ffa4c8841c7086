// The menu's allergen filter: ticking an allergen hides every product whose base recipe holds it, and says
// how many are hidden. Without this script the filter does nothing and every product stays listed.
(function () {
  "use strict";

  function apply(filter) {
    var avoided = Array.prototype.map.call(filter.querySelectorAll("input:checked"), function (box) {
      return box.value;
    });
    var hidden = 0;
    document.querySelectorAll(".product[data-allergens]").forEach(function (card) {
      var holds = card.getAttribute("data-allergens").split("|");
      var hide = avoided.some(function (name) { return holds.indexOf(name) !== -1; });
      card.hidden = hide;
      if (hide) { hidden += 1; }
    });
    // A section left empty goes with its heading (and its tab still leads near where it was).
    document.querySelectorAll("ul.products").forEach(function (list) {
      var heading = list.previousElementSibling;
      var empty = list.querySelector(".product:not([hidden])") === null;
      if (heading && heading.tagName === "H2") { heading.hidden = empty; }
    });
    var status = filter.querySelector("[data-filter-status]");
    if (status) {
      status.textContent = !avoided.length ? "" : hidden === 0 ? "Aucun produit masqué."
        : hidden === 1 ? "1 produit masqué." : hidden + " produits masqués.";
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-allergen-filter]").forEach(function (filter) {
      filter.addEventListener("change", function () { apply(filter); });
      apply(filter);
    });
  });
})();

// The menu's sheet: « Ajouter » on a product with sizes or options, « Composer » on a formula, opens its choices
// over the menu in a modal <dialog> (the focus kept inside, Esc or the cross to close) instead of another page.
// The choices are asked with htmx (``fiche=1``); once added, the server answers with the cart and the event
// ``panier-ajoute``, and the sheet closes on the cart bar's new count. Without this script, or without <dialog>,
// the link leads to the configurator's or the formula's own page.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var sheet = document.getElementById("fiche");
    var content = document.getElementById("fiche-contenu");
    if (!sheet || !content || typeof sheet.showModal !== "function" || !window.htmx) { return; }

    document.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-sheet]");
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) { return; }
      event.preventDefault();
      window.htmx.ajax("GET", link.getAttribute("href"), {
        source: link, target: content, swap: "innerHTML", values: { fiche: "1" },
      });
    });

    // A refusal (400) drawn again in the sheet is what the customer must read: swap it like an answer.
    document.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.xhr.status === 400 && event.detail.target === content) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });

    document.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== content) { return; }
      var heading = content.querySelector("h2[id]");
      if (heading) { sheet.setAttribute("aria-labelledby", heading.id); }
      if (!sheet.open) { sheet.showModal(); }
    });

    document.addEventListener("panier-ajoute", function () { sheet.close(); });

    // A tap beside the sheet (on its backdrop) closes it too.
    sheet.addEventListener("click", function (event) {
      if (event.target === sheet) { sheet.close(); }
    });
  });
})();
