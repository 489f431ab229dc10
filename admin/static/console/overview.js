/* 统计概览: draws the two charts from the page's JSON data block with the vendored Chart.js. */
(function () {
  "use strict";
  var node = document.getElementById("overview-data");
  if (!node || typeof Chart === "undefined") return;
  var data = JSON.parse(node.textContent);
  var colours = ["#0b5cad", "#2da44e", "#cf222e", "#9a6700"];

  new Chart(document.getElementById("township-chart"), {
    type: "bar",
    data: {
      labels: data.townships.labels,
      datasets: [
        { label: "新增", data: data.townships["new"], backgroundColor: colours[0] },
        { label: "办结", data: data.townships.closed, backgroundColor: colours[1] },
        { label: "超期", data: data.townships.overdue, backgroundColor: colours[2] }
      ]
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
               scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });

  var rateNames = Object.keys(data.units.rates);
  new Chart(document.getElementById("unit-chart"), {
    type: "bar",
    data: {
      labels: data.units.labels,
      datasets: rateNames.map(function (name, index) {
        return { label: name, data: data.units.rates[name], backgroundColor: colours[index % colours.length] };
      })
    },
    options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
               scales: { x: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } } }
  });
  document.body.setAttribute("data-charts", "drawn");
})();
