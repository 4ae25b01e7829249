// The product page's chart: daily conversion (sessions, units and revenue on demand,
// on the right-hand axes), listing changes as focusable markers, stock-outs,
// suppression and lost Buy Box as shaded bands, drag to zoom, reset.
(() => {
  "use strict";
  const holder = document.getElementById("product-chart");
  const source = document.getElementById("product-chart-data");
  if (!holder || !source || typeof uPlot === "undefined") return;
  const data = JSON.parse(source.textContent);
  const tip = document.getElementById("marker-tip");
  const DAY = 86400;
  const BAND_COLOURS = {
    stock_out: "rgba(220, 38, 38, 0.12)",
    suppressed: "rgba(107, 33, 168, 0.12)",
    buy_box: "rgba(217, 119, 6, 0.14)",
  };
  const money = (v) => (v == null ? "—" : `${v.toFixed(2)} ${data.currency}`);
  const count = (v) => (v == null ? "—" : String(v));
  const dayLabel = (x) => new Date(x * 1000).toISOString().slice(0, 10);

  function drawBands(u) {
    const { ctx, bbox } = u;
    ctx.save();
    for (const band of data.bands) {
      const left = u.valToPos(band.from, "x", true);
      const right = u.valToPos(band.to + DAY, "x", true);
      const x0 = Math.max(left, bbox.left);
      const x1 = Math.min(right, bbox.left + bbox.width);
      if (x1 <= x0) continue;
      ctx.fillStyle = BAND_COLOURS[band.kind] || "rgba(0,0,0,0.08)";
      ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
    }
    ctx.restore();
  }

  // One focusable button per change, placed over its day; stacked when a day has several.
  const layer = document.createElement("div");
  layer.className = "marker-layer";
  const buttons = data.markers.map((marker) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `chart-marker marker-${marker.group}`;
    button.textContent = marker.short;
    const said = `${dayLabel(marker.x)} — ${marker.text}`;
    button.setAttribute("aria-label", `${said}. Press to go to the change.`);
    button.dataset.change = marker.id;
    const show = () => {
      if (!tip) return;
      tip.textContent = said;
      tip.hidden = false;
    };
    button.addEventListener("focus", show);
    button.addEventListener("mouseenter", show);
    // uPlot starts a zoom selection on mousedown in its overlay: not on a marker.
    button.addEventListener("mousedown", (event) => event.stopPropagation());
    button.addEventListener("click", () => {
      const target = document.getElementById(`change-${marker.id}`);
      if (!target) return;
      target.setAttribute("tabindex", "-1");
      target.scrollIntoView({ block: "center" });
      target.focus({ preventScroll: true });
      history.replaceState(null, "", `#change-${marker.id}`);
    });
    layer.appendChild(button);
    return { marker, button };
  });

  function placeMarkers(u) {
    const min = u.scales.x.min;
    const max = u.scales.x.max;
    const stack = new Map();
    for (const { marker, button } of buttons) {
      const x = marker.x + DAY / 2;
      if (x < min || x > max + DAY) {
        button.hidden = true;
        continue;
      }
      const level = stack.get(marker.x) || 0;
      stack.set(marker.x, level + 1);
      button.hidden = false;
      button.style.left = `${Math.round(u.valToPos(Math.min(marker.x, max), "x"))}px`;
      button.style.top = `${4 + level * 22}px`;
    }
  }

  const series = [
    {},
    {
      label: "Conversion %",
      scale: "%",
      stroke: "#2563eb",
      width: 2,
      spanGaps: false,
      value: (u, v) => (v == null ? "—" : `${v.toFixed(2)}%`),
    },
    { label: "Sessions", scale: "n", stroke: "#64748b", show: false, spanGaps: false, value: (u, v) => count(v) },
    { label: "Units", scale: "n", stroke: "#16a34a", show: false, spanGaps: false, value: (u, v) => count(v) },
    { label: "Revenue", scale: "$", stroke: "#a16207", show: false, spanGaps: false, value: (u, v) => money(v) },
  ];

  function size() {
    const width = Math.max(260, holder.clientWidth);
    return { width, height: width < 500 ? 240 : 320 };
  }

  // The "Also show" checkboxes, by series index; uPlot's own legend toggles series too.
  const boxes = {};
  const opts = {
    ...size(),
    series,
    scales: { x: { time: true }, "%": { range: (u, lo, hi) => [0, Math.max(1, hi * 1.15)] } },
    axes: [
      {},
      { scale: "%", values: (u, ticks) => ticks.map((t) => `${t}%`), size: 50 },
      { scale: "n", side: 1, grid: { show: false }, size: 50 },
      { scale: "$", side: 1, grid: { show: false }, size: 60 },
    ],
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    hooks: {
      drawClear: [drawBands],
      draw: [placeMarkers],
      ready: [(u) => u.over.appendChild(layer)],
      setSeries: [
        (u, index) => {
          if (boxes[index]) boxes[index].checked = u.series[index].show;
        },
      ],
    },
  };
  const chart = new uPlot(
    opts,
    [data.x, data.conversion, data.sessions, data.units, data.revenue],
    holder,
  );

  // Series on demand, with real checkboxes (keyboard and screen readers).
  const toggles = document.createElement("fieldset");
  toggles.className = "chart-toggles";
  const legend = document.createElement("legend");
  legend.textContent = "Also show";
  toggles.appendChild(legend);
  [2, 3, 4].forEach((index) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.addEventListener("change", () => chart.setSeries(index, { show: box.checked }));
    label.append(box, ` ${series[index].label}`);
    toggles.appendChild(label);
    boxes[index] = box;
  });
  holder.after(toggles);

  const reset = document.getElementById("chart-reset");
  if (reset && data.x.length) {
    reset.addEventListener("click", () =>
      chart.setScale("x", { min: data.x[0], max: data.x[data.x.length - 1] }),
    );
  }
  if (typeof ResizeObserver !== "undefined") {
    new ResizeObserver(() => chart.setSize(size())).observe(holder);
  }
})();
