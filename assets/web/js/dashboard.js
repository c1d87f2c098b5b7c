// The dashboard (/dashboard): polls GET /_metrics every second and shows the counters,
// the status distribution and per-route latency. Text only, built with dom.js.

import { $, el, setText, statusSpan } from './dom.js';
import { bytes, count } from './format.js';

const fixed = (v) => (Number.isFinite(Number(v)) ? Number(v).toFixed(3) : '–');

/** bucketOrder sorts "<= 5ms" … "<= 5000ms" by their bound and "> 5000ms" last. */
function bucketOrder(label) {
  const n = Number.parseFloat(String(label).replace(/[^0-9.]/g, '')) || 0;
  return String(label).trim().startsWith('>') ? n + 0.5 : n;
}

function setMode(mode) {
  $('conn').dataset.mode = mode;
  $('conn-label').textContent = mode;
}

async function refreshMetrics() {
  let m;
  try {
    const res = await fetch('/_metrics', { cache: 'no-store', headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`metrics answered ${res.status}`);
    m = await res.json();
  } catch {
    setMode('offline');
    return;
  }
  setMode('live');
  const status = m.status_counts || {};
  setText($('m-total'), count(m.total_requests));
  setText($('m-active'), count(m.active_connections));
  setText($('m-open'), count(m.open_connections));
  setText($('m-inflight'), count(m.inflight_requests));
  setText($('m-reused'), count(m.requests_reused_connection));
  setText($('m-bytes'), bytes(m.bytes_sent_total));
  setText($('m-200'), count(status['200'] ?? 0));
  setText($('m-p50'), fixed(m.latency_p50_ms));
  setText($('m-p95'), fixed(m.latency_p95_ms));
  setText($('m-p99'), fixed(m.latency_p99_ms));
  setText($('m-drain'), m.drain_state ?? '–');
  setText($('m-engine'), m.engine ?? '–');

  $('status-rows').replaceChildren(
    ...Object.entries(status)
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([code, n]) => el('tr', {}, el('td', {}, statusSpan(code)), el('td', { cls: 'num', text: count(n) }))),
  );
  const byRoute = m.requests_by_route || {};
  $('route-rows').replaceChildren(
    ...Object.entries(m.latency_by_route_ms || {})
      .sort((a, b) => (byRoute[b[0]] ?? 0) - (byRoute[a[0]] ?? 0) || a[0].localeCompare(b[0]))
      .map(([route, l]) =>
        el(
          'tr',
          {},
          el('td', { cls: 'path', text: route }),
          el('td', { cls: 'num', text: count(byRoute[route] ?? 0) }),
          el('td', { cls: 'num', text: fixed(l.p50) }),
          el('td', { cls: 'num', text: fixed(l.p95) }),
          el('td', { cls: 'num', text: fixed(l.p99) }),
        ),
      ),
  );
  $('bucket-rows').replaceChildren(
    ...Object.entries(m.latency_buckets_ms || {})
      .sort((a, b) => bucketOrder(a[0]) - bucketOrder(b[0]))
      .map(([bucket, n]) => el('tr', {}, el('td', { text: bucket }), el('td', { cls: 'num', text: count(n) }))),
  );
}

refreshMetrics();
setInterval(refreshMetrics, 1000);
