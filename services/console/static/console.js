// The console's enhancements: charts from each canvas's data-chart, and a preview of a picture
// before it is sent. Every page reads without this file.
(function () {
  "use strict";
  var palette = ["#0b5cad", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#1098ad", "#5c940d", "#e67700", "#364fc7", "#a61e4d"];

  function drawCharts() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = JSON.parse(canvas.getAttribute("data-chart"));
      var values = spec.values.map(Number);
      var many = spec.type === "doughnut";
      new Chart(canvas, {
        type: spec.type,
        data: {
          labels: spec.labels,
          datasets: [{
            label: spec.label,
            data: values,
            backgroundColor: many ? palette : palette[0],
            borderColor: many ? "#ffffff" : palette[0],
            tension: 0.2,
            fill: false
          }]
        },
        options: { animation: false, responsive: true, aspectRatio: 2, plugins: { legend: { display: many } } }
      });
      canvas.setAttribute("data-drawn", "true");
    });
  }

  function previews() {
    document.querySelectorAll("input[type=file][data-preview]").forEach(function (input) {
      input.addEventListener("change", function () {
        var image = document.getElementById(input.getAttribute("data-preview"));
        if (!image) { return; }
        if (input.files && input.files[0]) {
          image.src = URL.createObjectURL(input.files[0]);
          image.hidden = false;
        } else {
          image.hidden = true;
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    previews();
  });
})();
