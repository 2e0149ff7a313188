// Draws each target's p50/p95 per hour with the vendored Chart.js; the page works without it.
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  var series = JSON.parse(document.getElementById("chart-data").textContent);
  var canvases = document.querySelectorAll("canvas.latency-chart");
  canvases.forEach(function (canvas, index) {
    var points = series[index] || [];
    if (!points.length) return;
    var hours = points.map(function (p) { return p.at.slice(11, 16); });
    var dots = points.length < 3 ? 2 : 0;  // a line needs two points; show the first ones
    new Chart(canvas, {
      type: "line",
      data: {
        labels: hours,
        datasets: [
          { label: "p50 ms", data: points.map(function (p) { return p.p50; }),
            borderColor: "#1565c0", borderWidth: 1.5, pointRadius: dots, spanGaps: true },
          { label: "p95 ms", data: points.map(function (p) { return p.p95; }),
            borderColor: "#ef6c00", borderWidth: 1.5, pointRadius: dots, spanGaps: true }
        ]
      },
      options: {
        animation: false,
        responsive: false,
        plugins: { legend: { display: false } },
        scales: { x: { display: false }, y: { display: true, beginAtZero: true,
          ticks: { maxTicksLimit: 3, font: { size: 9 } } } }
      }
    });
  });
})();
