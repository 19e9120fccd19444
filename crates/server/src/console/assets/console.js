// Bulwark console: progressive enhancement only. Every link and form works without this script; with it,
// flyouts open without a reload, filter forms apply as they change, exception forms preview their effect
// on the scores, and the theme toggle remembers its choice.
(function () {
  "use strict";

  var stored = localStorage.getItem("bulwark-theme");
  if (stored) document.documentElement.dataset.theme = stored;

  function fetchPage(url, init) {
    return fetch(url, Object.assign({ credentials: "same-origin", headers: { "X-Bulwark-Script": "1" } }, init || {}))
      .then(function (r) {
        if (r.redirected && r.url.indexOf("/login") !== -1) { window.location = r.url; throw new Error("signed out"); }
        return r.text().then(function (t) { return new DOMParser().parseFromString(t, "text/html"); });
      });
  }

  var lastFocus = null;
  function closeFlyout(push) {
    var root = document.getElementById("flyout-root");
    var open = document.getElementById("flyout");
    if (open) open.remove();
    if (root) root.innerHTML = "";
    if (push) {
      var url = new URL(window.location.href);
      url.searchParams.delete("flyout");
      history.pushState({}, "", url);
    }
    if (lastFocus) lastFocus.focus();
  }

  function showFlyout(doc, url) {
    var flyout = doc.getElementById("flyout");
    if (!flyout) { window.location = url; return; }
    var existing = document.getElementById("flyout");
    if (existing) existing.remove();
    document.getElementById("flyout-root").appendChild(document.importNode(flyout, true));
    history.pushState({ flyout: true }, "", url);
    var title = document.getElementById("flyout-title");
    if (title) { title.setAttribute("tabindex", "-1"); title.focus(); }
  }

  function replaceMain(doc, url) {
    var main = doc.getElementById("main");
    if (!main) { window.location = url; return; }
    document.getElementById("main").innerHTML = main.innerHTML;
    document.title = doc.title;
    history.replaceState({}, "", url);
  }

  document.addEventListener("click", function (e) {
    var toggle = e.target.closest("[data-theme-toggle]");
    if (toggle) {
      var dark = window.matchMedia("(prefers-color-scheme: dark)").matches;
      var current = document.documentElement.dataset.theme || (dark ? "dark" : "light");
      var next = current === "dark" ? "light" : "dark";
      document.documentElement.dataset.theme = next;
      localStorage.setItem("bulwark-theme", next);
      return;
    }
    var link = e.target.closest("a[data-flyout]");
    if (link && !e.ctrlKey && !e.metaKey && !e.shiftKey) {
      e.preventDefault();
      lastFocus = link;
      fetchPage(link.href).then(function (doc) { showFlyout(doc, link.href); }).catch(function () {});
      return;
    }
    var close = e.target.closest("a[data-close]");
    if (close && document.getElementById("flyout")) {
      e.preventDefault();
      closeFlyout(true);
    }
  });

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && document.getElementById("flyout")) closeFlyout(true);
  });

  var timer = null;
  function liveSubmit(form) {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var url = new URL(form.action || window.location.href, window.location.href);
      url.search = new URLSearchParams(new FormData(form)).toString();
      fetchPage(url.toString()).then(function (doc) { replaceMain(doc, url.toString()); }).catch(function () {});
    }, 250);
  }

  function preview(form) {
    var target = form.querySelector("[data-preview-target]");
    if (!target) return;
    // Answers can arrive out of order: only the one for the form's latest state is shown.
    var seq = form.__previewSeq = (form.__previewSeq || 0) + 1;
    fetch(form.dataset.preview, {
      method: "POST", credentials: "same-origin",
      // Asks for the preview block alone rather than the whole page around the form.
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Bulwark-Preview": "1" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (r) { return r.text(); }).then(function (html) {
      if (seq !== form.__previewSeq) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.querySelector("[data-preview-target]");
      target.innerHTML = fresh ? fresh.innerHTML : "";
    }).catch(function () {});
  }

  function onChange(e) {
    var live = e.target.closest("form[data-live]");
    if (live) liveSubmit(live);
    var previewed = e.target.closest("form[data-preview]");
    if (previewed) preview(previewed);
  }
  document.addEventListener("change", onChange);
  document.addEventListener("input", function (e) {
    if (e.target.matches("input[type=search]")) onChange(e);
  });

  window.addEventListener("popstate", function () { window.location.reload(); });
})();
