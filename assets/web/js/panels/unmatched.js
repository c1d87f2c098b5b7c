// Unmatched requests: the recent requests no route and no mock answered
// (GET /api/requests/unmatched), newest first, each with the mocks that came closest to it
// (its near misses, at most 3) and, for each of those, every condition: what it expected,
// what the request had and whether it held. The server works the near misses out against the
// mocks as they are now, so the panel refreshes when a request goes unmatched and when the
// mocks change: a fixed mock shows at once. Every value is set as text.

import { api, query } from '../api.js';
import { $, el, showError, statusSpan } from '../dom.js';
import { clock } from '../format.js';

const FETCHED = 20; // the requests asked for, newest
const NEAR_SHOWN = 3; // near misses shown per request (the server sends at most 3)

export class Unmatched {
  constructor() {
    this.list = $('unmatched-list');
    this.empty = $('unmatched-empty');
    this.error = $('unmatched-error');
    this.count = $('unmatched-count');
    this.timer = 0;
    this.seq = 0; // the latest refresh; older answers arriving late are dropped
    this.seen = null; // request ids already shown (null before the first render)
    $('unmatched-refresh').addEventListener('click', () => this.refresh());
  }

  /** refreshSoon refreshes within delay ms; calls meanwhile share that refresh. */
  refreshSoon(delay = 500) {
    if (this.timer) return;
    this.timer = setTimeout(() => this.refresh(), delay);
  }

  async refresh() {
    clearTimeout(this.timer);
    this.timer = 0;
    const seq = ++this.seq;
    try {
      const res = await api('GET', `/api/requests/unmatched${query({ limit: FETCHED })}`);
      if (seq !== this.seq) return;
      showError(this.error, null);
      const list = res.data?.requests;
      this.render(Array.isArray(list) ? list : []);
    } catch (err) {
      if (seq === this.seq) showError(this.error, err);
    }
  }

  /** render shows the server's list (oldest first) newest first. */
  render(items) {
    const seen = new Set();
    const nodes = [];
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i] && typeof items[i] === 'object' ? items[i] : {};
      const req = item.request && typeof item.request === 'object' ? item.request : item;
      const id = String(req.request_id ?? '');
      seen.add(id);
      const fresh = this.seen !== null && !this.seen.has(id);
      nodes.push(renderRequest(req, Array.isArray(item.near_misses) ? item.near_misses : [], fresh));
    }
    this.seen = seen;
    this.list.replaceChildren(...nodes);
    this.empty.hidden = nodes.length > 0;
    this.count.textContent = nodes.length ? `${nodes.length}${nodes.length >= FETCHED ? ' newest' : ''}` : '';
  }
}

/** renderRequest renders one unmatched request and its near misses. */
function renderRequest(req, near, fresh) {
  const replay = req.replay_input && typeof req.replay_input === 'object' ? req.replay_input : {};
  // The target as sent (query included, credentials redacted) when history kept it.
  const target = String(replay.raw_target || req.path || '');
  const shown = near.slice(0, NEAR_SHOWN);
  const head = el(
    'div',
    { cls: 'unmatched-head' },
    el('span', { cls: 'time', text: clock(req.ts) }),
    el('span', { cls: 'm', text: String(req.method ?? '') }),
    el('span', { cls: 'path', text: target }),
    statusSpan(req.status),
    el('span', { cls: 'muted', text: near.length ? `${near.length} near ${near.length === 1 ? 'miss' : 'misses'}` : 'no mock on this path' }),
  );
  return el(
    'li',
    { cls: fresh ? 'unmatched-item fresh' : 'unmatched-item', attrs: { 'data-id': String(req.request_id ?? '') }, title: req.request_id ? `request ${req.request_id}` : '' },
    head,
    ...shown.map(renderNearMiss),
  );
}

/** renderNearMiss renders one candidate mock and the table of its conditions. */
function renderNearMiss(nm) {
  const checks = Array.isArray(nm.checks) ? nm.checks : [];
  const missed = Number.isFinite(Number(nm.missed)) ? Number(nm.missed) : checks.filter((c) => !c.matched).length;
  const head = el(
    'p',
    { cls: 'near-head' },
    el('span', { cls: 'muted', text: 'mock' }),
    el('span', { cls: 'm', text: String(nm.method ?? '') }),
    nm.path_pattern || !nm.path_regex
      ? el('span', { cls: 'path', text: String(nm.path_pattern ?? '') })
      : el('span', { cls: 'path', title: 'path regex' }, el('span', { cls: 'muted', text: 'regex ' }), String(nm.path_regex)),
    el('span', { cls: 'muted mono', text: `id ${nm.id ?? ''}` }),
    nm.source ? el('span', { cls: 'muted mono', text: String(nm.source) }) : null,
    el('span', { cls: `badge ${missed ? 'fail' : 'pass'}`, text: `${missed} of ${checks.length} failed` }),
  );
  const rows = checks.map((c) => {
    const ok = c.matched === true;
    return el(
      'tr',
      { cls: ok ? 'held' : 'miss', attrs: { 'data-field': String(c.field ?? ''), 'data-matched': String(ok) } },
      el('td', { cls: 'field', text: String(c.field ?? '') }),
      el('td', { text: String(c.expected ?? '') }),
      el('td', { text: String(c.actual ?? '') }),
      el('td', { cls: ok ? 'mark pass-mark' : 'mark fail-mark', title: ok ? 'held' : 'failed', text: ok ? '✓' : '✗' }),
    );
  });
  return el(
    'div',
    { cls: 'near-miss', attrs: { 'data-mock': String(nm.id ?? '') } },
    head,
    el(
      'table',
      { cls: 'data checks' },
      el('thead', {}, el('tr', {}, el('th', { text: 'criterion' }), el('th', { text: 'expected' }), el('th', { text: 'actual' }), el('th', { cls: 'mark', text: 'matched' }))),
      el('tbody', {}, ...rows),
    ),
  );
}
