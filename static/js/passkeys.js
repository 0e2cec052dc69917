/* Passkeys (WebAuthn): shown only where the browser supports them; the pages work without.
 * A section marked data-passkey-add or data-passkey-check is revealed when the browser can make
 * or use a passkey. Its button's data-passkey-options names caregov's endpoint: GET gives the
 * options, POST takes the browser's answer and replies {ok, redirect} or {ok: false, error}. */
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }
  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  function describe(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: toBytes(c.id) });
    });
  }
  function encode(credential) {
    var r = credential.response, out = {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      authenticatorAttachment: credential.authenticatorAttachment || null,
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      out.response.userHandle = r.userHandle ? toB64url(r.userHandle) : null;
    }
    return out;
  }

  function run(section, adding) {
    var button = section.querySelector("[data-passkey-options]");
    var error = section.querySelector("[data-passkey-error]");
    var url = button.getAttribute("data-passkey-options");
    function fail(message) {
      error.textContent = message;
      error.hidden = false;
      button.removeAttribute("aria-disabled");
    }
    button.addEventListener("click", function () {
      if (button.getAttribute("aria-disabled") === "true") return;
      button.setAttribute("aria-disabled", "true");
      error.hidden = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (options) {
          if (options.ok === false) throw new Error(options.error);
          options.challenge = toBytes(options.challenge);
          if (adding) {
            options.user.id = toBytes(options.user.id);
            options.excludeCredentials = describe(options.excludeCredentials);
            return navigator.credentials.create({ publicKey: options });
          }
          options.allowCredentials = describe(options.allowCredentials);
          return navigator.credentials.get({ publicKey: options });
        })
        .then(function (credential) {
          var target = url;
          if (adding) {
            var name = document.getElementById("passkey-name");
            if (name && name.value.trim()) target += "?name=" + encodeURIComponent(name.value.trim());
          }
          var next = button.getAttribute("data-next");
          if (next) target += (target.indexOf("?") < 0 ? "?" : "&") + "next=" + encodeURIComponent(next);
          return fetch(target, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
            body: JSON.stringify(encode(credential))
          });
        })
        .then(function (response) { return response.json(); })
        .then(function (result) {
          if (!result.ok) throw new Error(result.error);
          window.location.assign(result.redirect);
        })
        .catch(function (problem) {
          var cancelled = problem && (problem.name === "NotAllowedError" || problem.name === "AbortError");
          fail(cancelled ? "The passkey was not used. Try again, or use a code instead."
                         : (problem && problem.message) || "Something went wrong. Try again.");
        });
    });
    section.hidden = false;
  }

  document.querySelectorAll("[data-passkey-add]").forEach(function (s) { run(s, true); });
  document.querySelectorAll("[data-passkey-check]").forEach(function (s) { run(s, false); });
})();
