/* Review page: keyboard navigation (j/k/n) and in-place decisions, announced in #live.
   Everything here is an enhancement: without script the forms post and redirect back.
   The single-key shortcuts can be switched off (WCAG 2.1.4) and the choice is remembered. */
(function () {
  "use strict";
  var live = document.getElementById("live");
  var main = document.getElementById("main");

  function articles() {
    return Array.prototype.slice.call(document.querySelectorAll("article.change"));
  }

  function currentIndex(list) {
    var active = document.activeElement;
    var art = active && active.closest ? active.closest("article.change") : null;
    return art ? list.indexOf(art) : -1;
  }

  function go(article) {
    article.focus();
    article.scrollIntoView({ block: "start" });
  }

  function announce(text) {
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 30);
  }

  var KEYS = "tracker.review.single-key-shortcuts";
  var toggle = document.getElementById("keys-on");
  if (toggle) {
    try { toggle.checked = window.localStorage.getItem(KEYS) !== "off"; } catch (e) { /* storage blocked */ }
    document.getElementById("keys-switch").removeAttribute("hidden");
    toggle.addEventListener("change", function () {
      try { window.localStorage.setItem(KEYS, toggle.checked ? "on" : "off"); } catch (e) { /* not kept */ }
      announce(toggle.checked ? "Single-key shortcuts on." : "Single-key shortcuts off.");
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (toggle && !toggle.checked) { return; }
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) { return; }
    var list = articles();
    if (!list.length || (event.key !== "j" && event.key !== "k" && event.key !== "n")) { return; }
    var i = currentIndex(list);
    event.preventDefault();
    if (event.key === "j") {
      go(list[Math.min(i + 1, list.length - 1)]);
    } else if (event.key === "k") {
      go(list[Math.max(i - 1, 0)]);
    } else {
      for (var j = i + 1; j < list.length; j++) {
        if (list[j].getAttribute("data-reviewed") === "false") { go(list[j]); return; }
      }
      var next = main.getAttribute("data-next-unreviewed");
      if (next) { window.location.assign(next); } else { announce("No unreviewed change after this one."); }
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-enhance]")) { return; }
    event.preventDefault();
    var body = new FormData(form);
    if (event.submitter && event.submitter.name) { body.append(event.submitter.name, event.submitter.value); }
    var buttons = form.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.setAttribute("aria-disabled", "true"); });
    fetch(form.getAttribute("action"), {  // not form.action: an input is named "action"
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Fragment": "1", "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      Array.prototype.forEach.call(buttons, function (b) { b.removeAttribute("aria-disabled"); });
      if (!result.ok && !result.data.html) { announce("Not recorded: " + (result.data.detail || "the server refused it")); return; }
      var article = form.closest("article.change");
      if (article && result.data.html) {
        var holder = document.createElement("div");
        holder.innerHTML = result.data.html;
        var fresh = holder.querySelector("article.change");
        article.replaceWith(fresh);
        fresh.focus();
      }
      var progress = document.getElementById("progress");
      if (progress && typeof result.data.reviewed === "number") {
        progress.value = result.data.reviewed;
        var label = document.querySelector("label[for=progress]");
        if (label) { label.textContent = "Reviewed " + result.data.reviewed + " of " + result.data.total + " changed requirements"; }
      }
      announce(result.ok ? result.data.notice : result.data.detail);
    }).catch(function () {
      Array.prototype.forEach.call(buttons, function (b) { b.removeAttribute("aria-disabled"); });
      announce("Network error: the decision was not recorded.");
    });
  });
})();
