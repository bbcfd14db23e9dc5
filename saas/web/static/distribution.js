/* Bar charts for the tier/segment dashboard; data comes from each canvas's data-chart. */
(function () {
  "use strict";
  var PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#64748b"];
  function draw(canvas) {
    var d = JSON.parse(canvas.getAttribute("data-chart"));
    var colours = d.labels.map(function (_l, i) { return d.colours[i] || PALETTE[i % PALETTE.length]; });
    canvas.chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: d.labels, datasets: [{ label: d.title, data: d.counts, backgroundColor: colours }] },
      options: { animation: false, plugins: { legend: { display: false } },
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas.distribution-chart").forEach(draw);
  });
})();
