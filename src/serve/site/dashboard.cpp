#include "dashboard.h"

#include <string_view>

namespace leanpoint {

// Data is rendered with textContent only: upstream names and error details
// come from configuration and from upstreams, never from trusted markup.
const char kDashboardHtml[] = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>leanpoint</title>
<style>
  :root {
    --bg:#0f1419; --card:#182028; --fg:#e6e6e6; --dim:#8a96a3; --ok:#3fb950; --warn:#d29922; --bad:#f85149;
    --line:#26313c;
  }
  * { box-sizing: border-box; }
  body {
    margin:0; font:14px/1.45 system-ui, -apple-system, Segoe UI, sans-serif; background:var(--bg);
    color:var(--fg);
  }
  header {
    display:flex; flex-wrap:wrap; gap:.6rem; align-items:center; padding:.8rem 1rem;
    border-bottom:1px solid var(--line);
  }
  h1 { font-size:1.15rem; margin:0 .4rem 0 0; }
  h2 { font-size:.8rem; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 .4rem; }
  main { padding:1rem; max-width:1200px; margin:auto; }
  .pill { padding:.15rem .6rem; border-radius:999px; font-weight:600; font-size:.8rem; }
  .ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); }
  .pill.ok { background:#12351d; } .pill.warn { background:#3a2c0c; } .pill.bad { background:#3d1416; }
  .dim { color:var(--dim); } .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:.85em; }
  .cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(220px, 1fr)); gap:.8rem; margin-bottom:1rem; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:.8rem; }
  .big { font-size:1.9rem; font-weight:700; }
  table {
    width:100%; border-collapse:collapse; background:var(--card); border:1px solid var(--line);
    border-radius:8px; overflow:hidden;
  }
  th, td { text-align:left; padding:.45rem .6rem; border-bottom:1px solid var(--line); vertical-align:top; }
  th { color:var(--dim); font-weight:600; font-size:.8rem; }
  tr[data-state="faulty"] td:first-child { border-left:4px solid var(--bad); }
  tr[data-state="disagrees"] td:first-child, tr[data-state="refused"] td:first-child {
    border-left:4px solid var(--warn);
  }
  tr[data-state="ok"] td:first-child { border-left:4px solid var(--ok); }
  ol { margin:0; padding-left:1.2rem; }
  dl { display:grid; grid-template-columns:auto 1fr; gap:.15rem .7rem; margin:0; }
  dt { color:var(--dim); } dd { margin:0; }
  footer { padding:1rem; color:var(--dim); text-align:center; }
  a { color:#58a6ff; }
  @media (max-width: 640px) {
    table, thead, tbody, tr, td { display:block; width:100%; }
    thead { display:none; }
    tr { border-bottom:1px solid var(--line); padding:.3rem 0; }
    td { border:0; padding:.15rem .6rem; }
    td[data-label]::before { content: attr(data-label) ": "; color:var(--dim); }
    .big { font-size:1.5rem; }
  }
</style>
</head>
<body>
<header>
  <h1>leanpoint</h1>
  <span id="health" class="pill warn" data-testid="health">loading</span>
  <span id="updated" class="dim"></span>
</header>
<main>
  <section class="cards">
    <div class="card">
      <h2>Agreed finalized</h2>
      <div class="big" id="agreed-slot" data-testid="agreed-slot">–</div>
      <div class="mono" id="agreed-root"></div>
      <div class="dim" id="agreed-age"></div>
      <div class="dim" id="agreed-votes"></div>
    </div>
    <div class="card">
      <h2>Anchor</h2>
      <div class="big" id="anchor" data-testid="anchor">–</div>
      <div class="dim" id="anchor-detail"></div>
    </div>
    <div class="card">
      <h2>Justified</h2>
      <div class="big" id="justified-slot">–</div>
      <div class="mono" id="justified-root"></div>
    </div>
    <div class="card">
      <h2>Process</h2>
      <dl id="process"></dl>
    </div>
  </section>
  <!--charts-->
  <section>
    <h2>Upstreams</h2>
    <table>
      <thead><tr><th>Upstream</th><th>Client</th><th>Last result</th><th>Latency</th><th>Head</th><th>Finalized</th>
        <th>Backoff</th></tr></thead>
      <tbody id="upstreams" data-testid="upstreams"></tbody>
    </table>
  </section>
  <section class="card" style="margin-top:1rem">
    <h2>Recent agreed checkpoints</h2>
    <ol id="history" reversed></ol>
  </section>
</main>
<footer><a href="/status">/status</a> · <a href="/api/upstreams">/api/upstreams</a> ·
  <a href="/healthz">/healthz</a> · <a href="/metrics">/metrics</a></footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const short = (root) => root ? root.slice(0, 10) + "…" + root.slice(-4) : "";
const size = (n) => n >= 1048576 ? (n / 1048576).toFixed(2) + " MiB" : (n / 1024).toFixed(1) + " KiB";
function ago(ms) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 90 ? s + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
}
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function cell(label, text, cls) {
  const td = el("td", text, cls);
  td.dataset.label = label;
  return td;
}
function rowState(u) {
  if (!u.healthy && u.last_error) return "faulty";
  if (u.anchor_error) return "refused";
  if (u.healthy && !u.agrees) return "disagrees";
  if (u.healthy) return "ok";
  return "pending";
}
// How the upstream was observed, and what that cost this round.
function observedText(u) {
  const via = {fork_choice: "fork_choice", justified_unchanged: "justified unchanged", state: "via state"};
  const kib = n => (n / 1024).toFixed(n < 10240 ? 1 : 0) + " KiB";
  let text = (via[u.observed_via] || u.observed_via) + ", read " + kib(u.round_bytes || 0);
  if (u.fork_choice_bytes) text += " (fork_choice " + kib(u.fork_choice_bytes) + ")";
  return text;
}
function renderUpstreams(ups) {
  const body = $("upstreams");
  body.replaceChildren();
  for (const u of ups.upstreams) {
    const state = rowState(u);
    const tr = el("tr");
    tr.dataset.upstream = u.name;
    tr.dataset.state = state;
    const name = cell("Upstream");
    name.append(el("div", u.name), el("div", u.url, "dim mono"));
    tr.append(name);
    tr.append(cell("Client", u.client || "unknown", u.client ? "" : "dim"));
    let result = "";
    let cls = "";
    if (state === "faulty") { result = u.last_error + (u.http_status ? " " + u.http_status : ""); cls = "bad"; }
    else if (state === "refused") { result = "anchor refused: " + u.anchor_error; cls = "warn"; }
    else if (state === "disagrees") { result = "ok, disagrees"; cls = "warn"; }
    else if (state === "ok") { result = "ok"; cls = "ok"; }
    else result = "not polled yet";
    const res = cell("Last result", result, cls);
    if (u.error_detail && state === "faulty") res.append(el("div", u.error_detail, "dim"));
    if (u.observed_via && state !== "faulty") res.append(el("div", observedText(u), "dim"));
    tr.append(res);
    tr.append(cell("Latency", u.latency_ms == null ? "–" : u.latency_ms + " ms"));
    tr.append(cell("Head", u.head_slot == null ? "–" : String(u.head_slot)));
    const fin = cell("Finalized");
    if (u.finalized) fin.append(el("div", String(u.finalized.slot)), el("div", short(u.finalized.root), "dim mono"));
    else fin.textContent = "–";
    tr.append(fin);
    tr.append(cell("Backoff", u.backoff_until_ms ? "until " + new Date(u.backoff_until_ms).toLocaleTimeString() : "–",
                   u.backoff_until_ms ? "warn" : "dim"));
    body.append(tr);
  }
}
// Why the last round agreed on nothing (/status agreement.reason).
function noAgreementText(a) {
  if (a.reason !== "insufficient_client_diversity") return "no majority";
  const names = a.clients.map((c) => c || "unknown").join(", ");
  return "insufficient client diversity: the majority runs " + names + ", below " + a.min_clients +
      " implementations";
}
function renderStatus(s) {
  const h = $("health");
  h.textContent = s.health.ok ? "healthy" : s.health.failing.join(", ");
  h.className = "pill " + (s.health.ok ? "ok" : "bad");
  $("updated").textContent = "round " + s.round.number + ", updated " + ago(s.last_updated_ms);
  const c = s.history.length ? s.history[s.history.length - 1] : null;
  $("agreed-slot").textContent = c ? String(c.slot) : "none yet";
  $("agreed-root").textContent = c ? short(c.root) : "";
  $("agreed-age").textContent =
      c ? "first agreed " + ago(c.first_agreed_ms) + ", confirmed " + ago(s.last_success_ms) : "";
  $("agreed-votes").textContent = "last round: " + s.agreement.votes + " of " + s.agreement.answered +
      " answering upstreams" + (s.has_consensus ? "" : " — " + noAgreementText(s.agreement));
  const a = $("anchor");
  if (s.anchor) {
    a.textContent = s.anchor.restored ? "restored from disk" : s.anchor.current ? "verified" : "verified, older";
    a.className = "big " + (s.anchor.current && !s.anchor.restored ? "ok" : "warn");
    $("anchor-detail").textContent = "slot " + s.anchor.slot + ", state " + size(s.anchor.state_bytes) +
        " from " + s.anchor.state_source +
        (s.anchor.block_bytes == null ? ", no block yet" : ", block from " + s.anchor.block_source);
  } else {
    a.textContent = "none";
    a.className = "big bad";
    $("anchor-detail").textContent = s.last_error || "";
  }
  $("justified-slot").textContent = s.justified_root ? String(s.justified_slot) : "–";
  $("justified-root").textContent = short(s.justified_root);
  const p = s.process;
  const pools =
      p.pools.map((x) => x.name + " " + x.active + "/" + x.workers + " busy, " + x.queued + " queued").join("; ");
  const facts = [
    ["fds", p.fds_open + " / " + p.fds_limit],
    ["connections", p.connections_open + " open, " + p.connections_waiting + " waiting, " +
        p.connections_sending + " sending"],
    ["pools", pools],
    ["shed / stalled", p.shed_total + " / " + p.stalled_total],
    ["head timeouts", String(p.head_timeouts_total)],
    ["round", s.round.duration_ms + " ms (every " + s.round.poll_ms + " ms)"],
  ];
  if (s.data_dir) {
    const d = s.data_dir;
    facts.push(["data dir", d.path + ": restore " + d.restore + ", " + d.writes_total + " written" +
        (d.write_errors_total ? ", " + d.write_errors_total + " failed (" + (d.last_write_error || "recovered") + ")" : "")]);
  }
  const dl = $("process");
  dl.replaceChildren();
  for (const [k, v] of facts) dl.append(el("dt", k), el("dd", v));
  const ol = $("history");
  ol.replaceChildren();
  for (const x of s.history.slice(-10).reverse()) {
    const li = el("li");
    li.append(el("span", x.slot + " "), el("span", short(x.root), "mono dim"),
              el("span", " " + ago(x.first_agreed_ms), "dim"));
    ol.append(li);
  }
}
async function refresh() {
  try {
    const [s, u] = await Promise.all(
        [fetch("/status").then((r) => r.json()), fetch("/api/upstreams").then((r) => r.json())]);
    renderStatus(s);
    renderUpstreams(u);
  } catch (e) {
    const h = $("health");
    h.textContent = "leanpoint unreachable";
    h.className = "pill bad";
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";

const std::string& dashboard_page() {
  static const std::string page = [] {
    constexpr std::string_view kMarker = "<!--charts-->";
    std::string html = kDashboardHtml;
    const size_t at = html.find(kMarker);
    if (at != std::string::npos) html.replace(at, kMarker.size(), kDashboardCharts);
    return html;
  }();
  return page;
}

}  // namespace leanpoint
