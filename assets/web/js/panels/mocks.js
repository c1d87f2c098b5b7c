// Mock manager: list, create, edit and delete mocks (/api/mocks). The server validates; its
// error (code and message) is shown next to the form, and the field it names is marked.
//
// A mock names its paths with a path_pattern or a path_regex: the form has one path input and
// a choice of which it is, and sends exactly one of the two. An edit is a PATCH of the fields
// the form shows, so what it does not show (match criteria, fields added later) is kept.

import { api } from '../api.js';
import { $, el, showError } from '../dom.js';
import { samplePath } from '../paths.js';
import { markField } from './forms.js';
import { ListPanel } from './list.js';

/** DEFAULT_PRIORITY is the server's priority for a mock that gives none. */
const DEFAULT_PRIORITY = 5;

const PATH_KINDS = {
  pattern: {
    field: 'path_pattern',
    label: 'Path pattern',
    placeholder: '/users/{id}',
    hint: '{id} or {id:[0-9]+} for a segment, * for any segment or within one (/img/*.png), a final /* for everything below',
  },
  regex: {
    field: 'path_regex',
    label: 'Path regex',
    placeholder: '/v[0-9]+/.*',
    hint: 'an RE2 regex the whole path (without the query) must match',
  },
};

export class Mocks extends ListPanel {
  /** onTry(method, path): send a request to a mock from the Request Lab. */
  constructor({ onTry }) {
    super({ path: '/api/mocks', key: 'mocks', listError: $('mock-error'), form: 'mock-form', refreshButton: 'mocks-refresh', onSubmit: () => this.save() });
    this.onTry = onTry;
    const path = $('mock-path');
    // By API field name, for markField: the path input stands for both path fields.
    this.fields = {
      method: $('mock-method'),
      path_pattern: path,
      path_regex: path,
      status: $('mock-status'),
      content_type: $('mock-ctype'),
      headers: $('mock-headers'),
      body: $('mock-body'),
      priority: $('mock-priority'),
    };
    this.path = path;
    this.pathKind = $('mock-path-kind');
    this.pathLabel = $('mock-path-label');
    this.pathHint = $('mock-path-hint');
    this.keepNote = $('mock-keep-note');
    this.submitBtn = $('mock-submit');
    this.cancelBtn = $('mock-cancel');
    this.error = $('mock-error');
    this.rows = $('mock-rows');
    this.empty = $('mock-empty');
    this.editing = null; // the mock being edited, as listed
    this.openCriteria = new Set(); // ids of the mocks whose criteria are unfolded, kept across refreshes
    this.cancelBtn.addEventListener('click', () => this.endEdit());
    this.pathKind.addEventListener('change', () => this.showPathKind());
    this.showPathKind();
  }

  /** showPathKind labels the path input for the chosen kind (pattern or regex). */
  showPathKind() {
    const kind = PATH_KINDS[this.pathKind.value] || PATH_KINDS.pattern;
    this.pathLabel.textContent = kind.label;
    this.path.name = kind.field;
    this.path.placeholder = kind.placeholder;
    this.pathHint.textContent = kind.hint;
  }

  render(mocks) {
    const ids = new Set(mocks.map((m) => m.id));
    for (const id of this.openCriteria) if (!ids.has(id)) this.openCriteria.delete(id);
    this.rows.replaceChildren(
      ...mocks.map((m) =>
        el(
          'tr',
          { attrs: { 'data-id': m.id } },
          el('td', { cls: 'm', text: m.method }),
          el('td', { cls: 'path' }, this.pathCell(m)),
          el('td', { text: m.status }),
          el('td', { cls: 'muted', text: m.content_type }),
          el(
            'td',
            {},
            el(
              'div',
              { cls: 'rowbtns' },
              el('button', { cls: 'ghost small', text: 'Try', props: { type: 'button' }, title: 'Send a request to a path this mock matches from the Request Lab', on: { click: () => this.onTry(m.method === 'ANY' ? 'GET' : m.method, samplePath(m)) } }),
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
    this.editing = m;
    const f = this.fields;
    f.method.value = m.method;
    const regex = Boolean(m.path_regex);
    this.pathKind.value = regex ? 'regex' : 'pattern';
    this.showPathKind();
    this.path.value = regex ? m.path_regex : m.path_pattern ?? '';
    f.status.value = String(m.status);
    f.content_type.value = m.content_type;
    f.headers.value = JSON.stringify(m.headers || {});
    f.body.value = m.body;
    f.priority.value = hasPriority(m) ? String(m.priority) : '';
    this.keepNote.hidden = !hasMatch(m);
    this.submitBtn.textContent = 'Save changes';
    this.cancelBtn.hidden = false;
    showError(this.error, null);
    markField(this.fields, null);
    this.path.focus();
  }

  endEdit() {
    this.editing = null;
    this.submitBtn.textContent = 'Create mock';
    this.cancelBtn.hidden = true;
    this.keepNote.hidden = true;
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
    const kind = PATH_KINDS[this.pathKind.value] || PATH_KINDS.pattern;
    const payload = {
      method: f.method.value,
      // exactly one of path_pattern and path_regex; on an edit it replaces the other
      [kind.field]: this.path.value.trim(),
      status: numberOrText(f.status.value),
      content_type: f.content_type.value,
      headers,
      body: f.body.value,
    };
    const priority = f.priority.value.trim();
    if (priority !== '') {
      payload.priority = numberOrText(priority);
    } else if (this.editing && hasPriority(this.editing)) {
      // Emptied on an edit: back to the default (a PATCH keeps what it does not send).
      payload.priority = DEFAULT_PRIORITY;
    }
    this.submitBtn.disabled = true;
    try {
      if (this.editing) {
        // PATCH, not PUT: fields the form does not show (match) stay as they are.
        await api('PATCH', `/api/mocks/${encodeURIComponent(this.editing.id)}`, payload);
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
      if (this.editing?.id === m.id) this.endEdit();
      await this.refresh();
    } catch (err) {
      showError(this.error, err);
    }
  }

  /** pathCell renders a mock's path (its regex, labelled, for a path_regex mock), its
   * priority when not the default and a "criteria" marker that unfolds its match object. */
  pathCell(m) {
    const parts = [];
    if (m.path_regex) {
      parts.push(el('span', { cls: 'path-text', title: 'path regex: the whole path must match' }, el('span', { cls: 'muted', text: 'regex ' }), String(m.path_regex)));
    } else {
      parts.push(el('span', { cls: 'path-text', text: String(m.path_pattern ?? '') }));
    }
    if (hasPriority(m)) {
      parts.push(el('span', { cls: 'badge neutral prio', text: `priority ${m.priority}`, title: `priority ${m.priority}: 1 is tried first, ${DEFAULT_PRIORITY} is the default` }));
    }
    if (hasMatch(m)) {
      const details = el(
        'details',
        { cls: 'criteria', props: { open: this.openCriteria.has(m.id) } },
        el('summary', { cls: 'badge neutral', text: 'criteria', title: JSON.stringify(m.match) }),
        el('pre', { cls: 'body', text: JSON.stringify(m.match, null, 2) }),
      );
      details.addEventListener('toggle', () => {
        if (details.open) this.openCriteria.add(m.id);
        else this.openCriteria.delete(m.id);
      });
      parts.push(details);
    }
    return el('div', { cls: 'mock-path' }, ...parts);
  }
}

/** hasPriority reports a mock whose priority is set to other than the default. */
function hasPriority(m) {
  return m.priority !== undefined && m.priority !== null && Number(m.priority) !== DEFAULT_PRIORITY;
}

/** hasMatch reports a mock with request criteria beyond method and path. */
function hasMatch(m) {
  return m.match !== undefined && m.match !== null && !(typeof m.match === 'object' && Object.keys(m.match).length === 0);
}

/** numberOrText is a number when the text reads as one; otherwise the text as typed, for the
 * server to refuse with a message naming the field. */
function numberOrText(text) {
  const t = String(text).trim();
  return /^\d+$/.test(t) ? Number(t) : t;
}
