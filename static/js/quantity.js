// A quantity box (input[data-stepper], its value the product's name) gets − and + beside it, as a thumb on a
// phone expects. The box stays a number input: typed into, read by screen readers, sent with its form, and all
// there is without this script. A tap changes the number only (the form is not sent, so the focus stays on the
// button for the next tap) and the form's price (its [data-unit-price], in euros) for that many; the − stops at
// the box's minimum, the + at its maximum when it has one. A number typed in prices the form as it is typed.
(function () {
  "use strict";

  // Made at the first tap, not as the page loads: building a French number format loads the browser's locale
  // data, one long task on a phone before the menu answers a touch.
  var euros = null;

  function priceFor(input, quantity) {
    var price = input.form && input.form.querySelector("[data-unit-price]");
    if (!price) { return; }
    if (!euros) { euros = new Intl.NumberFormat("fr-FR", { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }
    var cents = Math.round(parseFloat(price.getAttribute("data-unit-price")) * 100) * quantity;
    price.textContent = euros.format(cents / 100);
  }

  function button(input, step, sign, label) {
    var tap = document.createElement("button");
    tap.type = "button";
    tap.className = "stepper-button";
    tap.setAttribute("aria-label", label);
    tap.setAttribute("aria-controls", input.id);
    var shown = document.createElement("span");
    shown.setAttribute("aria-hidden", "true");
    shown.textContent = sign;
    tap.appendChild(shown);
    tap.addEventListener("click", function () {
      var min = input.min === "" ? -Infinity : Number(input.min);
      var max = input.max === "" ? Infinity : Number(input.max);
      var value = Math.min(max, Math.max(min, (parseInt(input.value, 10) || 0) + step));
      input.value = String(value);
      priceFor(input, value);
    });
    return tap;
  }

  function enhance(root) {
    root.querySelectorAll("input[data-stepper]").forEach(function (input) {
      if (input.parentNode.classList.contains("quantity-stepper")) { return; }
      var name = input.getAttribute("data-stepper");
      // Moving a box out of the page and back takes the focus from it: a box being typed into keeps it.
      var focused = document.activeElement === input;
      var stepper = document.createElement("span");
      stepper.className = "stepper quantity-stepper";
      input.parentNode.insertBefore(stepper, input);
      stepper.appendChild(button(input, -1, "−", "Un de moins : " + name));
      stepper.appendChild(input);
      stepper.appendChild(button(input, 1, "+", "Un de plus : " + name));
      if (focused) { input.focus({ preventScroll: true }); }
      input.addEventListener("input", function () {
        var typed = parseInt(input.value, 10);
        if (typed >= 1) { priceFor(input, typed); }  // an emptied box or a 0 leaves the price until a number comes
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  // What htmx draws later (the configurator redrawn after a choice, the menu's sheet) is enhanced in the task that
  // draws it: htmx's own load event comes a settle later, when a quick hand may already be typing in the box.
  document.addEventListener("htmx:afterSwap", function () { enhance(document); });
})();
