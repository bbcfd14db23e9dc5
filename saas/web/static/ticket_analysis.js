/* Ticket cause analysis: a Pareto chart (bars by cause, cumulative % line) and a trend
   chart (tickets per cause per period). Data comes from each canvas's data-chart. */
(function () {
  "use strict";
  var PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#64748b",
                 "#db2777", "#65a30d", "#ea580c"];
  function pareto(canvas) {
    var d = JSON.parse(canvas.getAttribute("data-chart"));
    canvas.chart = new window.Chart(canvas, {
      data: {
        labels: d.labels,
        datasets: [
          { type: "line", label: d.cumulative_label, data: d.cumulative, yAxisID: "share",
            borderColor: "#dc2626", backgroundColor: "#dc2626", order: 0 },
          { type: "bar", label: d.count_label, data: d.counts, yAxisID: "count",
            backgroundColor: "#2563eb", order: 1 }
        ]
      },
      options: {
        animation: false,
        scales: {
          count: { type: "linear", position: "left", beginAtZero: true, ticks: { precision: 0 } },
          share: { type: "linear", position: "right", min: 0, max: 100,
                   grid: { drawOnChartArea: false },
                   ticks: { callback: function (v) { return v + "%"; } } }
        }
      }
    });
  }
  function trend(canvas) {
    var d = JSON.parse(canvas.getAttribute("data-chart"));
    canvas.chart = new window.Chart(canvas, {
      type: "line",
      data: {
        labels: d.labels,
        datasets: d.series.map(function (s, i) {
          var colour = PALETTE[i % PALETTE.length];
          return { label: s.label, data: s.counts, borderColor: colour, backgroundColor: colour,
                   tension: 0.2 };
        })
      },
      options: { animation: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas.pareto-chart").forEach(pareto);
    document.querySelectorAll("canvas.trend-chart").forEach(trend);
  });
})();
