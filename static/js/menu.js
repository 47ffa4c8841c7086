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
