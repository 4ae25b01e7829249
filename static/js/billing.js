// The return page from Checkout: Stripe's webhook, not the redirect, activates
// the plan, so ask the server until it has arrived, then show the billing page.
(function () {
  "use strict";
  var box = document.getElementById("billing-return");
  if (!box || box.dataset.onStripe === "1") {
    return;
  }
  var url = box.dataset.statusUrl;
  var tries = 0;
  function poll() {
    tries += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.on_stripe) {
          window.location.assign(box.dataset.billingUrl || "/billing/");
        } else if (tries < 60) {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { if (tries < 60) { window.setTimeout(poll, 2000); } });
  }
  window.setTimeout(poll, 1000);
})();
