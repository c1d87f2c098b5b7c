// Mock manager: list, create, edit and delete mocks (/api/mocks). The server validates; its
// error (code and message) is shown next to the form, and the field it names is marked.

import { api } from '../api.js';
import { $, el, showError } from '../dom.js';
import { markField } from './forms.js';
import { ListPanel } from './list.js';

export class Mocks extends ListPanel {
  /** onTry(method, path): send a request to a mock from the Request Lab. */
  constructor({ onTry }) {
    super({ path: '/api/mocks', key: 'mocks', listError: $('mock-error'), form: 'mock-form', refreshButton: 'mocks-refresh', onSubmit: () => this.save() });
    this.onTry = onTry;
    this.fields = {
      method: $('mock-method'),
      path_pattern: $('mock-path'),
      status: $('mock-status'),
      content_type: $('mock-ctype'),
      headers: $('mock-headers'),
      body: $('mock-body'),
    };
    this.submitBtn = $('mock-submit');
    this.cancelBtn = $('mock-cancel');
    this.error = $('mock-error');
    this.rows = $('mock-rows');
    this.empty = $('mock-empty');
    this.editing = null; // the id of the mock being edited
    this.cancelBtn.addEventListener('click', () => this.endEdit());
  }

  render(mocks) {
    this.rows.replaceChildren(
      ...mocks.map((m) =>
        el(
          'tr',
          { attrs: { 'data-id': m.id } },
          el('td', { cls: 'm', text: m.method }),
          el('td', { cls: 'path', text: m.path_pattern }),
          el('td', { text: m.status }),
          el('td', { cls: 'muted', text: m.content_type }),
          el(
            'td',
            {},
            el(
              'div',
              { cls: 'rowbtns' },
              el('button', { cls: 'ghost small', text: 'Try', props: { type: 'button' }, title: 'Send this request from the Request Lab', on: { click: () => this.onTry(m.method, tryPath(m.path_pattern)) } }),
              el('button', { cls: 'ghost small', text: 'Edit', props: { type: 'button' }, on: { click: () => this.beginEdit(m) } }),
              el('button', { cls: 'danger small', text: 'Delete', props: { type: 'button' }, on: { click: () => this.remove(m) } }),
            ),
          ),
        ),
      ),
    );
    this.empty.hidden = mocks.length > 0;
  }

  beginEdit(m) {
    this.editing = m.id;
    const f = this.fields;
    f.method.value = m.method;
    f.path_pattern.value = m.path_pattern;
    f.status.value = String(m.status);
    f.content_type.value = m.content_type;
    f.headers.value = JSON.stringify(m.headers || {});
    f.body.value = m.body;
    this.submitBtn.textContent = 'Save changes';
    this.cancelBtn.hidden = false;
    showError(this.error, null);
    markField(this.fields, null);
    f.path_pattern.focus();
  }

  endEdit() {
    this.editing = null;
    this.submitBtn.textContent = 'Create mock';
    this.cancelBtn.hidden = true;
    showError(this.error, null);
    markField(this.fields, null);
  }

  async save() {
    showError(this.error, null);
    markField(this.fields, null);
    const f = this.fields;
    let headers = {};
    if (f.headers.value.trim()) {
      try {
        headers = JSON.parse(f.headers.value);
      } catch {
        markField(this.fields, 'headers');
        showError(this.error, { code: 'headers', message: 'headers must be a JSON object, like {"x-mock": "1"}' });
        return;
      }
    }
    const status = f.status.value.trim();
    const payload = {
      method: f.method.value,
      path_pattern: f.path_pattern.value.trim(),
      // a number when it reads as one; otherwise sent as typed, for the server to refuse
      status: /^\d+$/.test(status) ? Number(status) : status,
      content_type: f.content_type.value,
      headers,
      body: f.body.value,
    };
    this.submitBtn.disabled = true;
    try {
      if (this.editing) {
        await api('PUT', `/api/mocks/${encodeURIComponent(this.editing)}`, payload);
        this.endEdit();
      } else {
        await api('POST', '/api/mocks', payload);
      }
      await this.refresh();
    } catch (err) {
      markField(this.fields, err.message);
      showError(this.error, err);
    } finally {
      this.submitBtn.disabled = false;
    }
  }

  async remove(m) {
    showError(this.error, null);
    try {
      await api('DELETE', `/api/mocks/${encodeURIComponent(m.id)}`);
      if (this.editing === m.id) this.endEdit();
      await this.refresh();
    } catch (err) {
      showError(this.error, err);
    }
  }
}

/** tryPath turns a pattern into a path to try: {name} becomes 1, a final * becomes "x". */
function tryPath(pattern) {
  return String(pattern)
    .replace(/\{[^/}]*\}/g, '1')
    .replace(/\*$/, 'x');
}
