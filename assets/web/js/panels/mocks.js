// Mock manager: list, create, edit and delete mocks (/api/mocks). The server validates; its
// error (code and message) is shown next to the form, and the field it names is marked.
//
// A mock names its paths with a path_pattern or a path_regex: the form has one path input and
// a choice of which it is, and sends exactly one of the two. An edit is a PATCH of the fields
// the user changed, and only of fields the form shows: what it does not show (match
// criteria, state, template, seed, a sequence's responses, fields added later) is kept, and
// an unchanged body keeps its kind (a JSON value stays JSON, a body_base64 stays binary).
// A sequence's responses are not edited here: for a sequence the form edits method, path
// and priority only.
//
// The list shows, besides method, path and status, what issue #15 added (mock-view.js): a
// sequence's position and after_last, a stateful mock's machine, "template", and the body
// (formatted JSON, text, or "binary, N bytes"), and a mock's wire plan with a preview of
// which hits fault (mock-wire.js, issue #16).

import { api } from '../api.js';
import { $, el, showError } from '../dom.js';
import { samplePath } from '../paths.js';
import { markField } from './forms.js';
import { ListPanel } from './list.js';
import { hasWire, WirePreviews } from './mock-wire.js';
import { binaryText, bodyNode, bodyOf, DEFAULT_AFTER_LAST, foldable, hasState, isSequence, sequenceNodes, stateNode, statusText, templateNodes, typeText } from './mock-view.js';

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
    this.seqNote = $('mock-seq-note');
    this.bodyNote = $('mock-body-note');
    // The inputs of a plain mock's answer: a sequence's edit leaves them out (disabled).
    this.answerInputs = [this.fields.status, this.fields.content_type, this.fields.headers, this.fields.body];
    this.submitBtn = $('mock-submit');
    this.cancelBtn = $('mock-cancel');
    this.error = $('mock-error');
    this.rows = $('mock-rows');
    this.empty = $('mock-empty');
    this.editing = null; // the mock being edited, as listed
    this.initial = null; // the form's values when the edit began: an edit sends what changed
    this.stashed = null; // the answer inputs' values before a sequence's edit emptied them
    this.open = new Set(); // "id:part" of the unfolded criteria, bodies and responses, kept across refreshes
    this.liveRoutes = new Map(); // route key -> {sequence, state} of the mocks a request moves
    this.wire = new WirePreviews(); // each wire plan's fault preview, kept across refreshes
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
    const ids = new Set(mocks.map((m) => String(m.id)));
    for (const key of this.open) if (!ids.has(key.slice(0, key.lastIndexOf(':')))) this.open.delete(key);
    this.wire.forget(ids);
    this.liveRoutes = new Map();
    for (const m of mocks) {
      if (!isSequence(m) && !hasState(m)) continue;
      const path = m.path_regex ? `~${m.path_regex}` : String(m.path_pattern ?? '');
      this.liveRoutes.set(`${m.method} ${path}`, { sequence: isSequence(m), state: hasState(m) });
    }
    this.rows.replaceChildren(
      ...mocks.map((m) =>
        el(
          'tr',
          { attrs: { 'data-id': m.id, 'data-kind': isSequence(m) ? 'sequence' : null } },
          el('td', { cls: 'm', text: m.method }),
          el('td', { cls: 'path' }, this.pathCell(m)),
          el('td', { cls: 'mock-status', text: statusText(m) }),
          el('td', { cls: 'muted', text: typeText(m) }),
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

  /**
   * moves reports what a completed request moved, from its route key ("GET /cart", or
   * "GET ~regex" for a path_regex mock): {sequence, state} when a sequence or stateful mock
   * answered it, null otherwise. The list refreshes on it, to show the new position or state.
   */
  moves(routeKey) {
    const key = String(routeKey ?? '');
    const hit = this.liveRoutes.get(key);
    if (hit) return hit;
    const cut = key.indexOf(' (');
    return cut > 0 ? this.liveRoutes.get(key.slice(0, cut)) || null : null;
  }

  /** formValues is the form's inputs as text, to tell what an edit changed. */
  formValues() {
    const f = this.fields;
    return {
      method: f.method.value,
      kind: this.pathKind.value,
      path: this.path.value,
      status: f.status.value,
      content_type: f.content_type.value,
      headers: f.headers.value,
      body: f.body.value,
      priority: f.priority.value,
    };
  }

  beginEdit(m) {
    if (this.editing) this.endEdit();
    this.editing = m;
    const f = this.fields;
    f.method.value = m.method;
    const regex = Boolean(m.path_regex);
    this.pathKind.value = regex ? 'regex' : 'pattern';
    this.showPathKind();
    this.path.value = regex ? m.path_regex : m.path_pattern ?? '';
    const seq = isSequence(m);
    if (seq) {
      // A sequence has no answer of its own: the form leaves its responses alone.
      this.stashed = this.answerInputs.map((input) => input.value);
      for (const input of this.answerInputs) {
        input.value = '';
        input.disabled = true;
      }
      this.seqNote.textContent = `This mock is a sequence of ${m.responses.length} responses (after last: ${m.after_last || DEFAULT_AFTER_LAST}); responses are edited through the API or mock files. The form changes its method, path and priority only.`;
    } else {
      f.status.value = String(m.status ?? '');
      f.content_type.value = String(m.content_type ?? '');
      f.headers.value = JSON.stringify(m.headers || {});
      const body = bodyOf(m);
      f.body.value = body.kind === 'text' || body.kind === 'json' ? body.text : '';
      if (body.kind === 'binary') {
        f.body.placeholder = `${binaryText(body.bytes)}: kept unless you type a new body`;
        this.bodyNote.textContent = `This mock's body is binary (body_base64, ${body.bytes} bytes): it is kept unless you type a new body here, which replaces it with text.`;
      } else if (body.kind === 'json') {
        this.bodyNote.textContent = 'This body is JSON: an edit that is still JSON stays a JSON value; anything else is sent as text.';
      }
      this.bodyNote.hidden = body.kind !== 'binary' && body.kind !== 'json';
    }
    this.seqNote.hidden = !seq;
    f.priority.value = hasPriority(m) ? String(m.priority) : '';
    const kept = keptFields(m);
    this.keepNote.textContent = `This mock's ${kept.join(', ')} ${kept.length === 1 ? 'is' : 'are'} kept as ${kept.length === 1 ? 'it is' : 'they are'}: change them through the API (PATCH /api/mocks/{id}).`;
    this.keepNote.hidden = kept.length === 0;
    this.initial = this.formValues();
    this.submitBtn.textContent = 'Save changes';
    this.cancelBtn.hidden = false;
    showError(this.error, null);
    markField(this.fields, null);
    this.path.focus();
  }

  endEdit() {
    if (this.stashed) {
      this.answerInputs.forEach((input, i) => {
        input.value = this.stashed[i];
      });
      this.stashed = null;
    }
    for (const input of this.answerInputs) input.disabled = false;
    this.fields.body.placeholder = '';
    this.editing = null;
    this.initial = null;
    this.submitBtn.textContent = 'Create mock';
    this.cancelBtn.hidden = true;
    this.keepNote.hidden = true;
    this.seqNote.hidden = true;
    this.bodyNote.hidden = true;
    showError(this.error, null);
    markField(this.fields, null);
  }

  async save() {
    showError(this.error, null);
    markField(this.fields, null);
    const payload = this.editing ? this.changes() : this.creation();
    if (!payload) return; // a field the page checks was refused, and marked
    this.submitBtn.disabled = true;
    try {
      if (this.editing) {
        // PATCH, not PUT, and only what changed: what the form does not show, or the user
        // did not touch, stays as it is.
        if (Object.keys(payload).length > 0) {
          await api('PATCH', `/api/mocks/${encodeURIComponent(this.editing.id)}`, payload);
        }
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

  /** creation is a POST's payload: every field the form shows. */
  creation() {
    const f = this.fields;
    const headers = this.headersValue();
    if (headers === undefined) return null;
    const kind = PATH_KINDS[this.pathKind.value] || PATH_KINDS.pattern;
    const payload = {
      method: f.method.value,
      [kind.field]: this.path.value.trim(), // exactly one of path_pattern and path_regex
      status: numberOrText(f.status.value),
      content_type: f.content_type.value,
      headers,
      body: f.body.value,
    };
    const priority = f.priority.value.trim();
    if (priority !== '') payload.priority = numberOrText(priority);
    return payload;
  }

  /**
   * changes is an edit's PATCH payload: the fields whose input differs from what the edit
   * began with. A sequence's answer inputs are never sent (they are disabled and empty).
   */
  changes() {
    const m = this.editing;
    const now = this.formValues();
    const was = this.initial;
    const changed = (k) => now[k] !== was[k];
    const payload = {};
    if (changed('method')) payload.method = now.method;
    if (changed('kind') || changed('path')) {
      // exactly one of path_pattern and path_regex; it replaces the other
      const kind = PATH_KINDS[now.kind] || PATH_KINDS.pattern;
      payload[kind.field] = now.path.trim();
    }
    if (!isSequence(m)) {
      if (changed('status')) payload.status = numberOrText(now.status);
      if (changed('content_type')) payload.content_type = now.content_type;
      if (changed('headers')) {
        const headers = this.headersValue();
        if (headers === undefined) return null;
        payload.headers = headers;
      }
      if (changed('body')) payload.body = editedBody(bodyOf(m), now.body);
    }
    if (changed('priority')) {
      const priority = now.priority.trim();
      // Emptied: back to the default (a PATCH keeps what it does not send).
      payload.priority = priority === '' ? DEFAULT_PRIORITY : numberOrText(priority);
    }
    return payload;
  }

  /** headersValue is the headers input as an object; undefined (and the field marked) when
   * it is not JSON. */
  headersValue() {
    const text = this.fields.headers.value;
    if (!text.trim()) return {};
    try {
      return JSON.parse(text);
    } catch {
      markField(this.fields, 'headers');
      showError(this.error, { code: 'headers', message: 'headers must be a JSON object, like {"x-mock": "1"}' });
      return undefined;
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
   * priority when not the default, the badges of a sequence, a state machine or a template,
   * a "criteria" marker that unfolds its match object, and its body. */
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
    if (hasState(m)) parts.push(stateNode(m));
    parts.push(...templateNodes(m));
    if (isSequence(m)) parts.push(...sequenceNodes(m, this.open));
    if (hasMatch(m)) {
      parts.push(
        foldable(
          { cls: 'criteria', open: this.open, key: `${m.id}:criteria` },
          el('summary', { cls: 'badge neutral', text: 'criteria', title: JSON.stringify(m.match) }),
          el('pre', { cls: 'body', text: JSON.stringify(m.match, null, 2) }),
        ),
      );
    }
    parts.push(...this.wire.nodes(m, this.open));
    if (!isSequence(m)) parts.push(bodyNode(bodyOf(m), `${m.id}:body`, this.open));
    return el('div', { cls: 'mock-path' }, ...parts);
  }
}

/** keptFields names what an edit through the form keeps because the form does not show it. */
function keptFields(m) {
  const kept = [];
  if (hasMatch(m)) kept.push('match criteria');
  if (hasState(m)) kept.push(`state (machine ${m.state.name})`);
  if (m.template === true) kept.push('template flag');
  if (m.seed !== undefined && m.seed !== null) kept.push('seed');
  if (hasWire(m)) kept.push('latency and faults');
  return kept;
}

/**
 * editedBody is what an edit sends for a body the user changed: a body that was a JSON
 * value stays one when the new text is still JSON; anything else is text (as a new mock's
 * body is).
 */
function editedBody(was, text) {
  if (was.kind === 'json') {
    try {
      return JSON.parse(text);
    } catch {
      // no longer JSON: the user made it text
    }
  }
  return text;
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
