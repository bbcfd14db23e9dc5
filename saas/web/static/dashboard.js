/* Charts of the managers' dashboard (Chart.js, vendored); data from each canvas's data-chart. */
(function () {
  "use strict";
  var PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2",
                 "#db2777", "#65a30d", "#64748b", "#ea580c"];
  function draw(canvas) {
    var d = JSON.parse(canvas.getAttribute("data-chart"));
    var line = d.type === "line";
    var stacked = d.type === "stacked";
    var datasets = d.series.map(function (s, i) {
      var colour = PALETTE[i % PALETTE.length];
      return { label: s.label, data: s.values, backgroundColor: colour, borderColor: colour,
               spanGaps: true, tension: 0.2, pointRadius: line ? 3 : 0 };
    });
    canvas.chart = new window.Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: d.labels, datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: datasets.length > 1, position: "bottom" } },
        scales: { x: { stacked: stacked },
                  y: { stacked: stacked, beginAtZero: d.kind !== "percent",
                       ticks: { precision: d.kind === "money" ? undefined : 0 } } }
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas.dashboard-chart").forEach(draw);
  });
})();
