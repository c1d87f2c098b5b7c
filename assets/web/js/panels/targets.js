// Targets: list, add and delete the upstreams the proxy and scenario steps may call
// (/api/targets). The Request Lab's target menu follows this list.

import { api } from '../api.js';
import { $, el, showError } from '../dom.js';
import { markField } from './forms.js';

export class Targets {
  /** onChange(targets): the list changed. */
  constructor({ onChange }) {
    this.onChange = onChange;
    this.form = $('target-form');
    this.fields = { name: $('target-name'), base_url: $('target-url'), timeout_ms: $('target-timeout') };
    this.error = $('target-error');
    this.rows = $('target-rows');
    this.empty = $('target-empty');
    this.refreshTimer = 0;
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.create();
    });
    $('targets-refresh').addEventListener('click', () => this.refresh());
  }

  async refresh() {
    try {
      const res = await api('GET', '/api/targets');
      this.render(res.data?.targets || []);
    } catch (err) {
      showError(this.error, err);
    }
  }

  /** refreshSoon refreshes within 300 ms; calls meanwhile share that refresh. */
  refreshSoon() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = 0;
      this.refresh();
    }, 300);
  }

  render(targets) {
    this.rows.replaceChildren(
      ...targets.map((t) =>
        el(
          'tr',
          { attrs: { 'data-id': t.id }, title: `id ${t.id}${t.enabled === false ? ' (disabled)' : ''}` },
          el('td', { text: t.name }),
          el('td', { cls: 'path', text: t.base_url }),
          el('td', { cls: 'num', text: `${t.timeout_ms} ms` }),
          el(
            'td',
            {},
            el('div', { cls: 'rowbtns' }, el('button', { cls: 'danger small', text: 'Delete', props: { type: 'button' }, on: { click: () => this.remove(t) } })),
          ),
        ),
      ),
    );
    this.empty.hidden = targets.length > 0;
    this.onChange(targets);
  }

  async create() {
    showError(this.error, null);
    markField(this.fields, null);
    const f = this.fields;
    const timeout = f.timeout_ms.value.trim();
    const payload = {
      name: f.name.value,
      base_url: f.base_url.value.trim(),
      timeout_ms: /^\d+$/.test(timeout) ? Number(timeout) : timeout,
      enabled: true,
    };
    try {
      await api('POST', '/api/targets', payload);
      f.name.value = '';
      f.base_url.value = '';
      await this.refresh();
    } catch (err) {
      markField(this.fields, err.message);
      showError(this.error, err);
    }
  }

  async remove(t) {
    showError(this.error, null);
    try {
      await api('DELETE', `/api/targets/${encodeURIComponent(t.id)}`);
      await this.refresh();
    } catch (err) {
      showError(this.error, err);
    }
  }
}
