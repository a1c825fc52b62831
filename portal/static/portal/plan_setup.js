// The client's card form for a payment plan: Stripe's Payment Element confirming a SetupIntent (off-session use)
// on the connected account the installments are charged on. Card details go from the browser to Stripe only.
(function () {
  "use strict";
  var box = document.getElementById("setup-element");
  var form = document.getElementById("setup-form");
  if (!box || !form || !window.Stripe) return;
  var stripe = window.Stripe(box.dataset.publishableKey, { stripeAccount: box.dataset.account });
  var elements = stripe.elements({ clientSecret: box.dataset.clientSecret, locale: document.documentElement.lang || "auto" });
  elements.create("payment").mount(box);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    stripe
      .confirmSetup({ elements: elements, confirmParams: { return_url: new URL(box.dataset.returnUrl, window.location.href).href } })
      .then(function (result) {
        if (result.error) {
          document.getElementById("setup-message").textContent = result.error.message;
          button.disabled = false;
        }
      });
  });
})();
