/* 巨好办调度台: live deadline countdowns and confirmation of destructive actions. No inline scripts (CSP). */
(function () {
  "use strict";
  var SOON_SECONDS = 4 * 3600; // matches admin/console/queue.py SOON_SECONDS

  function duration(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    var days = Math.floor(seconds / 86400), hours = Math.floor((seconds % 86400) / 3600),
        minutes = Math.floor((seconds % 3600) / 60);
    if (days) return days + "天" + hours + "小时";
    if (hours) return hours + "小时" + minutes + "分";
    return minutes ? minutes + "分钟" : "不到1分钟";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (node) {
      var deadline = Date.parse(node.getAttribute("data-deadline"));
      if (isNaN(deadline)) return;
      var left = (deadline - now) / 1000;
      var soonSeconds = Number(node.getAttribute("data-soon-seconds")) || SOON_SECONDS;
      node.textContent = left < 0 ? "已超期 " + duration(left) : "剩余 " + duration(left);
      node.classList.toggle("overdue", left < 0);
      node.classList.toggle("soon", left >= 0 && left < soonSeconds);
      var row = node.closest("tr");
      if (row) {
        row.classList.toggle("overdue", left < 0);
        row.classList.toggle("soon", left >= 0 && left < soonSeconds);
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  /* For the console's own scripts: fetch with the session's CSRF token. */
  window.consoleFetch = function (url, options) {
    options = options || {};
    options.headers = options.headers || {};
    options.headers["X-CSRF-Token"] = document.body.getAttribute("data-csrf-token") || "";
    options.headers["Accept"] = "application/json";
    options.credentials = "same-origin";
    return fetch(url, options);
  };

  tick();
  setInterval(tick, 1000);
})();
