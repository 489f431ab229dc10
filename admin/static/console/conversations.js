/* One conversation: refresh the transcript every 3 seconds (text only: textContent, never innerHTML). */
(function () {
  "use strict";
  var box = document.getElementById("transcript");
  if (!box) return;
  var url = box.getAttribute("data-messages-url");
  var labels = { resident: "居民", bot: "机器人", staff: "工作人员" };
  var shown = box.querySelectorAll(".msg").length;

  function render(messages) {
    if (messages.length === shown) return;
    var atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    box.textContent = "";
    messages.forEach(function (m) {
      var node = document.createElement("div");
      node.className = "msg " + m.role;
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = labels[m.role] + (m.staff ? " " + m.staff : "") + " · " + m.at_local; // Beijing time, formatted by the server
      node.appendChild(meta);
      node.appendChild(document.createTextNode(m.text));
      box.appendChild(node);
    });
    shown = messages.length;
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  function refresh() {
    window.consoleFetch(url).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (body) { if (body) render(body.messages); }).catch(function () {});
  }

  box.scrollTop = box.scrollHeight;
  setInterval(refresh, 3000);
})();
