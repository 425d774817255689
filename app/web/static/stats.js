/* Draws the assessment charts of web/stats_charts.html with the vendored ECharts (no CDN). */
(function () {
  "use strict";
  var holder = document.getElementById("stats-data");
  if (!holder || !window.echarts) { return; }
  var data = JSON.parse(holder.textContent);
  var charts = [];
  function draw(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ animation: false, grid: { left: 40, right: 12, top: 52, bottom: 60 },
                                    legend: { top: 0, textStyle: { fontSize: 11 } } }, option));
    charts.push(chart);
    el.setAttribute("data-drawn", "1");
  }
  draw("chart-indicators", {
    xAxis: { type: "category", data: data.units, axisLabel: { rotate: 45, fontSize: 10 } },
    yAxis: { type: "value", max: 100 },
    series: data.indicators.map(function (i) { return { name: i.name, type: "bar", data: i.values }; })
  });
  draw("chart-trend", {
    xAxis: { type: "category", data: data.months, axisLabel: { rotate: 45, fontSize: 10 } },
    yAxis: { type: "value" },
    series: [{ name: "本期", type: "line", data: data.received },
             { name: "上年同期", type: "line", data: data.received_year_before, lineStyle: { type: "dashed" } }]
  });
  draw("chart-hotspots", {
    grid: { left: 112, right: 16, top: 10, bottom: 24 }, legend: { show: false },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: data.hot_names.slice().reverse(), axisLabel: { fontSize: 10, width: 104, overflow: "truncate" } },
    series: [{ name: "受理量", type: "bar", data: data.hot_volumes.slice().reverse() }]
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.body.setAttribute("data-charts", String(charts.length));
}());
