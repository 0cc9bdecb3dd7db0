/* VisionEra dashboard: copy buttons, confirmations and live video-job status.
   No inline scripts anywhere, so a strict Content-Security-Policy can be added. */
(function () {
  "use strict";

  function copyText(text, button) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).catch(function () { fallbackCopy(text); });
    } else {
      fallbackCopy(text);
    }
    var old = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", old);
    button.textContent = "Copied";
    button.classList.add("copied");
    setTimeout(function () { button.textContent = old; button.classList.remove("copied"); }, 1500);
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing else to try */ }
    document.body.removeChild(area);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) { return; }
    var text = button.getAttribute("data-copy-text");
    var targetId = button.getAttribute("data-copy-target");
    if (targetId) {
      var target = document.getElementById(targetId);
      text = target ? (target.value !== undefined && target.tagName === "INPUT" ? target.value : target.textContent) : "";
    }
    copyText(text || "", button);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList && form.classList.contains("confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm") || "Are you sure?")) {
        event.preventDefault();
      }
    }
  });

  // Live status of video jobs: poll the dashboard's JSON while any job is unfinished.
  function pollJobs(container) {
    var url = container.getAttribute("data-poll-url");
    var tick = function () {
      var live = container.matches("[data-live]") ? [container] : container.querySelectorAll("[data-live]");
      if (!live.length) { return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { jobs: [] }; })
        .then(function (data) {
          var states = {};
          (data.jobs || []).forEach(function (job) { states[job.id] = job; });
          Array.prototype.forEach.call(live, function (row) {
            var job = states[row.getAttribute("data-job-id")];
            if (!job) {
              if (!container.matches("[data-live]")) { window.location.reload(); }
              return;
            }
            var status = row.querySelector('[data-field="status"]');
            if (status) { status.textContent = job.status_label; status.className = "status job-" + job.status; }
            var bar = row.querySelector('[data-field="progress"]');
            if (bar) { bar.value = job.progress; bar.textContent = job.progress + "%"; }
            var text = row.querySelector('[data-field="progress-text"]');
            if (text) { text.textContent = job.progress + "%"; }
            var error = row.querySelector('[data-field="error"]');
            if (error && job.error) { error.textContent = job.error; error.hidden = false; }
            if (job.finished) {
              row.removeAttribute("data-live");
              if (container === row) { window.location.reload(); }
            }
          });
          setTimeout(tick, 2000);
        })
        .catch(function () { setTimeout(tick, 5000); });
    };
    setTimeout(tick, 1500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-poll-url]"), pollJobs);
  });
})();
