#include "dashboard.h"

namespace leanpoint {

// The charts: their markup, style and script, spliced into the page where
// it says <!--charts--> (dashboard.cpp). The script polls /api/history on
// its own (everything once, then ?since= the newest round it has) and draws
// SVG sized to the width it is given, so it reads the same on a phone. Names
// are set with textContent only: they come from configuration.
//
// For tests (tests/dashboard_test.cpp) the SVGs say what they show:
// data-rounds, data-first-round, data-last-round, data-slot-min and
// data-slot-max on #chart-slots; a polyline per series (data-series:
// agreed, finalized, justified, lag; data-upstream); a track per upstream
// (data-track, data-disagreements, data-failures) of one rect per round
// (data-result: agrees, disagrees, no_agreement, failed, backing_off,
// not_polled). With "#hover" in the URL, the newest round's values show
// without a pointer (screenshots, tests).
// No ')' right before a '"' in it: scripts/check-function-length would take
// that for the end of the raw string (single quotes do instead).
const char kDashboardCharts[] = R"HTML(
<style>
  .charts { display:grid; grid-template-columns:1fr; gap:.8rem; margin-bottom:1rem; position:relative; }
  .chart svg { display:block; width:100%; touch-action:pan-y; }
  .chart svg text { fill:var(--dim); font-size:11px; }
  .chart .grid { stroke:var(--line); stroke-width:1; }
  .chart .cursor { stroke:var(--fg); stroke-width:1; opacity:.6; }
  .legend { display:flex; flex-wrap:wrap; gap:.2rem .8rem; font-size:.75rem; color:var(--dim); margin-top:.3rem; }
  .legend i { display:inline-block; width:.9rem; height:.25rem; margin-right:.3rem; vertical-align:middle; }
  #chart-tip {
    position:absolute; display:none; pointer-events:none; z-index:2; background:#0b0f13f0; border:1px solid var(--line);
    border-radius:6px; padding:.4rem .55rem; font-size:.75rem; max-width:min(92vw, 420px);
  }
  #chart-tip table { background:none; border:0; }
  #chart-tip td { padding:0 .4rem 0 0; border:0; display:table-cell; width:auto; white-space:nowrap; }
  #chart-tip td:first-child { max-width:9rem; overflow:hidden; text-overflow:ellipsis; }
  @media (max-width: 640px) {
    #chart-tip { font-size:.62rem; padding:.3rem .35rem; }
    #chart-tip tr { display:table-row; padding:0; border:0; }
    #chart-tip td { padding-right:.25rem; }
    #chart-tip td:first-child { max-width:5.5rem; }
  }
</style>
<section class="charts" id="charts" data-testid="charts">
  <div class="card chart">
    <h2>Finalized and justified slot per upstream</h2>
    <svg id="chart-slots" data-testid="chart-slots" role="img" aria-label="slots over time"></svg>
    <div class="legend" id="chart-legend"></div>
  </div>
  <div class="card chart">
    <h2>Finality lag (head − finalized), slots</h2>
    <svg id="chart-lag" data-testid="chart-lag" role="img" aria-label="finality lag over time"></svg>
  </div>
  <div class="card chart">
    <h2>Each upstream's rounds</h2>
    <svg id="chart-tracks" data-testid="chart-tracks" role="img" aria-label="results per round"></svg>
    <div class="legend">
      <span><i style='background:var(--ok)'></i>agrees</span><span><i style='background:var(--warn)'></i>disagrees</span>
      <span><i style="background:#2f5f8a"></i>no agreement</span><span><i style='background:var(--bad)'></i>failed</span><span><i style='background:#6b2a2d'></i>backing off</span>
      <span><i style='background:#3a434d'></i>not polled</span>
    </div>
  </div>
  <div id="chart-tip" data-testid="chart-tip"></div>
</section>
<script>
"use strict";
(() => {
  const NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const PAD = {left: 52, right: 10, top: 8, bottom: 20};
  const TRACK_COLORS = {agrees: 'var(--ok)', disagrees: 'var(--warn)', no_agreement: "#2f5f8a", failed: 'var(--bad)',
                        backing_off: "#6b2a2d", not_polled: "#3a434d"};
  let rounds = [];     // oldest first, as /api/history has them
  let capacity = 0;    // how many the server keeps
  let hover = null;    // the round index under the pointer
  // Ten colours told apart at a glance on the dark page, then hues spread by the golden angle.
  const PALETTE = ["#5b9bd5", "#f28e2b", "#e15759", "#76b7b2", "#59c14f", "#edc948", "#c58bd6", "#ff9da7",
                   "#b08b6e", "#bab0ac"];
  const color = (i) => i < PALETTE.length ? PALETTE[i] : "hsl(" + ((i * 137.5) % 360).toFixed(0) + ' 70% 62%)';

  function svgEl(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // The kind of an upstream's round, as the tracks color it: an answer in a
  // round without agreement disagreed with nobody.
  function kind(u, r) {
    if (u.result === "ok") return u.agrees ? "agrees" : r.agreed ? "disagrees" : "no_agreement";
    if (u.result === "backing_off" || u.result === "not_polled") return u.result;
    return "failed";
  }
  function names() {
    const last = rounds[rounds.length - 1];
    return last ? last.upstreams.map((u) => u.name) : [];
  }
  function entry(r, name) { return r.upstreams.find((u) => u.name === name); }
  // A round's x: by its start time, so gaps (a stop, a slow round) show as gaps.
  function xScale(width) {
    const t0 = rounds[0].started_ms, t1 = rounds[rounds.length - 1].started_ms;
    const span = Math.max(1, t1 - t0), w = width - PAD.left - PAD.right;
    return (r) => PAD.left + (rounds.length === 1 ? w : (r.started_ms - t0) / span * w);
  }
  function yScale(lo, hi, height) {
    const h = height - PAD.top - PAD.bottom;
    return (v) => hi === lo ? PAD.top + h / 2 : PAD.top + (hi - v) / (hi - lo) * h;
  }
  // About n ticks at a round step: 1, 2 or 5 times a power of ten.
  function ticks(lo, hi, n) {
    if (hi === lo) return [lo];
    const raw = (hi - lo) / n, power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw));
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
    return out;
  }
  function axes(svg, width, height, y, lo, hi) {
    for (const v of ticks(lo, hi, 4)) {
      svg.append(svgEl("line", {x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v), class: "grid"}));
      svg.append(svgEl("text", {x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end"}, String(v)));
    }
    const first = rounds[0], last = rounds[rounds.length - 1];
    const time = (r) => new Date(r.started_ms).toLocaleTimeString();
    svg.append(svgEl("text", {x: PAD.left, y: height - 4}, time(first)));
    svg.append(svgEl("text", {x: width - PAD.right, y: height - 4, "text-anchor": "end"}, time(last)));
  }
  // One polyline per run of rounds with a value: a missing value is a gap.
  function series(svg, x, y, value, attrs) {
    let run = [];
    const flush = () => {
      if (run.length) svg.append(svgEl("polyline", Object.assign({points: run.join(" "), fill: "none"}, attrs)));
      run = [];
    };
    for (const r of rounds) {
      const v = value(r);
      if (v === null || v === undefined) flush();
      else run.push(x(r).toFixed(1) + "," + y(v).toFixed(1));
    }
    flush();
  }
  function prepare(svg, height) {
    const width = Math.max(280, svg.clientWidth || svg.parentNode.clientWidth || 600);
    svg.replaceChildren();
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    svg.setAttribute("height", height);
    return width;
  }
  function drawSlots() {
    const svg = $("chart-slots"), height = 220, width = prepare(svg, height);
    const vals = [];
    for (const r of rounds) {
      if (r.agreed) vals.push(r.agreed.slot);
      for (const u of r.upstreams)
        for (const v of [u.finalized_slot, u.justified_slot]) if (v !== null) vals.push(v);
    }
    if (!vals.length) return;
    const lo = Math.min(...vals), hi = Math.max(...vals);
    Object.assign(svg.dataset, {rounds: rounds.length, firstRound: rounds[0].round,
                                lastRound: rounds[rounds.length - 1].round, slotMin: lo, slotMax: hi});
    const x = xScale(width), y = yScale(lo, hi, height);
    axes(svg, width, height, y, lo, hi);
    series(svg, x, y, (r) => r.agreed ? r.agreed.slot : null,
           {"data-series": "agreed", stroke: 'var(--fg)', "stroke-width": 7, "stroke-opacity": .28});
    names().forEach((name, i) => {
      series(svg, x, y, (r) => (entry(r, name) || {}).justified_slot,
             {"data-series": "justified", "data-upstream": name, stroke: color(i), "stroke-width": 1,
              "stroke-dasharray": "4 3"});
      series(svg, x, y, (r) => (entry(r, name) || {}).finalized_slot,
             {"data-series": "finalized", "data-upstream": name, stroke: color(i), "stroke-width": 1.6});
    });
    const legend = $("chart-legend");
    legend.replaceChildren();
    const item = (label, style) => {
      const s = document.createElement("span"), i = document.createElement("i");
      i.setAttribute("style", style);
      s.append(i, document.createTextNode(label));
      legend.append(s);
    };
    item("agreed finalized", "background:var(--fg);opacity:.4;height:.45rem");
    names().forEach((name, i) => item(name, "background:" + color(i)));
    item("solid: finalized, dashed: justified", "display:none");
  }
  function drawLag() {
    const svg = $("chart-lag"), height = 150, width = prepare(svg, height);
    const lag = (u) => u && u.head_slot !== null && u.finalized_slot !== null ? u.head_slot - u.finalized_slot : null;
    let hi = 0;
    for (const r of rounds) for (const u of r.upstreams) hi = Math.max(hi, lag(u) || 0);
    const x = xScale(width), y = yScale(0, Math.max(hi, 1), height);
    svg.dataset.lagMax = hi;
    axes(svg, width, height, y, 0, Math.max(hi, 1));
    names().forEach((name, i) => series(svg, x, y, (r) => lag(entry(r, name)),
                                        {"data-series": "lag", "data-upstream": name, stroke: color(i),
                                         "stroke-width": 1.6}));
  }
  function drawTracks() {
    const svg = $("chart-tracks"), list = names(), row = 16, labelH = 13;
    const height = list.length * (row + labelH) + PAD.bottom, width = prepare(svg, height);
    const x = xScale(width);
    // Each round's cell reaches halfway to its neighbours': the track has no gaps.
    const edges = rounds.map((r, i) => i === 0 ? PAD.left : (x(rounds[i - 1]) + x(r)) / 2);
    edges.push(width - PAD.right);
    list.forEach((name, i) => {
      const top = i * (row + labelH);
      const g = svgEl("g", {"data-track": name});
      let disagreements = 0, failures = 0;
      g.append(svgEl("text", {x: PAD.left, y: top + 10}, name));
      // One rect per run of rounds of one kind: a few per track, not one per round.
      let run = null;
      const flush = () => {
        if (!run) return;
        g.append(svgEl("rect", {x: edges[run.from].toFixed(1), y: top + labelH, height: row - 3,
                                width: Math.max(1, edges[run.to + 1] - edges[run.from]).toFixed(1),
                                fill: TRACK_COLORS[run.kind], "data-result": run.kind, "data-rounds": run.to - run.from + 1}));
        run = null;
      };
      rounds.forEach((r, j) => {
        const u = entry(r, name);
        if (!u) return flush();
        const k = kind(u, r);
        disagreements += k === "disagrees";
        failures += k === "failed";
        if (run && run.kind === k && run.to === j - 1) run.to = j;
        else {
          flush();
          run = {kind: k, from: j, to: j};
        }
      });
      flush();
      g.dataset.disagreements = disagreements;
      g.dataset.failures = failures;
      if (disagreements || failures)
        g.append(svgEl("text", {x: width - PAD.right, y: top + 10, "text-anchor": "end",
                                fill: disagreements ? 'var(--warn)' : 'var(--bad)'},
                       (disagreements ? disagreements + " disagreeing" : "") +
                       (disagreements && failures ? ", " : "") + (failures ? failures + " failed" : "")));
      svg.append(g);
    });
    const last = rounds[rounds.length - 1];
    svg.append(svgEl("text", {x: width - PAD.right, y: height - 4, "text-anchor": "end"},
                     new Date(last.started_ms).toLocaleTimeString()));
  }
  function draw() {
    if (!rounds.length) return;
    if (location.hash === "#hover") hover = rounds.length - 1;  // the newest round's values, for screenshots
    drawSlots();
    drawLag();
    drawTracks();
    if (hover === null) return;
    showHover(hover);
    if (location.hash === "#hover") {
      const box = $("chart-slots").getBoundingClientRect();
      placeTip({clientX: box.left + box.width * .45, clientY: box.top + 30});
    }
  }
  // The round nearest the pointer: a line across every chart, and its values.
  function nearest(svg, clientX) {
    const box = svg.getBoundingClientRect(), width = Number(svg.getAttribute("viewBox").split(" ")[2]);
    const px = (clientX - box.left) / box.width * width, x = xScale(width);
    let best = 0;
    rounds.forEach((r, i) => { if (Math.abs(x(r) - px) < Math.abs(x(rounds[best]) - px)) best = i; });
    return best;
  }
  function showHover(i) {
    const r = rounds[i];
    if (!r) return;
    for (const id of ["chart-slots", "chart-lag", "chart-tracks"]) {
      const svg = $(id), vb = (svg.getAttribute("viewBox") || "0 0 0 0").split(" ").map(Number);
      svg.querySelectorAll(".cursor").forEach((c) => c.remove());
      const cx = xScale(vb[2])(r);
      svg.append(svgEl("line", {class: "cursor", x1: cx, x2: cx, y1: 0, y2: vb[3]}));
    }
    const tip = $("chart-tip");
    tip.replaceChildren();
    const head = document.createElement("div");
    head.textContent = new Date(r.started_ms).toLocaleTimeString() + " · round " + r.round + " · agreed " +
        (r.agreed ? r.agreed.slot : "none") + " (" + r.votes + " of " + r.answered + ')';
    const table = document.createElement("table");
    for (const u of r.upstreams) {
      const tr = document.createElement("tr");
      const lag = u.head_slot !== null && u.finalized_slot !== null ? u.head_slot - u.finalized_slot : "–";
      const result = u.result === "ok" ? kind(u, r).replace("_", " ") : u.result;
      for (const text of [u.name, result, "fin " + (u.finalized_slot ?? "–"), "just " + (u.justified_slot ?? "–"),
                          "head " + (u.head_slot ?? "–"), "lag " + lag,
                          u.latency_ms === null ? "" : u.latency_ms + " ms"]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      tr.firstChild.style.color = color(names().indexOf(u.name));
      table.append(tr);
    }
    tip.append(head, table);
    tip.style.display = "block";
  }
  function placeTip(ev) {
    const tip = $("chart-tip"), box = $("charts").getBoundingClientRect();
    const left = Math.min(ev.clientX - box.left + 12, box.width - tip.offsetWidth);
    tip.style.left = Math.max(0, left) + "px";
    tip.style.top = (ev.clientY - box.top + 14) + "px";
  }
  for (const id of ["chart-slots", "chart-lag", "chart-tracks"]) {
    const svg = $(id);
    svg.addEventListener("pointermove", (ev) => {
      if (!rounds.length) return;
      hover = nearest(svg, ev.clientX);
      showHover(hover);
      placeTip(ev);
    });
    svg.addEventListener("pointerdown", (ev) => {  // a tap on a phone
      if (!rounds.length) return;
      hover = nearest(svg, ev.clientX);
      showHover(hover);
      placeTip(ev);
    });
    svg.addEventListener("pointerleave", () => {
      hover = null;
      $("chart-tip").style.display = "none";
      document.querySelectorAll(".chart .cursor").forEach((c) => c.remove());
    });
  }
  async function refresh() {
    try {
      const since = rounds.length ? "?since=" + rounds[rounds.length - 1].started_ms : "";
      const doc = await fetch("/api/history" + since).then((r) => r.json());
      capacity = doc.capacity || capacity;
      if (!doc.rounds.length && rounds.length) return;  // nothing new: the charts stand
      rounds = rounds.concat(doc.rounds);
      if (capacity && rounds.length > capacity) rounds = rounds.slice(rounds.length - capacity);
      if (hover !== null && hover >= rounds.length) hover = null;
      draw();
    } catch (e) { /* the main script reports leanpoint unreachable */ }
  }
  window.addEventListener("resize", draw);
  refresh();
  setInterval(refresh, 2000);
})();
</script>
)HTML";

}  // namespace leanpoint
