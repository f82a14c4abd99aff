// The console's one script and one stylesheet, served from the console's origin (the CSP allows nothing else). They
// live here as text, so the build stays `tsc` alone and the package ships them inside dist. Every page works without
// the script; it adds the live list (server-sent events) and the player's play / pause / speed.
import type { FastifyInstance } from 'fastify';

const APP_JS = String.raw`'use strict';
(function () {
  // Live requests: the server sends the list as the page renders it; items already shown are left as they are, so a
  // reason being typed survives, new ones are added and decided ones leave.
  var live = document.querySelector('[data-live]');
  if (live && window.EventSource) {
    var source = new EventSource(live.getAttribute('data-live'));
    source.addEventListener('pending', function (e) { merge(live, e.data); });
    source.addEventListener('signed-out', function () { source.close(); window.location.assign('/ui/login'); });
  }

  function merge(container, markup) {
    var t = document.createElement('template');
    t.innerHTML = markup;
    var incoming = Array.prototype.slice.call(t.content.querySelectorAll('[data-request-id]'));
    var ids = incoming.map(function (el) { return el.getAttribute('data-request-id'); });
    Array.prototype.forEach.call(container.querySelectorAll('[data-request-id]'), function (el) {
      if (ids.indexOf(el.getAttribute('data-request-id')) < 0) el.remove();
    });
    var shown = Array.prototype.map.call(container.querySelectorAll('[data-request-id]'), function (el) { return el.getAttribute('data-request-id'); });
    incoming.forEach(function (el) {
      if (shown.indexOf(el.getAttribute('data-request-id')) >= 0) return;
      el.classList.add('arrived');
      container.appendChild(el);
    });
    var empty = container.querySelector('[data-empty]');
    if (incoming.length > 0 && empty) empty.remove();
    if (incoming.length === 0 && !empty) {
      var none = t.content.querySelector('[data-empty]');
      if (none) container.appendChild(none);
    }
  }

  // The session player: rows carry their time into the session (data-t, ms); playing reveals each when its time comes.
  var player = document.getElementById('player');
  if (player) {
    var rows = Array.prototype.slice.call(document.querySelectorAll('#statements tbody tr'));
    // The replay runs until the last statement has finished, not just started.
    var end = rows.reduce(function (m, r) { return Math.max(m, Number(r.getAttribute('data-t')) + Number(r.getAttribute('data-ms') || 0)); }, 0);
    var playBtn = player.querySelector('[data-action=play]');
    var pauseBtn = player.querySelector('[data-action=pause]');
    var speedSel = player.querySelector('[data-action=speed]');
    var clock = player.querySelector('[data-clock]');
    var speed = Number(speedSel.value) || 1;
    var pos = 0;
    var startedAt = 0;
    var timer = null;
    player.hidden = false;
    player.setAttribute('data-state', 'idle');

    var show = function (t) {
      var current = null;
      rows.forEach(function (r) {
        var played = Number(r.getAttribute('data-t')) <= t;
        r.classList.toggle('unplayed', !played);
        r.classList.remove('current');
        if (played) current = r;
      });
      if (current) current.classList.add('current');
      clock.textContent = (t / 1000).toFixed(1) + ' s';
    };
    var stop = function (state) {
      clearInterval(timer);
      timer = null;
      playBtn.disabled = false;
      pauseBtn.disabled = true;
      player.setAttribute('data-state', state);
    };
    var tick = function () {
      pos = (performance.now() - startedAt) * speed;
      if (pos >= end) {
        pos = end;
        show(pos);
        rows.forEach(function (r) { r.classList.remove('current'); });
        return stop('ended');
      }
      show(pos);
    };
    playBtn.addEventListener('click', function () {
      if (player.getAttribute('data-state') === 'ended') pos = 0;
      startedAt = performance.now() - pos / speed;
      playBtn.disabled = true;
      pauseBtn.disabled = false;
      player.setAttribute('data-state', 'playing');
      show(pos);
      timer = setInterval(tick, 40);
    });
    pauseBtn.addEventListener('click', function () {
      if (timer) stop('paused');
    });
    speedSel.addEventListener('change', function () {
      speed = Number(speedSel.value) || 1;
      if (timer) startedAt = performance.now() - pos / speed;
    });
  }
})();
`;

const APP_CSS = `
:root{--fg:#1d2430;--muted:#667085;--line:#d9dee7;--bg:#f6f7f9;--accent:#2357d8;--bad:#b42318;--good:#067647}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;gap:16px;align-items:center;padding:10px 20px;background:#111827;color:#fff}
header a{color:#fff;text-decoration:none}
header .brand{font-weight:700;margin-right:12px}
header nav{display:flex;gap:14px;flex:1}
header .whoami{display:flex;gap:8px;align-items:center;margin:0}
main{max-width:1200px;margin:0 auto;padding:16px 20px}
h1{font-size:1.4em}
a{color:var(--accent)}
.muted{color:var(--muted)}
.error{color:var(--bad);font-weight:600}
.code{font-family:ui-monospace,monospace;color:var(--muted)}
.request{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:12px 0}
.request.arrived{border-color:var(--accent);box-shadow:0 0 0 2px #c7d7fe}
.request header{background:none;color:var(--fg);padding:0;justify-content:space-between}
.request header a{color:var(--accent)}
.state{font-size:.85em;text-transform:uppercase;color:var(--muted)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:10px 0}
dt{color:var(--muted)}
dd{margin:0}
pre.sql{background:#0f172a;color:#e2e8f0;padding:8px 10px;border-radius:6px;white-space:pre-wrap;word-break:break-word;margin:6px 0}
.decide{display:flex;gap:10px;flex-wrap:wrap}
.decide form{display:flex;gap:6px;margin:0}
.decide input{min-width:260px}
button{font:inherit;padding:5px 12px;border-radius:6px;border:1px solid var(--line);background:#fff;cursor:pointer}
button.approve{background:var(--good);color:#fff;border-color:var(--good)}
button.deny,button.danger{background:var(--bad);color:#fff;border-color:var(--bad)}
input,select{font:inherit;padding:4px 6px;border:1px solid var(--line);border-radius:6px}
form.filters{display:flex;flex-wrap:wrap;gap:8px 12px;align-items:end;background:#fff;padding:10px;border:1px solid var(--line);border-radius:8px}
form.filters label{display:flex;flex-direction:column;font-size:.85em;color:var(--muted)}
form.inline{display:inline;margin-left:8px}
form.lock{display:flex;gap:10px;align-items:end;flex-wrap:wrap}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.9em}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
td code{white-space:pre-wrap;word-break:break-word}
td pre.sql{margin:0}
.rule{font-family:ui-monospace,monospace;font-size:.85em;color:var(--muted)}
.sqlstate{color:var(--bad)}
tr.denied td,tr.error td{background:#fff5f5}
tr.unplayed{visibility:hidden}
tr.current td{background:#eef4ff}
.player{display:flex;gap:10px;align-items:center;margin:12px 0}
.clock{font-family:ui-monospace,monospace}
pre.transcript{background:#fff;border:1px solid var(--line);padding:10px;white-space:pre-wrap}
`;

export function registerAssets(ui: FastifyInstance): void {
  ui.get('/static/app.js', async (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(APP_JS));
  ui.get('/static/app.css', async (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(APP_CSS));
}
