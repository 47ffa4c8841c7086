// The checkout sent back with errors: the focus goes to the first field to correct (its error is read with it,
// through aria-describedby), or to the alert above the form when no field is at fault.
(function () {
  var form = document.querySelector(".checkout-form");
  if (!form) {
    return;
  }
  var fields = form.querySelectorAll('[aria-invalid="true"]');
  for (var i = 0; i < fields.length; i += 1) {
    if (fields[i].getClientRects().length) {
      fields[i].focus();
      return;
    }
  }
  var alert = form.querySelector(".form-errors");
  if (alert) {
    alert.setAttribute("tabindex", "-1");
    alert.focus();
  }
})();
