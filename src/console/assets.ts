/** Stylesheet and script of the console, served from the gateway itself (no CDN, no build step). */
export const CSS = `
:root { --fg:#111; --bg:#fff; --muted:#444; --line:#888; --accent:#0047b3; --ok:#0a6b2d; --bad:#b00020; --warn:#8a5a00; --stale:#555; }
* { box-sizing: border-box; }
body { margin:0; font: 20px/1.45 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:wrap; gap:.5rem 1rem; align-items:center; padding:.5rem 1rem; background:#0b2545; color:#fff; }
header a, header button { color:#fff; }
header .who { margin-left:auto; }
nav a { display:inline-flex; align-items:center; min-height:56px; padding:.6rem .8rem; font-weight:600; text-decoration:none; border-radius:6px; }
/* Every control is a 56 px target (docs/console.md): links too, however short their text. */
a { display:inline-flex; align-items:center; min-height:56px; min-width:56px; color:var(--accent); }
th > a, td > a, h2 > a, h3 > a { padding:0 .3rem; }
nav a[aria-current=page] { background:#fff; color:#0b2545; }
main { padding:1rem; max-width:1200px; margin:0 auto; }
h1 { font-size:1.6rem; margin:.5rem 0 1rem; } h2 { font-size:1.3rem; margin:1.5rem 0 .5rem; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible { outline:4px solid #ffbf00; outline-offset:2px; }
button, .button { display:inline-flex; align-items:center; justify-content:center; min-height:56px; min-width:56px; padding:.5rem 1.2rem; font:inherit; font-weight:700; border:2px solid var(--accent); border-radius:8px; background:var(--accent); color:#fff; cursor:pointer; text-decoration:none; }
button.secondary, .button.secondary { background:#fff; color:var(--accent); }
button.danger, .button.danger { background:var(--bad); border-color:var(--bad); color:#fff; }
/* Done cannot be undone: its own colour and a tick, never mistaken for Pause. */
button.finish { background:var(--ok); border-color:var(--ok); }
button.finish::before { content:'✓'; margin-right:.4rem; }
.warning { font-weight:700; color:var(--bad); }
.warning-box { border-left:6px solid var(--bad); background:#fdf2f4; padding:.2rem .8rem; margin:.6rem 0; } .warning-box p { margin:.4rem 0; }
button[disabled] { opacity:.6; }
header button { background:transparent; border-color:#fff; }
input, select, textarea { font:inherit; min-height:56px; min-width:56px; padding:.3rem .5rem; border:2px solid var(--line); border-radius:6px; max-width:100%; }
label { display:block; font-weight:600; margin:.4rem 0 .2rem; }
.flash { padding:.8rem 1rem; border-radius:8px; margin-bottom:1rem; font-weight:600; }
.flash.ok { background:#e3f5e9; border:2px solid var(--ok); } .flash.error { background:#fde7ea; border:2px solid var(--bad); }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(min(100%, 400px), 1fr)); gap:1rem; }
.card table th, .card table td { padding:.3rem .3rem; } .card td.muted { white-space:nowrap; }
.card { border:2px solid var(--line); border-radius:10px; padding:1rem; }
.card h2, .card h3 { margin-top:0; } main > .card + .card { margin-top:1rem; }
.actions { display:flex; flex-wrap:wrap; gap:.6rem; align-items:flex-end; margin-top:.6rem; }
.actions form { margin:0; }
details { margin-top:.6rem; } summary { display:flex; align-items:center; min-height:56px; padding:0 .3rem; font-weight:700; cursor:pointer; }
summary::before { content:'▸'; margin-right:.4rem; } details[open] > summary::before { content:'▾'; }
.status { display:inline-block; padding:.1rem .6rem; border-radius:999px; font-weight:700; border:2px solid currentColor; }
.status.in_progress, .status.running { color:var(--ok); } .status.paused, .status.idle, .status.ack { color:var(--warn); }
.status.down, .status.open, .status.offline { color:var(--bad); } .status.done, .status.resolved, .status.planned, .status.maintenance { color:var(--muted); }
table { border-collapse:collapse; width:100%; } th, td { text-align:left; padding:.4rem .5rem; border-bottom:1px solid var(--line); vertical-align:top; }
.table-wrap { overflow-x:auto; }
.q-good { font-weight:700; }
.q-bad { color:var(--bad); font-weight:700; text-decoration: line-through wavy; }
.q-uncertain { color:var(--warn); font-style:italic; }
/* Stale: dark grey (7:1 on white, WCAG AA needs 4.5:1) with a dashed underline and the word "stale". */
.q-stale { color:var(--stale); text-decoration: underline dashed; text-underline-offset:.2em; }
.tag { font-size:.8em; font-weight:700; padding:0 .4rem; border-radius:4px; border:1px solid currentColor; margin-left:.3rem; font-style:normal; text-decoration:none; display:inline-block; }
.late { color:var(--bad); font-weight:700; }
progress { width:100%; height:1.2rem; }
.muted { color:var(--muted); }
.chart { margin:.6rem 0 0; } .chart svg { width:100%; height:auto; max-height:320px; display:block; }
.chart .plot { fill:#f7f7f7; stroke:var(--line); } .chart .gap { fill:#d0d0d0; }
.chart .line { fill:none; stroke:var(--accent); stroke-width:2.5; stroke-linejoin:round; } .chart .band { stroke:#8fb3e8; stroke-width:6; }
.chart .uncertain { fill:#fff; stroke:var(--warn); stroke-width:2.5; } .chart .bad { fill:var(--bad); } .chart .point { fill:var(--accent); }
.chart .axis { font-size:18px; fill:var(--fg); } .chart figcaption { margin-top:.4rem; }
.legend { font-size:.85em; margin:.2rem 0; }
.sr-only { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); white-space:nowrap; }
/* OEE tiles and the downtime list (src/console/oee.tsx). */
.oee-tiles { display:grid; grid-template-columns:repeat(auto-fill, minmax(15rem, 1fr)); gap:.8rem; margin-top:1rem; }
.oee-tile dl { display:grid; grid-template-columns:1fr 1fr; gap:.3rem .8rem; margin:.4rem 0 0; } .oee-tile dd { margin:0; font-size:1.4em; font-weight:700; }
.downtimes { list-style:none; padding:0; } .downtimes li { border-bottom:1px solid var(--line); padding:.6rem 0; }
@media (max-width: 600px) { body { font-size:18px; } main { padding:.6rem; } .cards { grid-template-columns:1fr; } header .who { margin-left:0; } }
/* On a phone a wide table's rows stack, each cell under its own label, so no action hides off-screen. */
@media (max-width: 600px) {
  table.stack thead { position:absolute; width:1px; height:1px; overflow:hidden; clip:rect(0 0 0 0); }
  table.stack tr { display:block; border-bottom:1px solid var(--line); padding:.4rem 0; }
  table.stack td { display:block; border:0; padding:.2rem 0; }
  table.stack td[data-label]::before { content:attr(data-label) ': '; font-weight:700; }
  .card td.muted { white-space:normal; }
}
`;

// Progressive enhancement only: without it, every form still posts and every page still loads.
export const JS = `
document.addEventListener('submit', function (e) {
  var f = e.target; if (f.dataset.sent) { e.preventDefault(); return; }
  f.dataset.sent = '1';
  setTimeout(function () { f.querySelectorAll('button').forEach(function (b) { b.disabled = true; }); }, 0);
});
(function () {
  var body = document.body, staleMs = Number(body.dataset.staleMs || 0);
  // Values age on screen too: marked stale against the server's clock (the page's data-now).
  var skew = Number(body.dataset.now || Date.now()) - Date.now();
  if (staleMs) setInterval(function () {
    var now = Date.now() + skew;
    document.querySelectorAll('td[data-ts]').forEach(function (td) {
      if (td.dataset.stale || now - Number(td.dataset.ts) <= Number(td.dataset.staleMs || staleMs)) return;
      var tag = document.createElement('span'); tag.className = 'tag'; tag.textContent = body.dataset.staleLabel;
      if (td.dataset.quality !== 'bad') td.className = 'q-stale';
      td.dataset.stale = '1'; td.appendChild(tag);
    });
  }, 5000);
  // A running stage's worked time counts on (My work): "Worked 12 min", "Worked 1 h 05 min".
  setInterval(function () {
    var now = Date.now() + skew;
    document.querySelectorAll('[data-worked-from]').forEach(function (el) {
      var m = Math.floor(Math.max(0, now - Number(el.dataset.workedFrom)) / 60000);
      var d = m === 0 ? el.dataset.less : m < 60 ? m + ' min' : Math.floor(m / 60) + ' h ' + String(m % 60).padStart(2, '0') + ' min';
      el.textContent = el.dataset.template.replace('{d}', d);
    });
  }, 15000);

  if (!body.dataset.live || !window.EventSource) return;
  // Both re-fetches say x-gw-background: they are not the user's doing, so they do not keep a
  // station session from ending when idle (station.tsx, BACKGROUND_HEADER).
  var refreshing = false;
  function refresh() {
    if (refreshing) return;
    if (document.activeElement && document.activeElement.closest && document.activeElement.closest('form')) return;
    refreshing = true;
    fetch(location.href, { credentials: 'same-origin', headers: { 'x-gw-background': '1' } }).then(function (r) {
      if (r.redirected || !r.ok) { location.reload(); return null; } return r.text();
    }).then(function (html) {
      if (!html) return; var doc = new DOMParser().parseFromString(html, 'text/html');
      var next = doc.querySelector('[data-live-region]'); var cur = document.querySelector('[data-live-region]');
      if (next && cur) cur.innerHTML = next.innerHTML;
    }).finally(function () { refreshing = false; });
  }
  // The chart is re-fetched when a reading of its type arrives: one request at a time, at most one a second.
  var chartBusy = false, chartDirty = false;
  function redrawChart() {
    chartDirty = true; var box = document.querySelector('[data-chart-src]');
    if (chartBusy || !box) return;
    chartBusy = true; chartDirty = false;
    var open = !!box.querySelector('details[open]');
    fetch(box.dataset.chartSrc, { credentials: 'same-origin', headers: { 'x-gw-background': '1' } }).then(function (r) {
      return r.ok && !r.redirected ? r.text() : null;
    }).then(function (html) {
      if (!html) return; box.outerHTML = html;
      var d = open && document.querySelector('[data-chart-src] details'); if (d) d.open = true;
    }).finally(function () { setTimeout(function () { chartBusy = false; if (chartDirty) redrawChart(); }, 1000); });
  }
  var es = new EventSource(body.dataset.live);
  es.addEventListener('refresh', refresh);
  // Figures that move with time alone (the running shift's OEE tiles, oee.tsx) are re-read on their
  // own period too, so a long stop, which sends no events, does not freeze them; not while hidden.
  var timed = document.querySelector('[data-live-region] [data-refresh-ms]');
  if (timed) setInterval(function () {
    if (!document.hidden && document.querySelector('[data-live-region] [data-refresh-ms]')) refresh();
  }, Math.max(5000, Number(timed.dataset.refreshMs)));
  es.addEventListener('readings', function (e) {
    var rows = document.createElement('tbody'); rows.innerHTML = e.data;
    var chart = document.querySelector('[data-chart-src]'), missing = false;
    Array.prototype.slice.call(rows.children).forEach(function (row) {
      var m = row.dataset.rowMachine, type = row.dataset.reading;
      var cur = document.querySelector('tr[data-row-machine="' + m + '"][data-reading="' + CSS.escape(type) + '"]');
      if (cur) cur.replaceWith(row); else missing = true;
      // "Last seen" moves on with the machine's newest value (the server formatted its time).
      var ts = row.querySelector('td[data-ts]'), time = row.querySelector('td[data-time]');
      document.querySelectorAll('[data-machine="' + m + '"] [data-last-seen]').forEach(function (seen) {
        if (!ts || !time || Number(ts.dataset.ts) <= Number(seen.dataset.lastSeen)) return;
        seen.dataset.lastSeen = ts.dataset.ts; seen.textContent = time.textContent.trim();
      });
      if (chart && chart.dataset.chartMachine === m && chart.dataset.chartType === type) redrawChart();
    });
    if (missing) refresh();
  });
  es.addEventListener('signedout', function () { es.close(); location.reload(); });
})();
`;
