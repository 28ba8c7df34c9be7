// The interactive charts of a fleetsim report: each <figure> holds its data as JSON (written
// by report::html) and is drawn with uPlot, inlined above. Hover shows a tooltip with every
// visible series at that time; a click on a legend entry hides or shows its series; dragging
// across the plot zooms into that time range, a double click zooms back out. Nothing here
// fetches anything.
(function () {
  "use strict";
  if (typeof uPlot === "undefined") return;

  // Simulated hours as "d3 14:00".
  function clock(h) {
    var m = Math.round(h * 60);
    var d = Math.floor(m / 1440);
    var hh = Math.floor((m % 1440) / 60);
    var mm = m % 60;
    return "d" + d + " " + (hh < 10 ? "0" : "") + hh + ":" + (mm < 10 ? "0" : "") + mm;
  }

  function num(v) {
    if (v == null || !isFinite(v)) return "–";
    var a = Math.abs(v);
    var digits = a >= 100 || a === Math.round(a) ? 0 : a >= 1 ? 2 : 4;
    return v.toLocaleString("en-US", { maximumFractionDigits: digits });
  }

  function build(fig, spec) {
    var holder = fig.querySelector(".uplot-holder");
    var span = spec.x.length ? spec.x[spec.x.length - 1] - spec.x[0] : 0;
    var days = span > 72;
    // Categories (strategies, grid points) instead of time: x is the index into `labels`.
    var labels = spec.labels || null;
    function xText(v) {
      if (v == null) return "–";
      return labels ? (labels[Math.round(v)] || "") : clock(v);
    }
    var series = [{ label: labels ? "point" : "time", value: function (u, v) { return xText(v); } }];
    var data = [spec.x];
    spec.series.forEach(function (s, i) {
      var raw = s.values;
      series.push({
        label: s.name,
        stroke: s.color,
        width: s.dash ? 2 : spec.stacked ? 1 : 1.5,
        dash: s.dash ? [9, 6] : undefined,
        fill: spec.stacked ? s.color : undefined,
        spanGaps: true,
        points: { show: !!labels, size: s.dash ? 7 : 10, fill: s.color, stroke: s.color },
        // Strategies are not an axis: their points are not joined.
        paths: spec.unjoined ? function () { return null; } : undefined,
        value: function (u, v, si, idx) { return idx == null ? "–" : num(raw[idx]); }
      });
      data.push(spec.stacked ? s.stacked : raw);
    });

    var tip = document.createElement("div");
    tip.className = "u-tooltip";
    tip.style.display = "none";

    function tooltipPlugin() {
      return {
        hooks: {
          init: function (u) { u.over.appendChild(tip); },
          setCursor: function (u) {
            var idx = u.cursor.idx;
            if (idx == null || u.cursor.left == null || u.cursor.left < 0) {
              tip.style.display = "none";
              return;
            }
            var rows = ["<div class=\"t\">" + escapeHtml(xText(spec.x[idx])) + "</div>"];
            u.series.forEach(function (s, si) {
              if (si === 0 || !s.show) return;
              var v = spec.series[si - 1].values[idx];
              if (v == null) return;
              rows.push("<div><i style=\"background:" + spec.series[si - 1].color + "\"></i>" +
                escapeHtml(s.label) + ": <b>" + num(v) + "</b></div>");
            });
            tip.innerHTML = rows.join("");
            tip.style.display = "block";
            var left = u.cursor.left + 14;
            if (left + tip.offsetWidth > u.over.clientWidth) left = u.cursor.left - tip.offsetWidth - 14;
            tip.style.left = Math.max(0, left) + "px";
            tip.style.top = Math.max(0, u.cursor.top - tip.offsetHeight / 2) + "px";
          }
        }
      };
    }

    var opts = {
      width: Math.max(300, holder.clientWidth),
      height: 380,
      series: series,
      legend: { live: true },
      cursor: { drag: { x: true, y: false }, points: { show: false } },
      scales: {
        x: labels ? { time: false, range: [-0.5, labels.length - 0.5] } : { time: false }
      },
      axes: [
        labels ? {
          incrs: [1],
          values: function (u, splits) {
            return splits.map(function (i) { return i === Math.round(i) ? (labels[i] || "") : ""; });
          }
        } : {
          label: days ? "Simulated time (days)" : "Simulated time (hours)",
          incrs: days ? [24, 48, 72, 120, 168, 336, 720, 1440, 2160, 4320, 8760] :
            [0.25, 0.5, 1, 2, 3, 6, 12, 24, 48],
          values: function (u, splits) {
            return splits.map(function (h) { return days ? "d" + Math.round(h / 24) : num(h) + "h"; });
          }
        },
        {
          label: spec.y_label,
          size: 90,
          values: function (u, splits) { return splits.map(num); }
        }
      ],
      plugins: [tooltipPlugin()]
    };
    var chart = new uPlot(opts, data, holder);
    window.addEventListener("resize", function () {
      chart.setSize({ width: Math.max(300, holder.clientWidth), height: 380 });
    });
    fig.classList.add("interactive");
    return chart;
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }

  window.fleetsimCharts = [];
  document.querySelectorAll("figure[data-chart]").forEach(function (fig) {
    var script = fig.querySelector("script[type=\"application/json\"]");
    if (!script) return;
    window.fleetsimCharts.push(build(fig, JSON.parse(script.textContent)));
  });
})();
