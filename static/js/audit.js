/* The record audit on a tablet, with or without a connection.

   The record screen carries the whole audit (every record, what the server holds for each, the
   messages a save can be refused with), so it moves from record to record without asking the
   server for a page. A tap on Save checks the record as caregov would, keeps it on this device
   with a fresh key (static/js/queue.js), then sends it. caregov's answer decides what happens to
   the device's copy: accepted, it is let go; refused, the reasons are shown and what was typed
   stays; no answer, the copy waits in the queue and the auditor moves on. "Submit audit" is
   queued the same way, with its submission key. Without JavaScript the pages post as forms. */
(function () {
  "use strict";
  var Q = window.CaregovQueue;
  if (!Q) return;
  var M = Q.MESSAGES;

  function csrf() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function setBusy(buttons, busy) {
    buttons.forEach(function (button) {
      if (busy) {
        button.setAttribute("aria-disabled", "true");
        button.dataset.label = button.dataset.label || button.textContent;
        button.textContent = "Sending…";
      } else {
        button.removeAttribute("aria-disabled");
        if (button.dataset.label) button.textContent = button.dataset.label;
        delete button.dataset.label;
      }
    });
  }

  // Pages of an audit that is submitted or discarded: what was typed on this device and never
  // saved is of no use any more. Saves not yet sent are left for the queue, which says what
  // became of them.
  function forgetScreens(audit) {
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "caregov-forget-audit", audit: audit });
    }
  }
  document.querySelectorAll("[data-audit-done]").forEach(function (node) {
    forgetScreens(node.getAttribute("data-audit-done"));
    Q.recordsOf(node.getAttribute("data-audit-done")).then(function (entries) {
      entries.forEach(function (e) { if (!e.saved) Q.deleteRecord(e.audit, e.record, e.user); });
    }).catch(function () { /* nothing kept */ });
  });

  // The audit's own page says what this device still holds for it, and shows the audit as
  // caregov has it once the device has sent it.
  document.querySelectorAll("[data-audit-device]").forEach(function (node) {
    var audit = node.getAttribute("data-audit-device");
    var user = node.getAttribute("data-audit-user");
    var show = function () {
      Promise.all([Q.recordsOf(audit, user), Q.getSubmission(audit)]).then(function (both) {
        var waiting = both[0].filter(function (e) { return e.saved; }).length;
        node.innerHTML = "";
        if (!waiting && !both[1]) return;
        var p = document.createElement("p");
        p.className = "notice";
        var what = [];
        if (waiting) what.push(waiting + " record" + (waiting === 1 ? "" : "s") + " of this audit");
        if (both[1]) what.push("its submission");
        p.textContent = what.join(" and ").replace(/^./, function (c) { return c.toUpperCase(); }) +
          (what.length > 1 || waiting > 1 ? " are " : " is ") + M.willBeSent;
        node.appendChild(p);
      }).catch(function () { /* nothing kept */ });
    };
    show();
    document.addEventListener("caregov:queue", function (event) {
      var s = event.detail;
      var mine = function (list) { return list.some(function (x) { return String(x.audit) === audit; }); };
      if (mine(s.submitted) || (mine(s.sent) && !s.offline)) { window.location.reload(); return; }
      show();
    });
  });

  // "Submit audit" on the audit's page: queued with its key, sent now if caregov answers.
  function submitForm(form) {
    var status = form.querySelector("[data-submit-status]");
    var buttons = Array.prototype.slice.call(form.querySelectorAll("button[type=submit]"));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      event.stopPropagation();
      if (form.dataset.sending === "1") return;
      form.dataset.sending = "1";
      setBusy(buttons, true);
      var submission = {
        audit: form.getAttribute("data-audit-submit"),
        url: form.action,
        key: form.elements.submission_key.value,
        user: form.getAttribute("data-audit-user"),
        detail_url: form.getAttribute("data-audit-detail"),
        t: Date.now()
      };
      Q.putSubmission(submission).then(function () { return Q.replay(); }).then(function (summary) {
        var done = summary.submitted.concat(summary.closed).filter(function (s) { return String(s.audit) === String(submission.audit); })[0];
        if (done) { window.location.assign(done.url || submission.detail_url); return; }
        var refused = summary.refused.filter(function (s) { return String(s.audit) === String(submission.audit) && !s.reference; })[0];
        form.dataset.sending = "";
        setBusy(buttons, false);
        if (refused) { status.textContent = refused.message; return; }
        status.textContent = summary.signin ? M.signIn({ words: "The submission", many: false }) : M.submissionKept(submission.audit);
        Q.requestSync();
      }).catch(function () {
        // No device storage at all: send it as a plain form.
        form.dataset.sending = "";
        HTMLFormElement.prototype.submit.call(form);
      });
    });
  }
  document.querySelectorAll("form[data-audit-submit]").forEach(submitForm);

  var node = document.getElementById("audit-data");
  if (node) recordScreen(JSON.parse(node.textContent));

  function recordScreen(audit) {
    var page = document.querySelector("[data-audit-page]");
    var form = page.querySelector("form[data-audit-record]");
    var screens = {
      record: page.querySelector("[data-audit-screen=record]"),
      review: page.querySelector("[data-audit-screen=review]")
    };
    var status = form.querySelector("[data-draft-status]");
    var saveButtons = Array.prototype.slice.call(form.querySelectorAll("button[type=submit]"));
    var previous = page.querySelector("[data-audit-previous]");
    var byPosition = {};
    audit.records.forEach(function (r) { byPosition[r.position] = r; });
    var state = { position: audit.position, sending: false, offline: navigator.onLine === false };
    var chain = Promise.resolve();
    // One write to the device at a time, in the order they were asked for.
    function inTurn(work) {
      chain = chain.then(work).catch(function () { /* storage refused: the form still posts */ });
      return chain;
    }
    function current() { return byPosition[state.position]; }
    function say(text, link) {
      status.textContent = text || "";
      if (link) {
        var a = document.createElement("a");
        a.href = link.href;
        a.textContent = link.text;
        status.appendChild(document.createTextNode(" "));
        status.appendChild(a);
      }
    }

    // The form's fields and what they hold ------------------------------------------------------

    function fields() {
      return Array.prototype.filter.call(form.elements, function (el) {
        return el.name && el.type !== "submit" && el.type !== "hidden" && el.name !== "then";
      });
    }
    function read() {
      var values = {};
      fields().forEach(function (el) {
        if (el.type === "radio") {
          if (!(el.name in values)) values[el.name] = "";
          if (el.checked) values[el.name] = el.value;
        } else values[el.name] = el.value;
      });
      return values;
    }
    function write(values) {
      fields().forEach(function (el) {
        var value = values[el.name] === undefined || values[el.name] === null ? "" : String(values[el.name]);
        if (el.type === "radio") el.checked = el.value === value;
        else el.value = value;
      });
      var more = form.querySelector("[data-audit-more]");
      if (more) {
        more.open = ["correction_made", "corrected_by", "corrected_on_day", "corrected_on_month", "corrected_on_year", "support_need", "support_staff"]
          .some(function (name) { return values[name]; });
      }
    }
    function same(a, b) {
      return Object.keys(a).concat(Object.keys(b)).every(function (name) {
        return String(a[name] || "") === String(b[name] || "");
      });
    }

    // Checking a record as caregov does, with caregov's own words ------------------------------

    function realDate(day, month, year) {
      if (!/^\d{1,2}$/.test(day) || !/^\d{1,2}$/.test(month) || !/^\d{4}$/.test(year)) return false;
      var d = new Date(Number(year), Number(month) - 1, Number(day));
      return d.getFullYear() === Number(year) && d.getMonth() === Number(month) - 1 && d.getDate() === Number(day);
    }
    function check(values) {
      var m = audit.messages, errors = {};
      audit.questions.forEach(function (q) {
        var answer = values["check_" + q.code], note = values["note_" + q.code] || "";
        if (!answer) errors["check_" + q.code] = [m["check_" + q.code]];
        else if (answer === "not_met" && !note.trim()) errors["note_" + q.code] = [m["note_" + q.code]];
        if (note.length > 300) errors["note_" + q.code] = [m.note_length];
      });
      var correction = (values.correction_made || "").trim();
      if (correction && !(values.corrected_by || "").trim()) errors.corrected_by = [m.corrected_by];
      var parts = [values.corrected_on_day, values.corrected_on_month, values.corrected_on_year].map(function (v) { return (v || "").trim(); });
      if (parts.some(Boolean)) {
        if (!realDate(parts[0], parts[1], parts[2])) errors.corrected_on = [m.corrected_on_invalid];
      } else if (correction) errors.corrected_on = [m.corrected_on];
      var need = values.support_need || "";
      if (need && need !== "none" && !(values.support_staff || "").trim()) errors.support_staff = [m.support_staff];
      return Object.keys(errors).length ? errors : null;
    }

    // Errors shown as the server shows them: a summary linking to each field, and at the field.
    var order = [];
    audit.questions.forEach(function (q) { order.push("check_" + q.code, "note_" + q.code); });
    order.push("correction_made", "corrected_by", "corrected_on", "support_need", "support_staff");
    function anchor(name) {
      if (name.indexOf("check_") === 0) return "id_" + name;
      if (name === "corrected_on") return "id_corrected_on_0";
      if (name === "support_need") return "id_support_need_0";
      return "id_" + name;
    }
    function errorLine(name, text) {
      var p = document.createElement("p");
      p.className = "field-error";
      p.setAttribute("data-error-for", name);
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = "Error:";
      p.appendChild(hidden);
      p.appendChild(document.createTextNode(" " + text));
      return p;
    }
    function clearErrors() {
      page.querySelector("[data-audit-errors]").innerHTML = "";
      form.querySelectorAll(".field-error").forEach(function (e) { e.remove(); });
      form.querySelectorAll(".field--error").forEach(function (e) { e.classList.remove("field--error"); });
    }
    function showErrors(errors) {
      clearErrors();
      var summary = document.createElement("div");
      summary.className = "error-summary";
      summary.setAttribute("role", "alert");
      summary.setAttribute("tabindex", "-1");
      summary.setAttribute("data-error-summary", "");
      summary.innerHTML = '<h2 class="error-summary__title">There is a problem</h2><ul class="error-summary__list"></ul>';
      var list = summary.querySelector("ul");
      var names = order.filter(function (n) { return errors[n]; }).concat(Object.keys(errors).filter(function (n) { return order.indexOf(n) === -1; }));
      names.forEach(function (name) {
        errors[name].forEach(function (text) {
          var li = document.createElement("li");
          var a = document.createElement("a");
          a.href = "#" + anchor(name);
          a.textContent = text;
          li.appendChild(a);
          list.appendChild(li);
          if (name.indexOf("check_") === 0) {
            var fieldset = form.querySelector("[data-check='" + name.slice(6) + "']");
            fieldset.classList.add("field--error");
            fieldset.insertBefore(errorLine(name, text), fieldset.querySelector(".radio-tiles"));
          } else if (name.indexOf("note_") === 0) {
            var box = form.querySelector("[data-check='" + name.slice(5) + "']");
            box.classList.add("field--error");
            box.insertBefore(errorLine(name, text), box.querySelector("label.visually-hidden"));
          } else {
            var field = form.querySelector("[data-field='" + name + "']");
            if (!field) return;
            field.classList.add("field--error");
            var input = field.querySelector(".date-input__boxes") || field.querySelector("input, textarea, select, div[id]");
            input.parentNode.insertBefore(errorLine(name, text), input);
            form.querySelector("[data-audit-more]").open = true;
          }
        });
      });
      page.querySelector("[data-audit-errors]").appendChild(summary);
      window.scrollTo(0, 0);
      summary.focus();
    }

    // Moving between records without a page from the server ------------------------------------

    function entryFor(record) {
      return Q.getRecord(audit.id, record.id, audit.user).then(function (entry) {
        return entry || { audit: audit.id, record: record.id, position: record.position, reference: record.reference, url: record.url, user: audit.user, draft: null, saved: null };
      });
    }
    function label(record) {
      return record.position < audit.total ? "Save and next record" : "Save and review the audit";
    }
    // Moving on: the page's messages were about the screen it opened on; the offline banner
    // goes with the buttons on show.
    function moved(screen) {
      document.querySelectorAll(".messages").forEach(function (m) { m.remove(); });
      var banner = document.querySelector(".banner--offline.banner--inline");
      var slot = screen.querySelector("[data-offline-slot]");
      if (banner && slot && banner.parentNode !== slot) slot.insertBefore(banner, slot.firstChild);
    }
    function showRecord(position, options) {
      options = options || {};
      if (options.push || position !== state.position) moved(screens.record);
      state.position = position;
      var record = current();
      screens.review.hidden = true;
      screens.record.hidden = false;
      page.querySelector("[data-audit-progress]").textContent = "Record " + position + " of " + audit.total;
      var heading = page.querySelector("[data-audit-reference]");
      heading.textContent = record.reference;
      document.title = "Record " + position + " of " + audit.total + ": audit " + audit.id + " · caregov";
      form.action = record.url;
      saveButtons[0].textContent = label(record);
      if (saveButtons[0].dataset.label) saveButtons[0].dataset.label = label(record);
      if (position > 1) { previous.hidden = false; previous.href = byPosition[position - 1].url; }
      else previous.hidden = true;
      var actions = page.querySelector("[data-audit-actions]");
      if (options.keepActions !== true) {
        actions.innerHTML = "";
        if (record.actions && record.actions.length) {
          var notice = document.createElement("p");
          notice.className = "notice";
          notice.appendChild(document.createTextNode("Action" + (record.actions.length === 1 ? "" : "s") + " raised for this record: "));
          record.actions.forEach(function (action, i) {
            if (i) notice.appendChild(document.createTextNode("; "));
            var a = document.createElement("a");
            a.href = action.url;
            a.textContent = action.title;
            notice.appendChild(a);
          });
          actions.appendChild(notice);
        }
      }
      if (options.push) history.pushState({ position: position }, "", record.url);
      clearErrors();
      return entryFor(record).then(function (entry) {
        if (entry.draft) write(entry.draft.values);
        else if (entry.saved) write(entry.saved.values);
        else write(record.values);
        if (entry.saved && entry.saved.state === "refused") {
          showErrors(entry.saved.errors || {});
          say("caregov did not accept this record as it was saved. Put it right and save again.");
        } else if (entry.draft) say(M.restored);
        else if (entry.saved) say(M.recordKept(record.reference));
        else say(options.message || "");
        if (options.focus) { window.scrollTo(0, 0); heading.focus(); }
      });
    }

    // The answers to check before submitting, from what caregov and this device hold.
    function showReview(options) {
      options = options || {};
      screens.record.hidden = true;
      screens.review.hidden = false;
      moved(screens.review);
      document.title = "Check the answers: audit " + audit.id + " · caregov";
      if (options.push) history.pushState({ review: true }, "", audit.detail_url);
      return Promise.all([Q.recordsOf(audit.id, audit.user), Q.getSubmission(audit.id)]).then(function (both) {
        var held = {};
        both[0].forEach(function (e) { held[e.record] = e; });
        var submission = both[1];
        var list = screens.review.querySelector("[data-review-list]");
        list.innerHTML = "";
        var todo = [];
        audit.records.forEach(function (record) {
          var entry = held[record.id];
          var kept = entry && entry.saved;
          var values = kept ? entry.saved.values : record.values;
          var where;
          if (kept && entry.saved.state === "refused") { where = ["Not accepted: open it to see why", "red"]; todo.push(record); }
          else if (kept) where = ["Kept on this device, to send", "blue"];
          else if (record.saved) where = ["Sent to caregov", "green"];
          else { where = ["Not checked yet", "grey"]; todo.push(record); }
          var li = document.createElement("li");
          li.className = "record-card";
          var h = document.createElement("h2");
          h.className = "record-card__ref";
          var a = document.createElement("a");
          a.href = record.url;
          a.textContent = record.reference;
          a.setAttribute("data-open-record", record.position);
          h.appendChild(document.createTextNode(record.position + ". "));
          h.appendChild(a);
          h.appendChild(document.createTextNode(" "));
          var tag = document.createElement("span");
          tag.className = "tag tag--" + where[1];
          tag.textContent = where[0];
          h.appendChild(tag);
          li.appendChild(h);
          var dl = document.createElement("dl");
          dl.className = "record-card__checks";
          audit.questions.forEach(function (q) {
            var answer = values["check_" + q.code];
            var div = document.createElement("div");
            var dt = document.createElement("dt");
            dt.textContent = q.name;
            var dd = document.createElement("dd");
            if (answer) {
              var t = document.createElement("span");
              t.className = "tag tag--" + (answer === "met" ? "green" : answer === "not_met" ? "red" : "grey");
              t.textContent = audit.answers[answer];
              dd.appendChild(t);
              if (values["note_" + q.code]) dd.appendChild(document.createTextNode(" " + values["note_" + q.code]));
            } else {
              var muted = document.createElement("span");
              muted.className = "muted";
              muted.textContent = "Not checked";
              dd.appendChild(muted);
            }
            div.appendChild(dt);
            div.appendChild(dd);
            dl.appendChild(div);
          });
          var row = function (name, text) {
            var div = document.createElement("div");
            var dt = document.createElement("dt");
            dt.textContent = name;
            var dd = document.createElement("dd");
            dd.textContent = text;
            div.appendChild(dt);
            div.appendChild(dd);
            dl.appendChild(div);
          };
          if (values.correction_made) {
            var on = [values.corrected_on_day, values.corrected_on_month, values.corrected_on_year].filter(Boolean).join(" ");
            row("Correction", values.correction_made + " (" + [values.corrected_by, on].filter(Boolean).join(", ") + ")");
          }
          if (values.support_need) {
            row("Staff support", values.support_need === "none" ? "None needed" : audit.needs[values.support_need] + ": " + (values.support_staff || ""));
          }
          li.appendChild(dl);
          list.appendChild(li);
        });
        var lead = screens.review.querySelector("[data-review-lead]");
        var actions = screens.review.querySelector("[data-review-actions]");
        var reviewStatus = screens.review.querySelector("[data-review-status]");
        actions.innerHTML = "";
        reviewStatus.textContent = "";
        if (submission) {
          lead.textContent = "These are the answers kept on this device for audit " + audit.id + ".";
          reviewStatus.textContent = M.submissionKept(audit.id);
        } else if (todo.length) {
          lead.textContent = todo.length + " record" + (todo.length === 1 ? "" : "s") + " still to check before the audit can be submitted.";
          var go = document.createElement("a");
          go.className = "button";
          go.href = todo[0].url;
          go.setAttribute("data-open-record", todo[0].position);
          go.textContent = "Continue with record " + todo[0].position;
          actions.appendChild(go);
        } else {
          lead.textContent = "Once submitted the audit is locked and its answers count in " + audit.service + "'s figures for " + audit.period + ". A later correction is a linked follow-up.";
          var submit = document.createElement("button");
          submit.type = "button";
          submit.className = "button";
          submit.textContent = "Submit audit";
          submit.setAttribute("data-review-submit", "");
          actions.appendChild(submit);
        }
        if (options.message) reviewStatus.textContent = options.message;
        var heading = screens.review.querySelector("h1");
        window.scrollTo(0, 0);
        heading.focus();
      });
    }

    screens.review.addEventListener("click", function (event) {
      var open = event.target.closest("[data-open-record]");
      if (open) {
        event.preventDefault();
        showRecord(Number(open.getAttribute("data-open-record")), { push: true, focus: true });
        return;
      }
      var submit = event.target.closest("[data-review-submit]");
      if (!submit || submit.getAttribute("aria-disabled")) return;
      if (!window.confirm("Submit audit " + audit.id + "? It will be locked.")) return;
      setBusy([submit], true);
      var submission = { audit: audit.id, url: audit.submit_url, key: Q.uuid(), user: audit.user, detail_url: audit.detail_url, t: Date.now() };
      Q.putSubmission(submission).then(function () { return Q.replay(); }).then(function (summary) {
        var done = summary.submitted.concat(summary.closed).filter(function (s) { return String(s.audit) === String(audit.id); })[0];
        if (done) { window.location.assign(done.url || audit.detail_url); return; }
        Q.requestSync();
        var refused = summary.refused.filter(function (s) { return String(s.audit) === String(audit.id) && !s.reference; })[0];
        return showReview({ message: refused ? refused.message : summary.signin ? M.signIn({ words: "The submission", many: false }) : M.submissionKept(audit.id) });
      });
    });

    // Typing is kept on the device as it happens.
    function keepDraft() {
      var record = current();
      var values = read();
      return inTurn(function () {
        return entryFor(record).then(function (entry) {
          if (same(values, entry.saved ? entry.saved.values : record.values)) {
            entry.draft = null;
            if (!entry.saved) return Q.deleteRecord(audit.id, record.id, audit.user);
          } else entry.draft = { values: values, t: Date.now() };
          return Q.putRecord(entry);
        });
      }).then(function () {
        if (!state.sending) say(M.draftKept);
      });
    }
    form.addEventListener("input", keepDraft);
    form.addEventListener("change", keepDraft);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      event.stopPropagation();
      if (state.sending) return;
      var then = event.submitter && event.submitter.value === "action" ? "action" : "next";
      var record = current();
      var values = read();
      var errors = check(values);
      if (errors) { keepDraft(); showErrors(errors); return; }
      var key = Q.uuid();
      state.sending = true;
      setBusy(saveButtons, true);
      var entry;
      inTurn(function () {
        return entryFor(record).then(function (found) {
          entry = found;
          entry.draft = null;
          entry.saved = { values: values, key: key, t: Date.now(), state: "queued" };
          return Q.putRecord(entry);
        });
      }).then(function () {
        if (!entry) throw new Error("not kept");
        return Q.sendRecord(entry, csrf(), then);
      }).then(function (outcome) {
        return afterSave(record, values, key, then, outcome);
      }).catch(function () {
        // The device refused to keep it (no storage at all): post it as a plain form.
        HTMLFormElement.prototype.submit.call(form);
      }).then(function () {
        state.sending = false;
        setBusy(saveButtons, false);
      });
    });

    function afterSave(record, values, key, then, outcome) {
      if (outcome.status === "accepted") {
        record.saved = true;
        record.values = values;
        record.save_key = key;
        state.offline = false;
        return inTurn(function () {
          return Q.getRecord(audit.id, record.id, audit.user).then(function (entry) {
            if (!entry || !entry.saved || entry.saved.key !== key) return;
            entry.saved = null;
            return entry.draft ? Q.putRecord(entry) : Q.deleteRecord(audit.id, record.id, audit.user);
          });
        }).then(function () {
          if (then === "action") { window.location.assign(record.action_url); return; }
          if (record.position < audit.total) {
            keepForOffline(byPosition[record.position + 1].url);
            return showRecord(record.position + 1, { push: true, focus: true, message: "Record " + record.reference + " saved." });
          }
          window.location.assign(outcome.body.next || audit.detail_url);
        });
      }
      if (outcome.status === "refused") {
        return inTurn(function () {
          return entryFor(record).then(function (entry) {
            entry.saved = null;
            entry.draft = { values: values, t: Date.now() };
            return Q.putRecord(entry);
          });
        }).then(function () { showErrors(outcome.body.errors || {}); say(""); });
      }
      if (outcome.status === "closed") {
        window.location.assign(outcome.body.url || audit.detail_url);
        return;
      }
      // No answer, or not one caregov gives to a save: the record waits on this device.
      state.offline = true;
      Q.requestSync();
      var message = outcome.status === "signin"
        ? M.signIn({ words: "Record " + record.reference, many: false })
        : outcome.status === "other_person" ? M.otherPerson : M.recordKept(record.reference);
      if (then === "action") { say(M.actionNeedsConnection); return; }
      if (record.position < audit.total) {
        return showRecord(record.position + 1, { push: true, focus: true }).then(function () { say(message); });
      }
      return showReview({ push: true, message: message });
    }

    // With a service worker, have it keep a fresh copy of the next record's screen, which
    // carries the audit as caregov now has it: a reload without a connection shows that.
    function keepForOffline(url) {
      if (!navigator.serviceWorker || !navigator.serviceWorker.controller) return;
      fetch(url, { credentials: "same-origin", headers: { "X-Caregov-Keep": "1" } }).catch(function () { /* kept next time */ });
    }

    previous.addEventListener("click", function (event) {
      if (previous.hidden) return;
      event.preventDefault();
      showRecord(state.position - 1, { push: true, focus: true });
    });
    // Without a connection the audit's own page is the answers to check, shown here.
    page.querySelector("[data-audit-back]").addEventListener("click", function (event) {
      if (!(state.offline || navigator.onLine === false)) return;
      event.preventDefault();
      showReview({ push: true });
    });
    window.addEventListener("popstate", function (event) {
      var s = event.state || {};
      if (s.review) showReview();
      else if (s.position) showRecord(s.position, { focus: true });
    });
    window.addEventListener("online", function () { state.offline = false; });
    window.addEventListener("offline", function () { state.offline = true; });

    // What the queue did, said here: the record kept, sent, or the audit submitted.
    document.addEventListener("caregov:queue", function (event) {
      var s = event.detail;
      var mine = function (x) { return String(x.audit) === String(audit.id); };
      var submitted = s.submitted.filter(mine)[0] || s.closed.filter(mine)[0];
      if (submitted) { window.location.assign(submitted.url || audit.detail_url); return; }
      s.sent.filter(mine).forEach(function (entry) {
        var record = byPosition[entry.position];
        if (record) { record.saved = true; record.values = entry.saved.values; }
      });
      if (!screens.review.hidden) showReview();
      else if (s.sent.some(function (e) { return mine(e) && e.position === state.position; })) say("Sent to caregov.");
    });

    // On arriving ------------------------------------------------------------------------------

    history.replaceState({ position: state.position }, "", window.location.href);
    // A page kept for offline use still holds the messages it was first shown with.
    if (navigator.onLine === false) document.querySelectorAll(".messages").forEach(function (m) { m.remove(); });
    var serverErrors = !!form.querySelector(".field-error");
    // A page kept by the service worker may be another record's: show the one the address names.
    var path = window.location.pathname;
    var named = audit.records.filter(function (r) { return r.url === path; })[0];
    // Drafts kept by an older version of this page, in localStorage: taken over, not lost.
    audit.records.forEach(function (record) {
      var old = "caregov-audit-" + audit.id + "-record-" + record.id;
      var raw = null;
      try { raw = window.localStorage.getItem(old); } catch (e) { return; }
      if (!raw) return;
      inTurn(function () {
        return entryFor(record).then(function (entry) {
          var parsed = JSON.parse(raw);
          if (!entry.draft && !entry.saved && parsed && parsed.values) {
            entry.draft = { values: parsed.values, t: parsed.t || Date.now() };
            return Q.putRecord(entry);
          }
        }).then(function () { window.localStorage.removeItem(old); });
      });
    });
    if (path === audit.detail_url) {
      state.offline = true;
      inTurn(function () { return showReview(); });
    } else if (named && named.position !== state.position) {
      inTurn(function () { return showRecord(named.position, { focus: true }); });
    } else if (serverErrors) {
      // The server has just refused this record and shows what was posted: keep it on the device.
      keepDraft();
    } else {
      inTurn(function () { return showRecord(state.position, { keepActions: true }); });
    }
  }
})();
