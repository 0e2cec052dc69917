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
  // Tell people when the connection drops; what they typed stays on the device. A page with a
  // bar of its own buttons (the record audit) shows it there, where it does not cover them.
  var banner;
  function offline() {
    if (banner) return;
    banner = document.createElement("div");
    banner.className = "banner--offline";
    banner.setAttribute("role", "status");
    banner.textContent = "You are offline. What you save is kept on this device and will be sent to caregov when the connection is back.";
    var slot = Array.prototype.filter.call(document.querySelectorAll("[data-offline-slot]"), function (s) {
      return !s.closest("[hidden]");
    })[0];
    if (slot) { banner.classList.add("banner--inline"); slot.insertBefore(banner, slot.firstChild); }
    else document.body.appendChild(banner);
  }
  function online() { if (banner) { banner.remove(); banner = null; } }
  window.addEventListener("offline", offline);
  window.addEventListener("online", online);
  if (navigator.onLine === false) offline();

  // Irreversible actions ask once more, saying what becomes frozen.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && form.dataset.confirmed !== "1" && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Print buttons: print the page as it is laid out for paper (print styles hide the controls).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // Charts: Plotly figures rendered from the JSON the page carries; the numbers are in a table too.
  if (window.Plotly) {
    document.querySelectorAll("[data-plotly]").forEach(function (node) {
      var figure = JSON.parse(node.getAttribute("data-plotly"));
      window.Plotly.newPlot(node, figure.data, figure.layout, { responsive: true, displaylogo: false });
    });
  }

  // Work done by a worker (an import, a pack build): ask the server how far it has got, say it,
  // and show the result once it is finished.
  var progress = document.querySelector("[data-progress-url]");
  if (progress) {
    var text = progress.querySelector("[data-progress-text]");
    var bar = progress.querySelector("[data-progress-bar]");
    var poll = function () {
      fetch(progress.getAttribute("data-progress-url"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.finished) { window.location.reload(); return; }
          bar.value = data.percent;
          text.textContent = data.text;
          window.setTimeout(poll, 1500);
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    };
    window.setTimeout(poll, 1000);
  }

  // A page reached after a save names the submission saved (?saved=<idempotency key>): the draft
  // that carried it is done, and is not offered again.
  var savedKey = new URLSearchParams(window.location.search).get("saved");
  if (savedKey) {
    try {
      Object.keys(localStorage).forEach(function (name) {
        var entry = null;
        try { entry = JSON.parse(localStorage.getItem(name)); } catch (e) { return; }
        if (entry && entry.k === savedKey) localStorage.removeItem(name);
      });
    } catch (e) { /* private mode */ }
  }

  // Drafts: a form marked data-draft keeps what was entered on this device, so a dropped
  // connection or a reload loses nothing; it is sent when the connection is back.
  document.querySelectorAll("form[data-draft]").forEach(function (form) {
    var key = form.getAttribute("data-draft");
    var serverSaved = parseInt(form.getAttribute("data-server-saved") || "0", 10) * 1000;
    var status = form.querySelector("[data-draft-status]");
    var fields = function () {
      return Array.prototype.filter.call(form.elements, function (el) {
        return el.name && el.name !== "csrfmiddlewaretoken" && el.type !== "submit" && el.type !== "hidden";
      });
    };
    var save = function () {
      var values = {};
      fields().forEach(function (el) {
        if (el.type === "radio") { if (el.checked) values[el.name] = el.value; }
        else if (el.type === "checkbox") values[el.name + "=" + el.value] = el.checked;
        else values[el.name] = el.value;
      });
      // The submission's idempotency key goes with the draft: sent again after a reload, the
      // server answers with the record it already made rather than making a second one.
      var idem = form.elements.idempotency_key;
      try { localStorage.setItem(key, JSON.stringify({ t: Date.now(), k: idem ? idem.value : null, values: values })); } catch (e) { return; }
      if (status) status.textContent = "Saved on this device.";
    };
    var stored = null;
    try { stored = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { stored = null; }
    var hasErrors = form.querySelector(".field-error");
    if (stored && hasErrors) {
      // The server refused what was sent and shows it again: the device keeps it until the
      // server has accepted it (a reload or a step away loses nothing).
      save();
    } else if (stored && stored.t > serverSaved) {
      if (stored.k && form.elements.idempotency_key) form.elements.idempotency_key.value = stored.k;
      fields().forEach(function (el) {
        if (el.type === "checkbox") {
          if ((el.name + "=" + el.value) in stored.values) el.checked = stored.values[el.name + "=" + el.value];
          return;
        }
        if (!(el.name in stored.values)) return;
        if (el.type === "radio") el.checked = stored.values[el.name] === el.value;
        else el.value = stored.values[el.name];
      });
      if (status) status.textContent = "Restored what you entered on this device. Save to send it.";
      // Show restored entries that sit in a closed section.
      form.querySelectorAll("details").forEach(function (section) {
        var filled = Array.prototype.some.call(section.querySelectorAll("input, textarea, select"), function (el) {
          return el.type === "radio" ? (el.checked && el.value) : (el.type !== "hidden" && el.value);
        });
        if (filled) section.open = true;
      });
    } else if (stored) {
      try { localStorage.removeItem(key); } catch (e) { /* private mode */ }
    }
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("submit", function (event) {
      save();
      if (navigator.onLine === false) {
        event.preventDefault();
        event.stopImmediatePropagation();
        if (status) status.textContent = "You are offline. Your answers are kept on this device and will be sent when the connection is back.";
        window.addEventListener("online", function () { form.submit(); }, { once: true });
      }
    }, true);
  });
})();
