/* The managers' reports: draws each <canvas data-chart> from the figures the page put in #report-data
   (json_script), with Chart.js (static/vendor/chartjs). The tables under the charts hold the same figures. */
(function () {
  "use strict";

  var RED = "#b3261e";
  var GREY = "#a39d96";
  var GREEN = "#1b6e3a";
  var AMBER = "#c27a00";
  var INK = "#1d1b1a";
  var PALETTE = [RED, "#e07b39", "#f2c14e", GREEN, "#3b6ea5", "#7d5ba6", GREY];
  var euros = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR", maximumFractionDigits: 0 });
  var eurosExact = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" });
  var integer = new Intl.NumberFormat("fr-FR");

  function base(extra) {
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      locale: "fr-FR",
      plugins: { legend: { display: false } },
      scales: {
        x: { grid: { display: false }, ticks: { color: INK } },
        y: { beginAtZero: true, grid: { color: "#eee7dd" }, ticks: { color: INK, precision: 0 } }
      }
    };
    return Object.assign(options, extra || {});
  }

  function sales(data) {
    var options = base();
    options.plugins = {
      legend: { display: true, position: "bottom", labels: { color: INK, boxWidth: 12 } },
      tooltip: { callbacks: { label: function (item) { return item.dataset.label + " : " + eurosExact.format(item.parsed.y || 0); } } }
    };
    options.scales.y.ticks.callback = function (value) { return euros.format(value); };
    options.interaction = { mode: "index", intersect: false };
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { type: "bar", label: data.currentLabel, data: data.current, backgroundColor: RED, borderRadius: 4, order: 2 },
          { type: "line", label: data.previousLabel, data: data.previous, borderColor: GREY, backgroundColor: GREY,
            borderDash: [6, 4], pointRadius: 2, tension: 0.25, spanGaps: true, order: 1 }
        ]
      },
      options: options
    };
  }

  function doughnut(data) {
    return {
      type: "doughnut",
      data: { labels: data.labels, datasets: [{ data: data.values, backgroundColor: PALETTE, borderColor: "#fff", borderWidth: 2 }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, cutout: "62%",
        plugins: { legend: { display: true, position: "right", labels: { color: INK, boxWidth: 12 } } }
      }
    };
  }

  function bars(data, colours, horizontal) {
    var options = base(horizontal ? { indexAxis: "y" } : {});
    if (horizontal) {
      options.scales = {
        x: { beginAtZero: true, grid: { color: "#eee7dd" }, ticks: { color: INK, precision: 0 } },
        y: { grid: { display: false }, ticks: { color: INK } }
      };
    }
    return {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: "Commandes", data: data.values, backgroundColor: colours, borderRadius: 4 }] },
      options: options
    };
  }

  function pace(data) {
    var options = base();
    options.plugins = { legend: { display: true, position: "bottom", labels: { color: INK, boxWidth: 12 } } };
    options.scales.x.stacked = true;
    options.scales.y.stacked = true;
    options.scales.y.ticks.callback = function (value) { return integer.format(value) + " min"; };
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "En pause", data: data.paused, backgroundColor: RED, borderRadius: 2 },
          { label: "En coup de feu", data: data.busy, backgroundColor: AMBER, borderRadius: 2 }
        ]
      },
      options: options
    };
  }

  function config(kind, data) {
    if (kind === "sales") { return sales(data); }
    if (kind === "doughnut") { return doughnut(data); }
    if (kind === "hbar") { return bars(data, RED, true); }
    if (kind === "late") {
      return bars(data, data.labels.map(function (_label, index) { return index === 0 ? GREEN : index < 2 ? AMBER : RED; }), false);
    }
    if (kind === "pace") { return pace(data); }
    return bars(data, RED, false);
  }

  function draw() {
    var source = document.getElementById("report-data");
    if (!source || typeof window.Chart === "undefined") { return; }
    var figures = JSON.parse(source.textContent);
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = figures[canvas.dataset.chart];
      if (data) { new window.Chart(canvas, config(canvas.dataset.kind, data)); }
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
