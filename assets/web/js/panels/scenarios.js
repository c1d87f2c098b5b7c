// Scenarios: list, create from pasted JSON, delete, and run with a seed
// (POST /api/scenarios/{id}/run); the run's report is shown step by step with every
// assertion and whether chaos was applied.

import { api } from '../api.js';
import { $, el, showError, statusSpan } from '../dom.js';
import { compact, ms } from '../format.js';
import { ListPanel } from './list.js';

/** EXAMPLE runs against this server itself; its last step fails on purpose. */
export const EXAMPLE = {
  name: 'smoke test',
  description: 'The home page and health check answer; a missing page does not.',
  defaults: { stop_on_fail: false },
  steps: [
    { id: 'home', method: 'GET', path: '/', expect: { status: 200, body_contains: ['Hello World'], max_latency_ms: 500 } },
    {
      id: 'health',
      method: 'GET',
      path: '/healthz',
      chaos: { enabled: true, mode: 'status_flip', probability: 0.5, seed_offset: 1 },
      expect: { status: [200, 503] },
    },
    { id: 'missing', method: 'GET', path: '/no-such-page', expect: { status: 200 } },
  ],
};

export class Scenarios extends ListPanel {
  /** onChange(scenarios): the list changed. */
  constructor({ onChange = () => {} } = {}) {
    // A failed refresh is shown with the run errors, not under the form.
    super({ path: '/api/scenarios', key: 'scenarios', listError: $('run-error'), form: 'scenario-form', refreshButton: 'scenarios-refresh', onSubmit: () => this.create() });
    this.onChange = onChange;
    this.json = $('scenario-json');
    this.error = $('scenario-error');
    this.runError = $('run-error');
    this.rows = $('scenario-rows');
    this.empty = $('scenario-empty');
    this.report = $('report');
    this.seeds = new Map(); // seed typed per scenario id, kept across list refreshes
    this.json.value = JSON.stringify(EXAMPLE, null, 2);
    $('scenario-example').addEventListener('click', () => {
      this.json.value = JSON.stringify(EXAMPLE, null, 2);
      showError(this.error, null);
    });
  }

  render(list) {
    this.rows.replaceChildren(
      ...list.map((s) => {
        const seed = el('input', {
          cls: 'seed',
          attrs: { inputmode: 'numeric', 'aria-label': `seed for ${s.name}`, placeholder: 'seed' },
          props: { value: this.seeds.get(s.id) ?? '' },
          on: { input: (e) => this.seeds.set(s.id, e.currentTarget.value) },
        });
        return el(
          'tr',
          { attrs: { 'data-id': s.id } },
          el('td', { text: s.name, title: s.description || '' }),
          el('td', { cls: 'muted', text: s.id }),
          el('td', { cls: 'num', text: Array.isArray(s.steps) ? s.steps.length : '' }),
          el('td', {}, seed),
          el(
            'td',
            {},
            el(
              'div',
              { cls: 'rowbtns' },
              el('button', { cls: 'small', text: 'Run', props: { type: 'button' }, on: { click: (e) => this.run(s, seed.value, e.currentTarget) } }),
              el('button', { cls: 'danger small', text: 'Delete', props: { type: 'button' }, on: { click: () => this.remove(s) } }),
            ),
          ),
        );
      }),
    );
    this.empty.hidden = list.length > 0;
    this.onChange(list);
  }

  async create() {
    showError(this.error, null);
    try {
      // Sent as pasted: the server parses and validates it, and says what is wrong.
      await api('POST', '/api/scenarios', this.json.value);
      await this.refresh();
    } catch (err) {
      showError(this.error, err);
    }
  }

  async remove(s) {
    showError(this.runError, null);
    try {
      await api('DELETE', `/api/scenarios/${encodeURIComponent(s.id)}`);
      await this.refresh();
    } catch (err) {
      showError(this.runError, err);
    }
  }

  async run(s, seedText, button) {
    showError(this.runError, null);
    const seed = seedText.trim();
    const body = {};
    if (seed !== '') body.seed = /^-?\d+$/.test(seed) ? Number(seed) : seed;
    button.disabled = true;
    try {
      const res = await api('POST', `/api/scenarios/${encodeURIComponent(s.id)}/run`, body);
      this.showReport(s, res.data?.run || {});
    } catch (err) {
      showError(this.runError, err);
    } finally {
      button.disabled = false;
    }
  }

  showReport(s, run) {
    const status = String(run.status ?? '');
    const summary = run.summary || {};
    const head = el(
      'h3',
      {},
      el('span', { cls: `badge ${status === 'pass' ? 'pass' : 'fail'}`, text: status || '?' }),
      el('span', { text: s.name }),
      el('span', { cls: 'muted', text: `run ${run.run_id ?? ''} · seed ${run.seed ?? ''} · ${summary.passed ?? 0} passed, ${summary.failed ?? 0} failed · ${ms(summary.duration_ms)}` }),
    );
    const parts = [head];
    const a = run.analysis;
    if (a && (a.root_cause_summary || a.suggested_next_action)) {
      parts.push(el('p', { cls: 'analysis', text: [a.root_cause_summary, a.suggested_next_action].filter(Boolean).join(' ') }));
    }
    for (const step of run.step_results || []) parts.push(renderStep(step));
    this.report.replaceChildren(...parts);
    this.report.hidden = false;
  }
}

function renderStep(step) {
  const pass = step.status === 'pass';
  const req = step.request || {};
  const res = step.response || {};
  const head = el(
    'div',
    { cls: 'step-head' },
    el('span', { cls: `badge ${pass ? 'pass' : 'fail'}`, text: step.status ?? '?' }),
    el('strong', { text: step.step_id ?? '' }),
    el('span', { text: `${req.method ?? ''} ${req.path ?? ''}` }),
    req.target_id && req.target_id !== 'local' ? el('span', { cls: 'muted', text: `→ ${req.target_id}` }) : null,
    statusSpan(res.status),
    el('span', { cls: 'muted', text: ms(step.latency_ms) }),
    step.chaos_applied ? el('span', { cls: 'chaos', text: 'chaos applied' }) : el('span', { cls: 'muted', text: 'no chaos' }),
    step.trace_id ? el('span', { cls: 'muted', text: `trace ${step.trace_id}` }) : null,
  );
  const rows = (step.assertions || []).map((as) =>
    el(
      'tr',
      { cls: as.passed ? 'ok' : 'bad' },
      el('td', { cls: as.passed ? 'pass-mark' : 'fail-mark', text: as.passed ? '✓' : '✗' }),
      el('td', { text: as.type }),
      el('td', { text: `expected ${compact(as.expected)}` }),
      el('td', { text: `actual ${compact(as.actual)}` }),
    ),
  );
  return el(
    'div',
    { cls: 'step', attrs: { 'data-step': step.step_id ?? '', 'data-status': step.status ?? '' } },
    head,
    step.failure_reason ? el('p', { cls: 'reason', text: String(step.failure_reason) }) : null,
    rows.length ? el('table', { cls: 'data assertions' }, el('tbody', {}, ...rows)) : null,
  );
}
