/* caregov's audit service worker. It keeps the audit pages usable on a tablet that loses its
   connection: pages are fetched from the network when it answers and kept; without one, the page
   kept on this device is shown (any record screen of an audit can show every record of it), or a
   page saying the device is offline. It never answers a POST: the page itself keeps what was
   saved in IndexedDB (static/js/queue.js) and sends it when the connection is back. Where the
   browser has Background Sync the worker sends the queue too; nothing depends on it (Safari has
   none). Served by caregov at {{ scope }}, so this is its scope. */
"use strict";
var VERSION = "{{ version }}";
var CACHE = "caregov-audit-" + VERSION;
var SCOPE = "{{ scope|escapejs }}";
var STATIC_URL = "{{ static_url|escapejs }}";
var ASSETS = JSON.parse("{{ assets_json|escapejs }}");
var OFFLINE_PAGE = "{{ offline_page|escapejs }}";

try { importScripts("{{ queue_url|escapejs }}"); } catch (e) { /* replay stays with the pages */ }

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll(ASSETS); })
      .catch(function () { /* kept on first use instead */ })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("caregov-audit-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function keyOf(url) { return url.origin + url.pathname; }

// Kept for offline use: the list, an audit's page and its record screens. Not the pages whose
// forms carry a key that makes a new record (start an audit, start a correction): a kept copy
// would send the key of a start already made.
function keepable(url) {
  var rest = url.pathname.slice(SCOPE.length);
  return rest === "" || /^\d+\/$/.test(rest) || /^\d+\/records\/\d+\/$/.test(rest) || /^\d+\/submit\/$/.test(rest);
}

function offlineResponse() {
  return new Response(OFFLINE_PAGE, {
    status: 503,
    headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" }
  });
}

// The record screen of the audit the address belongs to that was kept last: each one carries the
// whole audit as caregov had it, and its script shows the record (or, for the audit's own
// address, the answers to check) that the address names.
function latestScreenOf(cache, url) {
  var match = url.pathname.slice(SCOPE.length).match(/^(\d+)\//);
  if (!match) return Promise.resolve(undefined);
  var prefix = url.origin + SCOPE + match[1] + "/records/";
  return cache.keys().then(function (requests) {
    // Keys come in the order they were (last) put.
    var kept = requests.filter(function (r) { return r.url.indexOf(prefix) === 0; });
    return kept.length ? cache.match(kept[kept.length - 1]) : undefined;
  });
}

function page(request) {
  var url = new URL(request.url);
  return fetch(request).then(function (response) {
    var type = response.headers.get("Content-Type") || "";
    if (response.ok && !response.redirected && type.indexOf("text/html") === 0 && keepable(url)) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(keyOf(url), copy); });
    }
    return response;
  }, function () {
    return caches.open(CACHE).then(function (cache) {
      return latestScreenOf(cache, url).then(function (screen) {
        return screen || cache.match(keyOf(url));
      });
    }).then(function (kept) { return kept || offlineResponse(); });
  });
}

function asset(request) {
  // Network first so that a new deployment is used at once; the kept copy without a connection.
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(request, copy); });
    }
    return response;
  }, function () {
    return caches.match(request, { ignoreSearch: true }).then(function (kept) {
      return kept || new Response("", { status: 503 });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf(SCOPE) === 0 && (request.mode === "navigate" || request.headers.get("X-Caregov-Keep"))) {
    event.respondWith(page(request));
  } else if (url.pathname.indexOf(STATIC_URL) === 0) {
    event.respondWith(asset(request));
  }
});

// Background Sync, where the browser has it: send the queue without waiting for a page.
self.addEventListener("sync", function (event) {
  if (event.tag !== "caregov-queue" || !self.CaregovQueue) return;
  event.waitUntil(
    self.CaregovQueue.freshToken(SCOPE)
      .then(function (token) { if (token) return self.CaregovQueue.replay({ csrf: token }); })
      .then(function (summary) {
        // The open pages say what was sent, as they do when they send it themselves.
        if (!summary) return;
        return self.clients.matchAll({ type: "window" }).then(function (pages) {
          pages.forEach(function (p) { p.postMessage({ type: "caregov-queue", summary: summary }); });
        });
      })
      .catch(function () { /* the pages send it when they next load */ })
  );
});

// An audit submitted or discarded: its record screens are of no use offline any more.
self.addEventListener("message", function (event) {
  if (!event.data || event.data.type !== "caregov-forget-audit") return;
  var prefix = self.location.origin + SCOPE + Number(event.data.audit) + "/records/";
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.filter(function (r) { return r.url.indexOf(prefix) === 0; }).map(function (r) { return cache.delete(r); }));
    });
  }));
});
