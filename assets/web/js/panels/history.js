// History: the server's request history, filtered by method, path and status, newest first,
// with Open (the entry in full, history-entry.js) and Replay (POST /api/replay/{request_id})
// per entry, and "Download HAR": the entries the filters select as HAR 1.2
// (GET /api/history?format=har), saved as a file.

import { api, query } from '../api.js';
import { $, el, showError, statusSpan } from '../dom.js';
import { clock, ms } from '../format.js';
import { HistoryEntry } from './history-entry.js';
import { isConsoleRead } from './live-lists.js';

const SHOWN = 100;
const FETCHED = 500;

export class History {
  /** onMockCreated(id): an entry was saved as a mock. */
  constructor({ onMockCreated = () => {} } = {}) {
    this.entry = new HistoryEntry({ onMockCreated });
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
    $('history-har').addEventListener('click', (e) => this.downloadHAR(e.currentTarget));
  }

  /** filters is the query the filter inputs make. */
  filters() {
    return { method: this.method.value, path: this.path.value.trim(), status: this.status.value.trim() };
  }

  /** downloadHAR saves the entries the filters select as a .har file. */
  async downloadHAR(button) {
    button.disabled = true;
    showError(this.error, null);
    try {
      const res = await api('GET', `/api/history${query({ ...this.filters(), format: 'har' })}`);
      const url = URL.createObjectURL(new Blob([res.text], { type: 'application/json' }));
      const a = el('a', { attrs: { href: url, download: 'ownhttp-history.har' } });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      showError(this.error, err);
    } finally {
      button.disabled = false;
    }
  }

  /** refreshSoon refreshes within delay ms; calls meanwhile share that refresh. */
  refreshSoon(delay = 1000) {
    if (this.timer) return;
    this.timer = setTimeout(() => this.refresh(), delay);
  }

  async refresh() {
    clearTimeout(this.timer);
    this.timer = 0;
    const q = query({ ...this.filters(), limit: FETCHED });
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
            el(
              'div',
              { cls: 'rowbtns' },
              el('button', { cls: 'ghost small', text: 'Open', props: { type: 'button' }, title: 'the request and response in full, copy as curl, save as mock', on: { click: () => this.entry.open(h.request_id) } }),
              el('button', { cls: 'ghost small', text: 'Replay', props: { type: 'button' }, on: { click: (e) => this.entry.replay(h, e.currentTarget, this.error) } }),
            ),
          ),
        ),
      ),
    );
    this.empty.hidden = newest.length > 0;
  }
}
