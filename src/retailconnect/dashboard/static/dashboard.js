// retailconnect dashboard: live panels over Server-Sent Events, and confirmations. No build step.
(function () {
  "use strict";
  function bindConfirms(root) {
    root.querySelectorAll("form[data-confirm]").forEach(function (form) {
      if (form.dataset.bound) return;
      form.dataset.bound = "1";
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
      });
    });
  }
  function openDetails(root) {
    return Array.prototype.map.call(root.querySelectorAll("details[open]"), function (d) {
      return d.parentElement ? d.parentElement.textContent.slice(0, 60) : "";
    });
  }
  function start() {
    bindConfirms(document);
    var view = document.body.dataset.live;
    var dot = document.getElementById("live-state");
    if (!view || !window.EventSource) return;
    var source = new EventSource("/dashboard/live/" + encodeURIComponent(view));
    source.addEventListener("panel", function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      var target = document.getElementById(msg.target);
      if (!target) return;
      // do not replace a panel while the operator is typing in it or has a payload unfolded
      if (target.contains(document.activeElement) && document.activeElement.tagName !== "BODY") return;
      if (openDetails(target).length) return;
      target.innerHTML = msg.html;  // server-rendered with autoescape
      bindConfirms(target);
      if (dot) dot.classList.add("on");
    });
    source.onerror = function () { if (dot) dot.classList.remove("on"); };
    source.onopen = function () { if (dot) dot.classList.add("on"); };
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
