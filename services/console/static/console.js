// The console's enhancements: charts from each canvas's data-chart, a preview of a picture
// before it is sent, and an order line's product named as it is chosen. Every page reads without
// this file.
(function () {
  "use strict";
  var palette = ["#0b5cad", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#1098ad", "#5c940d", "#e67700", "#364fc7", "#a61e4d"];
  // The page is Brazilian: numbers read 100.000,5 and money R$ 100.000,50.
  var LOCALE = "pt-BR";
  var money = new Intl.NumberFormat(LOCALE, { style: "currency", currency: "BRL" });
  var wholeMoney = new Intl.NumberFormat(LOCALE, { style: "currency", currency: "BRL", maximumFractionDigits: 0 });
  var number = new Intl.NumberFormat(LOCALE);
  // Longer names overlap their neighbours on an axis; the tooltip says them whole.
  var TICK_CHARACTERS = 24;

  // A colour for each of n slices, none repeated: the palette while it lasts, else n hues evenly
  // apart, neighbours a shade apart too.
  function colours(n) {
    if (n <= palette.length) { return palette.slice(0, n); }
    var list = [];
    for (var i = 0; i < n; i++) {
      list.push("hsl(" + (i * 360 / n).toFixed(2) + ", 65%, " + (i % 2 ? 35 : 50) + "%)");
    }
    return list;
  }

  function shortened(label) {
    var text = String(label);
    return text.length > TICK_CHARACTERS ? text.slice(0, TICK_CHARACTERS - 1) + "\u2026" : text;
  }

  function options(spec) {
    var shown = spec.money ? money : number;
    var tooltip = {
      callbacks: {
        label: function (context) { return spec.label + ": " + shown.format(context.raw); }
      }
    };
    var result = {
      animation: false,
      responsive: true,
      aspectRatio: 2,
      locale: LOCALE,
      plugins: {
        // Past the palette's 10, a legend crowds the doughnut out: the tooltip and table name them.
        legend: { display: spec.type === "doughnut" && spec.values.length <= palette.length },
        tooltip: tooltip
      }
    };
    if (spec.type === "doughnut") { return result; }
    var names = spec.horizontal ? "y" : "x";
    var values = spec.horizontal ? "x" : "y";
    result.indexAxis = names;
    result.scales = {};
    result.scales[names] = {
      ticks: { callback: function (value) { return shortened(this.getLabelForValue(value)); } }
    };
    result.scales[values] = {
      beginAtZero: true,
      ticks: spec.money
        ? { callback: function (value) { return (Number.isInteger(value) ? wholeMoney : money).format(value); } }
        : { precision: 0 }
    };
    return result;
  }

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
            backgroundColor: many ? colours(values.length) : palette[0],
            borderColor: many ? "#ffffff" : palette[0],
            tension: 0.2,
            fill: false
          }]
        },
        options: options(spec)
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

  // An order line's product chosen from the lines' list (its id filled in) is named under it at
  // once, as the page names it once sent back; an id the list does not hold is named by none.
  function chosenProducts() {
    document.querySelectorAll("input[list=product-choices]").forEach(function (input) {
      var list = document.getElementById("product-choices");
      var said = document.getElementById(input.id + "-hint");
      if (!said) {
        said = document.createElement("small");
        said.id = input.id + "-hint";
        said.className = "hint";
        input.insertAdjacentElement("afterend", said);
        var described = input.getAttribute("aria-describedby");
        input.setAttribute("aria-describedby", described ? said.id + " " + described : said.id);
      }
      said.setAttribute("aria-live", "polite");
      input.addEventListener("input", function () {
        var typed = input.value.trim();
        var chosen = Array.prototype.find.call(list.options, function (option) {
          return option.value === typed;
        });
        said.textContent = chosen ? chosen.textContent : "";
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    previews();
    chosenProducts();
  });
})();
