// The client's card form: Stripe's Payment Element, confirming on the connected account the charge is on.
// Card details go from the browser to Stripe; Portico only sees the signed event that follows.
(function () {
  "use strict";
  var box = document.getElementById("payment-element");
  var form = document.getElementById("payment-form");
  if (!box || !form || !window.Stripe) return;
  var stripe = window.Stripe(box.dataset.publishableKey, { stripeAccount: box.dataset.account });
  var elements = stripe.elements({ clientSecret: box.dataset.clientSecret, locale: document.documentElement.lang || "auto" });
  elements.create("payment").mount(box);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: new URL(box.dataset.returnUrl, window.location.href).href } })
      .then(function (result) {
        if (result.error) {
          document.getElementById("payment-message").textContent = result.error.message;
          button.disabled = false;
        }
      });
  });
})();
