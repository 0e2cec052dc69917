/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  // A form marked data-once disables its submit button while sending, so a double tap sends once.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once")) return;
    if (form.dataset.sending === "1") { event.preventDefault(); return; }
    form.dataset.sending = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.setAttribute("aria-disabled", "true");
      button.dataset.label = button.textContent;
      button.textContent = "Sending…";
    });
  });
  // Re-enable after a back navigation restores the page from cache.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.dataset.sending = "";
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        button.removeAttribute("aria-disabled");
        if (button.dataset.label) button.textContent = button.dataset.label;
      });
    });
  });
  // Move focus to the error summary so screen reader and keyboard users hear what went wrong.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
  // Tell people when the connection drops; what they typed stays in the form.
  var banner;
  function offline() {
    if (banner) return;
    banner = document.createElement("div");
    banner.className = "banner--offline";
    banner.setAttribute("role", "status");
    banner.textContent = "You are offline. What you have typed is kept on this page; send it when the connection is back.";
    document.body.appendChild(banner);
  }
  function online() { if (banner) { banner.remove(); banner = null; } }
  window.addEventListener("offline", offline);
  window.addEventListener("online", online);
  if (navigator.onLine === false) offline();
})();
