/* What an audit leaves on this device until caregov has it, and the queue that sends it.

   IndexedDB "caregov-device" holds two stores:
   - records: one entry per audit and record ("a<audit>-r<record>"), so two audits never mix:
     `draft` is what was typed and not yet saved; `saved` is the last save not yet accepted by
     caregov, with the idempotency key it is sent with (a resend changes nothing twice).
   - submissions: one per audit, with its submission key.
   An entry is removed only when caregov has answered that it has the record (or the audit).

   The queue is sent when a page loads, when the connection comes back, every 30 seconds while
   something waits, and by the service worker's Background Sync where the browser has it (Safari
   has not, so nothing depends on it). This file runs in pages and in the service worker. */
(function (global) {
  "use strict";

  var DB_NAME = "caregov-device";
  var DB_VERSION = 1;

  // The one message about what will happen, in every place that says it.
  var WILL_BE_SENT = "kept on this device and will be sent to caregov when the connection is back.";
  var MESSAGES = {
    willBeSent: WILL_BE_SENT,
    offline: "You are offline. What you save is " + WILL_BE_SENT,
    draftKept: "What you entered is kept on this device.",
    restored: "Restored what you entered on this device. Save to send it.",
    recordKept: function (reference) { return "Record " + reference + " is " + WILL_BE_SENT; },
    submissionKept: function (audit) {
      return "Audit " + audit + " is " + WILL_BE_SENT.replace("will be sent to", "will be submitted to");
    },
    waiting: function (p) { return p.words + (p.many ? " are " : " is ") + WILL_BE_SENT; },
    signIn: function (p) {
      return p.words + (p.many ? " are" : " is") + " kept on this device. Sign in again to send " +
        (p.many ? "them" : "it") + " to caregov; " + (p.many ? "they stay" : "it stays") + " on this device until then.";
    },
    otherPerson: "Answers kept on this device by someone else are waiting for them to sign in here.",
    sending: "Sending what is kept on this device…",
    actionNeedsConnection: "Raising an action needs the connection. The record is kept on this device: raise the action from it when the connection is back."
  };

  function uuid() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    global.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // Storage: IndexedDB; where a browser refuses it (an old private window), localStorage.
  var opened = null;
  function database() {
    if (opened) return opened;
    opened = new Promise(function (resolve, reject) {
      if (!global.indexedDB) { reject(new Error("IndexedDB is not available")); return; }
      var request = global.indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("records")) {
          db.createObjectStore("records", { keyPath: "id" }).createIndex("audit", "audit");
        }
        if (!db.objectStoreNames.contains("submissions")) {
          db.createObjectStore("submissions", { keyPath: "audit" });
        }
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
    return opened;
  }

  function idb(store, mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(store, mode);
        var result;
        transaction.oncomplete = function () { resolve(result); };
        transaction.onerror = function () { reject(transaction.error); };
        transaction.onabort = function () { reject(transaction.error); };
        var request = work(transaction.objectStore(store));
        if (request) request.onsuccess = function () { result = request.result; };
      });
    });
  }

  var fallback = {
    prefix: function (store) { return DB_NAME + ":" + store + ":"; },
    all: function (store) {
      var out = [];
      try {
        Object.keys(global.localStorage).forEach(function (name) {
          if (name.indexOf(fallback.prefix(store)) === 0) out.push(JSON.parse(global.localStorage.getItem(name)));
        });
      } catch (e) { /* nothing kept */ }
      return out;
    },
    keyOf: function (store, value) { return fallback.prefix(store) + (store === "records" ? value.id : value.audit); }
  };

  function useFallback(error) {
    if (!global.localStorage) throw error;
    return true;
  }

  function all(store) {
    return idb(store, "readonly", function (s) { return s.getAll(); }).catch(function (error) {
      useFallback(error);
      return fallback.all(store);
    });
  }
  function get(store, key) {
    return idb(store, "readonly", function (s) { return s.get(key); }).catch(function (error) {
      useFallback(error);
      var raw = global.localStorage.getItem(fallback.prefix(store) + key);
      return raw ? JSON.parse(raw) : undefined;
    });
  }
  function put(store, value) {
    return idb(store, "readwrite", function (s) { return s.put(value); }).catch(function (error) {
      useFallback(error);
      global.localStorage.setItem(fallback.keyOf(store, value), JSON.stringify(value));
    });
  }
  function remove(store, key) {
    return idb(store, "readwrite", function (s) { return s.delete(key); }).catch(function (error) {
      useFallback(error);
      global.localStorage.removeItem(fallback.prefix(store) + key);
    });
  }

  // Keyed by audit and record, and by the person who typed it: two audits never mix, and on a
  // shared tablet one person's answers are never shown to, or sent as, another.
  function recordId(audit, record, user) { return "a" + audit + "-r" + record + "-u" + user; }

  var Queue = {
    MESSAGES: MESSAGES,
    uuid: uuid,
    recordId: recordId,
    getRecord: function (audit, record, user) { return get("records", recordId(audit, record, user)); },
    putRecord: function (entry) { entry.id = recordId(entry.audit, entry.record, entry.user); return put("records", entry); },
    deleteRecord: function (audit, record, user) { return remove("records", recordId(audit, record, user)); },
    // An audit's entries on this device; only one person's when `user` is given.
    recordsOf: function (audit, user) {
      return all("records").then(function (entries) {
        return entries.filter(function (e) {
          return String(e.audit) === String(audit) && (user === undefined || String(e.user) === String(user));
        });
      });
    },
    allRecords: function () { return all("records"); },
    getSubmission: function (audit) { return get("submissions", Number(audit)); },
    putSubmission: function (entry) { entry.audit = Number(entry.audit); return put("submissions", entry); },
    deleteSubmission: function (audit) { return remove("submissions", Number(audit)); },
    allSubmissions: function () { return all("submissions"); }
  };

  // Sending ------------------------------------------------------------------------------------

  function encode(values) {
    var body = new URLSearchParams();
    Object.keys(values).forEach(function (name) {
      if (values[name] !== null && values[name] !== undefined) body.append(name, values[name]);
    });
    return body;
  }

  // POST to caregov asking for JSON. The answer is one of: accepted / submitted, refused (with
  // the reasons), closed (the audit is submitted or discarded), other_person, signin (the session
  // has ended), offline (no answer at all) or error (an answer that says nothing useful).
  function post(url, values, csrf, queuedBy) {
    var controller = global.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, 20000) : null;
    var headers = {
      "Accept": "application/json",
      "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
      "X-CSRFToken": csrf
    };
    if (queuedBy) headers["X-Caregov-Queued-By"] = String(queuedBy);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: encode(values).toString(),
      signal: controller ? controller.signal : undefined
    }).then(function (response) {
      clearTimeout(timer);
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) {
        // Sent to the sign-in page: the session ended while the device was offline.
        if (response.redirected && response.url.indexOf("next=") !== -1) return { status: "signin" };
        return { status: "error", code: response.status };
      }
      return response.json().then(function (body) {
        return { status: body.status || "error", body: body, code: response.status };
      });
    }, function () {
      clearTimeout(timer);
      return { status: "offline" };
    });
  }

  // `then` is what the person tapped ("next" or "action"); a replay has none.
  Queue.sendRecord = function (entry, csrf, then) {
    var values = {};
    Object.keys(entry.saved.values).forEach(function (name) { values[name] = entry.saved.values[name]; });
    values.save_key = entry.saved.key;
    if (then) values.then = then;
    return post(entry.url, values, csrf, entry.user);
  };

  Queue.sendSubmission = function (submission, csrf) {
    return post(submission.url, { submission_key: submission.key }, csrf, submission.user);
  };

  function freshToken(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      return response.redirected ? "" : response.text();
    }).then(function (html) {
      return (html.match(/name="csrfmiddlewaretoken" value="([^"]+)"/) || [])[1] || "";
    }, function () { return ""; });
  }
  Queue.freshToken = freshToken;

  function pageToken() {
    if (typeof document === "undefined") return "";
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function byPosition(a, b) {
    return (a.audit - b.audit) || (a.position - b.position);
  }

  function inTurn(items, work) {
    return items.reduce(function (chain, item) {
      return chain.then(function () { return work(item); });
    }, Promise.resolve());
  }

  function run(csrf) {
    var summary = {
      sent: [], submitted: [], refused: [], closed: [], otherPerson: false,
      signin: false, offline: false, error: false, left: 0
    };
    function stopped() { return summary.offline || summary.signin; }
    return Promise.all([Queue.allRecords(), Queue.allSubmissions()]).then(function (both) {
      var records = both[0].filter(function (e) { return e.saved && e.saved.state !== "refused"; }).sort(byPosition);
      var submissions = both[1];
      if (!records.length && !submissions.length) return summary;
      if (!csrf) { summary.signin = true; return summary; }
      return inTurn(records, function (entry) {
        if (stopped()) return;
        var key = entry.saved.key;
        return Queue.sendRecord(entry, csrf).then(function (outcome) {
          // Refused by the CSRF check: the token is from before a sign-in. Ask for a page of
          // the session as it is now, and send once more with its token.
          if (outcome.status !== "error" || outcome.code !== 403) return outcome;
          return freshToken(entry.url).then(function (token) {
            if (!token) return outcome;
            csrf = token;
            return Queue.sendRecord(entry, csrf);
          });
        }).then(function (outcome) {
          // Read the entry again: the page may have changed it while this save was on its way.
          return Queue.getRecord(entry.audit, entry.record, entry.user).then(function (now) {
            now = now || entry;
            var same = now.saved && now.saved.key === key;
            switch (outcome.status) {
              case "accepted":
                summary.sent.push(entry);
                if (!same) return;
                now.saved = null;
                return now.draft ? Queue.putRecord(now) : Queue.deleteRecord(entry.audit, entry.record, entry.user);
              case "refused":
                summary.refused.push({ audit: entry.audit, reference: entry.reference, url: entry.url, errors: outcome.body.errors });
                if (!same) return;
                now.saved.state = "refused";
                now.saved.errors = outcome.body.errors;
                return Queue.putRecord(now);
              case "closed":
                summary.closed.push({ audit: entry.audit, message: outcome.body.message, url: outcome.body.url });
                return Queue.deleteRecord(entry.audit, entry.record, entry.user);
              case "other_person": summary.otherPerson = true; return;
              case "signin": summary.signin = true; return;
              case "offline": summary.offline = true; return;
              default: summary.error = true;
            }
          });
        });
      }).then(function () {
        if (stopped()) return;
        return inTurn(submissions, function (submission) {
          if (stopped()) return;
          return Queue.recordsOf(submission.audit, submission.user).then(function (entries) {
            // An audit is submitted once every record it has on this device is accepted.
            if (entries.some(function (e) { return e.saved; })) return;
            return Queue.sendSubmission(submission, csrf).then(function (outcome) {
              switch (outcome.status) {
                case "submitted":
                  summary.submitted.push({ audit: submission.audit, message: outcome.body.message, url: outcome.body.url });
                  return Queue.deleteSubmission(submission.audit).then(function () {
                    return inTurn(entries, function (e) { return Queue.deleteRecord(e.audit, e.record, e.user); });
                  });
                case "refused":
                case "closed":
                  (outcome.status === "closed" ? summary.closed : summary.refused).push({
                    audit: submission.audit, message: outcome.body.message, url: submission.detail_url || outcome.body.url
                  });
                  return Queue.deleteSubmission(submission.audit);
                case "other_person": summary.otherPerson = true; return;
                case "signin": summary.signin = true; return;
                case "offline": summary.offline = true; return;
                default: summary.error = true;
              }
            });
          });
        });
      }).then(function () { return summary; });
    }).then(function (result) {
      return Queue.pending().then(function (pending) { result.pending = pending; return result; });
    });
  }

  // What is waiting, in words: "3 records of audit 12 and the submission of audit 12".
  Queue.pending = function () {
    return Promise.all([Queue.allRecords(), Queue.allSubmissions()]).then(function (both) {
      var records = both[0].filter(function (e) { return e.saved; });
      var audits = {};
      records.forEach(function (e) { audits[e.audit] = (audits[e.audit] || 0) + 1; });
      var parts = Object.keys(audits).map(function (audit) {
        return audits[audit] + " record" + (audits[audit] === 1 ? "" : "s") + " of audit " + audit;
      });
      both[1].forEach(function (s) { parts.push("the submission of audit " + s.audit); });
      var words = parts.length > 1 ? parts.slice(0, -1).join(", ") + " and " + parts[parts.length - 1] : (parts[0] || "");
      return {
        many: parts.length > 1 || records.length > 1,
        records: records.length, submissions: both[1].length,
        refused: records.filter(function (e) { return e.saved.state === "refused"; }),
        words: words ? words.charAt(0).toUpperCase() + words.slice(1) : ""
      };
    });
  };

  var running = null;
  Queue.replay = function (options) {
    if (running) return running;
    var csrf = (options && options.csrf) || pageToken();
    var work = function () { return run(csrf); };
    var locked = global.navigator && global.navigator.locks
      ? global.navigator.locks.request("caregov-queue", work)
      : work();
    running = Promise.resolve(locked).then(function (summary) {
      running = null;
      if (typeof document !== "undefined") {
        document.dispatchEvent(new CustomEvent("caregov:queue", { detail: summary }));
      }
      return summary;
    }, function (error) { running = null; throw error; });
    return running;
  };

  // Ask the service worker to send the queue too, where the browser has Background Sync.
  Queue.requestSync = function () {
    if (!global.navigator || !global.navigator.serviceWorker) return;
    global.navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) return registration.sync.register("caregov-queue");
    }).catch(function () { /* the pages send it */ });
  };

  global.CaregovQueue = Queue;

  if (typeof document === "undefined") return;

  // In pages: send on load, on reconnect and every 30 seconds while something waits ------------

  var lastSummary = null;
  function sendNow() {
    return Queue.replay().then(function (summary) { lastSummary = summary; return summary; }).catch(function () { return null; });
  }
  global.addEventListener("online", sendNow);
  if (navigator.serviceWorker) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (!event.data || event.data.type !== "caregov-queue") return;
      lastSummary = event.data.summary;
      document.dispatchEvent(new CustomEvent("caregov:queue", { detail: event.data.summary }));
    });
  }
  setInterval(function () {
    if (navigator.onLine === false) return;
    if (lastSummary && !(lastSummary.offline || lastSummary.error)) return;
    Queue.pending().then(function (p) { if (p.records - p.refused.length > 0 || p.submissions) sendNow(); });
  }, 30000);

  // Say what happened, on pages other than the record screen (which says it in its own place).
  function statusRegion() {
    var region = document.querySelector("[data-queue-status]");
    if (region) return region;
    var main = document.querySelector("main");
    if (!main) return null;
    region = document.createElement("div");
    region.setAttribute("data-queue-status", "");
    region.setAttribute("aria-live", "polite");
    main.insertBefore(region, main.firstChild);
    return region;
  }
  function say(region, text, link) {
    region.innerHTML = "";
    if (!text) return;
    var notice = document.createElement("p");
    notice.className = "notice";
    notice.textContent = text + (link ? " " : "");
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      notice.appendChild(a);
    }
    region.appendChild(notice);
  }
  function describe(summary) {
    if (summary.submitted.length) {
      return { text: "Sent to caregov: " + summary.submitted.map(function (s) { return s.message; }).join(" "), kind: "success" };
    }
    if (summary.refused.length) {
      var first = summary.refused[0];
      return {
        text: first.reference
          ? "caregov did not accept record " + first.reference + " of audit " + first.audit + ", kept on this device."
          : "Audit " + first.audit + " was not submitted: " + first.message,
        link: { href: first.url, text: first.reference ? "Open it to see why" : "Open audit " + first.audit }
      };
    }
    if (summary.closed.length) return { text: summary.closed[0].message };
    if (summary.pending && summary.pending.words) {
      if (summary.signin) return { text: MESSAGES.signIn(summary.pending) };
      if (summary.otherPerson) return { text: MESSAGES.otherPerson };
      return { text: MESSAGES.waiting(summary.pending) };
    }
    if (summary.sent.length) {
      return { text: "Sent to caregov: " + summary.sent.length + " record" + (summary.sent.length === 1 ? "" : "s") + " kept on this device.", kind: "success" };
    }
    return null;
  }
  document.addEventListener("caregov:queue", function (event) {
    if (document.querySelector("[data-audit-page]")) return;
    var said = describe(event.detail);
    if (!said) return;
    var region = statusRegion();
    if (!region) return;
    say(region, said.text, said.link);
    if (said.kind) region.firstChild.classList.add("notice--" + said.kind);
  });

  function start() {
    // The audit pages register the service worker that keeps them for use offline.
    var worker = document.querySelector("[data-audit-worker]");
    if (worker && navigator.serviceWorker) {
      navigator.serviceWorker.register(worker.getAttribute("data-audit-worker"), {
        scope: worker.getAttribute("data-audit-scope")
      }).catch(function () { /* the pages work without it */ });
    }
    // Pages kept for offline use are the signed-in person's: a page seen signed out (the one
    // signing out leads to, the sign-in page) forgets them. Signing out itself is not held up.
    // What was saved in the queue stays until caregov has it.
    if (!document.querySelector("form[action$='/logout/']") && global.caches) {
      caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf("caregov-audit-") === 0; }).map(function (n) { return caches.delete(n); }));
      }).catch(function () { /* nothing kept */ });
    }
    Queue.pending().then(function (p) {
      if (!p.records && !p.submissions) return;
      if (navigator.onLine === false) {
        document.dispatchEvent(new CustomEvent("caregov:queue", {
          detail: { sent: [], submitted: [], refused: [], closed: [], offline: true, pending: p }
        }));
        return;
      }
      if (!document.querySelector("[data-audit-page]")) {
        var region = statusRegion();
        if (region) say(region, MESSAGES.sending);
      }
      sendNow();
    }).catch(function () { /* nothing kept on this device */ });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(typeof self !== "undefined" ? self : this);
