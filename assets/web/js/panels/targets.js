// Targets: list, add and delete the upstreams the proxy and scenario steps may call
// (/api/targets). The Request Lab's target menu follows this list.

import { api } from '../api.js';
import { $, el, showError } from '../dom.js';
import { markField } from './forms.js';
import { ListPanel } from './list.js';

export class Targets extends ListPanel {
  /** onChange(targets): the list changed. */
  constructor({ onChange }) {
    super({ path: '/api/targets', key: 'targets', listError: $('target-error'), form: 'target-form', refreshButton: 'targets-refresh', onSubmit: () => this.create() });
    this.onChange = onChange;
    this.fields = { name: $('target-name'), base_url: $('target-url'), timeout_ms: $('target-timeout') };
    this.error = $('target-error');
    this.rows = $('target-rows');
    this.empty = $('target-empty');
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
