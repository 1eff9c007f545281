// The session chart: power (solid line, kW, left axis) and offered current (dashed line,
// A, right axis) over time, each limit change a dotted vertical mark labelled with its
// amps and source. Plain SVG; told apart by line style and labels, not colour alone.

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 240;
const PAD = { l: 44, r: 44, t: 14, b: 24 };

function svg(tag, attrs, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

function clock(t) {
  return new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function drawChart(root, caption, history) {
  root.replaceChildren();
  const points = history ? history.points : [];
  const limits = history ? history.limits : [];
  if (!points.length) {
    caption.textContent = "No session yet: the chart starts with the next session.";
    return;
  }
  const t0 = points[0][0];
  const t1 = Math.max(points[points.length - 1][0], t0 + 10);
  const maxKw = Math.max(1, ...points.map((p) => p[1] / 1000)) * 1.1;
  const maxA = Math.max(6, ...points.map((p) => p[2]), ...limits.map((m) => m[1] || 0)) * 1.1;
  const x = (t) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const yKw = (kw) => H - PAD.b - (kw / maxKw) * (H - PAD.t - PAD.b);
  const yA = (a) => H - PAD.b - (a / maxA) * (H - PAD.t - PAD.b);

  root.append(svg("rect", { x: PAD.l, y: PAD.t, width: W - PAD.l - PAD.r, height: H - PAD.t - PAD.b, class: "frame" }));
  for (const f of [0, 0.5, 1]) {
    root.append(svg("text", { x: PAD.l - 4, y: yKw(maxKw * f) + 4, class: "axis", "text-anchor": "end" }, (maxKw * f).toFixed(1)));
    root.append(svg("text", { x: W - PAD.r + 4, y: yA(maxA * f) + 4, class: "axis" }, (maxA * f).toFixed(0)));
  }
  root.append(svg("text", { x: 2, y: PAD.t - 2, class: "axis" }, "kW"));
  root.append(svg("text", { x: W - PAD.r + 4, y: PAD.t - 2, class: "axis" }, "A"));
  root.append(svg("text", { x: PAD.l, y: H - 6, class: "axis" }, clock(t0)));
  root.append(svg("text", { x: W - PAD.r, y: H - 6, class: "axis", "text-anchor": "end" }, clock(t1)));

  const line = (f) => points.map((p) => `${x(p[0]).toFixed(1)},${f(p).toFixed(1)}`).join(" ");
  root.append(svg("polyline", { points: line((p) => yKw(p[1] / 1000)), class: "power" }));
  root.append(svg("polyline", { points: line((p) => yA(p[2])), class: "offered" }));
  for (const [t, amps, source] of limits) {
    if (t < t0) continue;
    const g = svg("g", { class: "limit-mark" });
    g.append(svg("line", { x1: x(t), x2: x(t), y1: PAD.t, y2: H - PAD.b }));
    g.append(svg("text", { x: x(t) + 3, y: PAD.t + 12 }, `${amps === null ? "no limit" : amps + " A"} ${source}`));
    root.append(g);
  }
  const last = points[points.length - 1];
  caption.textContent =
    `Solid line: power (now ${(last[1] / 1000).toFixed(2)} kW). Dashed line: offered current (now ${last[2]} A). ` +
    `Dotted marks: ${limits.length} limit change(s). ${points.length} points since ${clock(t0)}.`;
}
