// History: the server's request history, filtered by method, path and status, newest first,
// with a Replay button per entry (POST /api/replay/{request_id}).

import { api, query } from '../api.js';
import { $, el, kvRows, showError, statusSpan } from '../dom.js';
import { clock, headerEntries, ms, pretty } from '../format.js';
import { isConsoleRead } from './live-lists.js';

const SHOWN = 100;
const FETCHED = 500;

export class History {
  constructor() {
    this.form = $('history-form');
    this.method = $('history-method');
    this.path = $('history-path');
    this.status = $('history-status');
    this.hideConsole = $('history-hide-console');
    this.error = $('history-error');
    this.rows = $('history-rows');
    this.empty = $('history-empty');
    this.timer = 0;
    const soon = () => {
      clearTimeout(this.timer);
      this.timer = 0;
      this.refreshSoon(250);
    };
    this.method.addEventListener('change', soon);
    this.path.addEventListener('input', soon);
    this.status.addEventListener('input', soon);
    this.hideConsole.addEventListener('change', () => this.render(this.last));
    this.last = [];
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.refresh();
    });
    $('history-refresh').addEventListener('click', () => this.refresh());
  }

  /** refreshSoon refreshes within delay ms; calls meanwhile share that refresh. */
  refreshSoon(delay = 1000) {
    if (this.timer) return;
    this.timer = setTimeout(() => this.refresh(), delay);
  }

  async refresh() {
    clearTimeout(this.timer);
    this.timer = 0;
    const q = query({ method: this.method.value, path: this.path.value.trim(), status: this.status.value.trim(), limit: FETCHED });
    try {
      const res = await api('GET', `/api/history${q}`);
      showError(this.error, null);
      this.render(res.data?.history || []);
    } catch (err) {
      showError(this.error, err);
    }
  }

  render(entries) {
    this.last = entries;
    const hide = this.hideConsole.checked;
    const newest = entries
      .filter((h) => !hide || !isConsoleRead(h.method, h.path))
      .slice(-SHOWN)
      .reverse();
    this.rows.replaceChildren(
      ...newest.map((h) =>
        el(
          'tr',
          { attrs: { 'data-id': h.request_id }, title: `request ${h.request_id}` },
          el('td', { cls: 'time', text: clock(h.ts) }),
          el('td', { cls: 'm', text: h.method }),
          el('td', { cls: 'path', text: h.path }),
          el('td', {}, statusSpan(h.status)),
          el('td', { cls: 'num', text: ms(h.latency_ms) }),
          el(
            'td',
            {},
            el('div', { cls: 'rowbtns' }, el('button', { cls: 'ghost small', text: 'Replay', props: { type: 'button' }, on: { click: (e) => this.replay(h, e.currentTarget) } })),
          ),
        ),
      ),
    );
    this.empty.hidden = newest.length > 0;
  }

  async replay(h, button) {
    button.disabled = true;
    showError(this.error, null);
    try {
      const res = await api('POST', `/api/replay/${encodeURIComponent(h.request_id)}`);
      const d = res.data || {};
      const r = d.result || {};
      $('replay-title').textContent = `Replay of ${h.method} ${h.path} →`;
      $('replay-status').replaceChildren(statusSpan(r.status));
      kvRows($('replay-headers'), headerEntries(r.headers));
      $('replay-body').textContent = pretty(r.body_preview ?? '');
      $('replay-result').hidden = false;
    } catch (err) {
      showError(this.error, err);
    } finally {
      button.disabled = false;
    }
  }
}
