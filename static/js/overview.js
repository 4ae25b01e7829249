// The overview's daily chart: sessions and units on the left axis, conversion (%) on
// the right. The data comes from the page (json_script), never from an inline script.
// Pending days (sales reported, traffic not yet) have no sessions or conversion: they
// are drawn as gaps over a shaded band, never as zeros.
(function () {
  "use strict";
  // Typing a date means a custom period: choose it in the period menu too.
  const menu = document.querySelector(".overview-switch select[name=period]");
  document.querySelectorAll(".overview-switch input[type=date]").forEach((input) => {
    input.addEventListener("change", () => {
      if (menu) menu.value = "custom";
    });
  });

  const box = document.getElementById("overview-chart");
  const source = document.getElementById("overview-chart-data");
  if (!box || !source || typeof uPlot === "undefined") return;
  const data = JSON.parse(source.textContent);
  const xs = data.day.map((d) => {
    const [y, m, day] = d.split("-").map(Number);
    return Date.UTC(y, m - 1, day) / 1000;
  });
  const DAY = 86400;
  const PENDING_FILL = "rgba(154, 103, 0, 0.14)";

  function shadePending(u) {
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    ctx.save();
    ctx.fillStyle = PENDING_FILL;
    data.pending.forEach((pending, i) => {
      if (!pending) return;
      const left = u.valToPos(xs[i] - DAY / 2, "x", true);
      const right = u.valToPos(xs[i] + DAY / 2, "x", true);
      ctx.fillRect(left, top, Math.max(right - left, 2), height);
    });
    ctx.restore();
  }

  function size() {
    const width = Math.max(box.clientWidth, 200);
    return { width, height: width < 500 ? 220 : 300 };
  }

  const count = (u, v) => (v == null ? "—" : Math.round(v).toLocaleString());
  const opts = {
    ...size(),
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "UTC"),
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, pct: { range: (u, min, max) => [0, Math.max(max || 0, 1) * 1.1] } },
    series: [
      { label: "Day" },
      { label: "Sessions", stroke: "#0b6e4f", width: 2, value: count },
      { label: "Units", stroke: "#174f86", width: 2, value: count },
      {
        label: "Conversion",
        scale: "pct",
        stroke: "#9a3412",
        width: 2,
        dash: [6, 3],
        value: (u, v) => (v == null ? "—" : v.toFixed(2) + "%"),
      },
    ],
    axes: [
      {},
      { size: 56 },
      { scale: "pct", side: 1, size: 52, grid: { show: false }, values: (u, vals) => vals.map((v) => v + "%") },
    ],
    hooks: { drawClear: [shadePending] },
  };
  const plot = new uPlot(opts, [xs, data.sessions, data.units, data.conversion], box);
  box.dataset.drawn = "true";
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => plot.setSize(size()), 100);
  });
})();
