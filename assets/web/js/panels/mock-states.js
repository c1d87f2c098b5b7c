// State machines (issue #15): the machines stateful mocks name (GET /api/mock-states), each
// with its current state and how many mocks use it; a state can be set (PUT
// /api/mock-states/{name} {"state"}) or the machine reset to "started" (DELETE). The section
// refreshes on the mock_state.changed event and when the mocks change (tower.js). Rows are
// kept by name across refreshes, so a state being typed is not lost. Every value is text.

import { api } from '../api.js';
import { $, el, setText, showError } from '../dom.js';

/** STARTED is the state every machine starts in, and a reset goes back to. */
const STARTED = 'started';

export class MockStates {
  /** onChange(): a machine was set or reset from here (the mocks list shows states too). */
  constructor({ onChange }) {
    this.onChange = onChange;
    this.rows = $('states-rows');
    this.empty = $('states-empty');
    this.error = $('states-error');
    this.count = $('states-count');
    this.byName = new Map(); // name -> the row's parts
    this.timer = 0;
    this.seq = 0; // the latest refresh; older answers arriving late are dropped
    this.refreshFailed = false; // the error shown is a refresh's (a good refresh clears it)
    $('states-refresh').addEventListener('click', () => this.refresh());
  }

  /** refreshSoon refreshes within delay ms; calls meanwhile share that refresh. */
  refreshSoon(delay = 300) {
    if (this.timer) return;
    this.timer = setTimeout(() => this.refresh(), delay);
  }

  async refresh() {
    clearTimeout(this.timer);
    this.timer = 0;
    const seq = ++this.seq;
    try {
      const res = await api('GET', '/api/mock-states');
      if (seq !== this.seq) return;
      if (this.refreshFailed) showError(this.error, null);
      this.refreshFailed = false;
      const list = res.data?.mock_states;
      this.render(Array.isArray(list) ? list : []);
    } catch (err) {
      if (seq !== this.seq) return;
      this.refreshFailed = true;
      showError(this.error, err);
    }
  }

  /** render shows the machines in the server's order (by name). */
  render(machines) {
    const names = [];
    for (const ms of machines) {
      if (!ms || typeof ms !== 'object') continue;
      const name = String(ms.name ?? '');
      names.push(name);
      const row = this.byName.get(name) || this.makeRow(name);
      this.byName.set(name, row);
      this.fill(row, ms);
    }
    const keep = new Set(names);
    for (const name of [...this.byName.keys()]) if (!keep.has(name)) this.byName.delete(name);
    const order = names.map((n) => this.byName.get(n).tr);
    const current = [...this.rows.children];
    // Re-order only when the rows changed: moving a row would take the focus from its input.
    if (current.length !== order.length || current.some((tr, i) => tr !== order[i])) this.rows.replaceChildren(...order);
    this.empty.hidden = names.length > 0;
    this.count.textContent = names.length ? `${names.length} ${names.length === 1 ? 'machine' : 'machines'}` : '';
  }

  /** makeRow builds one machine's row: name, state, mock count, and the set/reset controls. */
  makeRow(name) {
    const row = {};
    row.state = el('span', { cls: 'state-now' });
    row.mocks = el('td', { cls: 'num' });
    row.input = el('input', {
      cls: 'state-input',
      attrs: { 'aria-label': `new state for ${name}`, autocomplete: 'off', spellcheck: 'false', maxlength: '64' },
      props: { placeholder: 'state' },
    });
    row.setBtn = el('button', { cls: 'small', text: 'Set', props: { type: 'submit' }, title: `Set state machine ${name} to the state typed (PUT /api/mock-states/${name})` });
    row.resetBtn = el('button', {
      cls: 'ghost small',
      text: 'Reset',
      props: { type: 'button' },
      title: `Set state machine ${name} back to ${STARTED} (DELETE /api/mock-states/${name})`,
      on: { click: () => this.change(row, name, 'DELETE') },
    });
    const form = el('form', { cls: 'state-set', props: { noValidate: true } }, row.input, row.setBtn, row.resetBtn);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.change(row, name, 'PUT', row.input.value.trim());
    });
    row.tr = el(
      'tr',
      { attrs: { 'data-name': name } },
      el('td', { cls: 'state-name', text: name }),
      el('td', {}, row.state),
      row.mocks,
      el('td', {}, form),
    );
    return row;
  }

  /** fill shows a machine's state and its mocks (their ids in the title). */
  fill(row, ms) {
    const state = String(ms.state ?? '');
    setText(row.state, state);
    row.state.className = state === STARTED ? 'state-now started' : 'state-now';
    const mocks = Array.isArray(ms.mocks) ? ms.mocks.map(String) : [];
    setText(row.mocks, String(mocks.length));
    row.mocks.title = mocks.length ? `mocks: ${mocks.join(', ')}` : '';
  }

  /** change sets (PUT, with state) or resets (DELETE) one machine. */
  async change(row, name, method, state) {
    showError(this.error, null);
    this.refreshFailed = false;
    row.input.removeAttribute('aria-invalid');
    if (method === 'PUT' && !state) {
      row.input.setAttribute('aria-invalid', 'true');
      showError(this.error, { code: 'state', message: `type the state to set ${name} to` });
      row.input.focus();
      return;
    }
    row.setBtn.disabled = true;
    row.resetBtn.disabled = true;
    try {
      const res = await api(method, `/api/mock-states/${encodeURIComponent(name)}`, method === 'PUT' ? { state } : undefined);
      const ms = res.data?.mock_state;
      if (ms && typeof ms === 'object') this.fill(row, ms);
      if (method === 'PUT') row.input.value = '';
      this.onChange();
    } catch (err) {
      if (method === 'PUT' && err.status === 400) row.input.setAttribute('aria-invalid', 'true');
      showError(this.error, err);
      if (err.status === 404) this.refreshSoon(0); // no mock uses it any more
    } finally {
      row.setBtn.disabled = false;
      row.resetBtn.disabled = false;
    }
  }
}
