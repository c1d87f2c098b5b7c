// The three live lists fed by the event feed: requests, the timeline (scenario runs and the
// wire faults and delays mocks and targets inject, fault.injected) and proxy activity.
// Newest first, bounded; every value is set as text.

import { $, el, keepFirst, statusSpan } from '../dom.js';
import { clock, ms } from '../format.js';

const MAX_ROWS = 200;

/** isConsoleRead reports requests this page makes by itself (reads of the API, metrics
 * polling, its own files), which the live list hides unless asked. */
export function isConsoleRead(method, path) {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return (
    path === '/_metrics' ||
    path === '/metrics' ||
    path === '/playground' ||
    path === '/dashboard' ||
    path === '/favicon.ico' ||
    path.startsWith('/api/') ||
    path.startsWith('/assets/')
  );
}

export class LiveLists {
  constructor() {
    this.rows = $('live-rows');
    this.empty = $('live-empty');
    this.hideConsole = $('live-hide-console');
    this.timeline = $('timeline');
    this.timelineEmpty = $('timeline-empty');
    this.proxyRows = $('proxy-rows');
    this.proxyEmpty = $('proxy-empty');
    $('live-host').textContent = location.host;
    $('live-clear').addEventListener('click', () => {
      this.rows.replaceChildren();
      this.empty.hidden = false;
    });
    $('timeline-clear').addEventListener('click', () => {
      this.timeline.replaceChildren();
      this.timelineEmpty.hidden = false;
    });
    this.hideConsole.addEventListener('change', () => this.applyFilter());
    this.targetNames = new Map();
    this.scenarioNames = new Map();
  }

  /** setTargets and setScenarios let the lists show names instead of ids. */
  setTargets(list) {
    this.targetNames = new Map(list.map((t) => [String(t.id), String(t.name)]));
  }

  setScenarios(list) {
    this.scenarioNames = new Map(list.map((sc) => [String(sc.id), String(sc.name)]));
  }

  /** add shows one event in the list it belongs to. */
  add(ev) {
    const p = ev.payload && typeof ev.payload === 'object' ? ev.payload : {};
    switch (ev.type) {
      case 'request.completed':
        this.addRequest(ev, p);
        break;
      case 'scenario.run.started':
      case 'scenario.step.started':
      case 'scenario.step.completed':
      case 'scenario.run.completed':
        this.addTimeline(ev, p);
        break;
      case 'proxy.request.completed':
        this.addProxy(ev, p);
        break;
      case 'fault.injected':
        this.addFault(ev, p);
        break;
      default:
        break;
    }
  }

  addRequest(ev, p) {
    const method = String(p.method ?? '');
    const path = String(p.path ?? '');
    const tr = el(
      'tr',
      { cls: 'fresh', attrs: { 'data-console': isConsoleRead(method, path) ? '1' : null } },
      el('td', { cls: 'time', text: clock(ev.ts) }),
      el('td', { cls: 'm', text: method }),
      el('td', { cls: 'path', text: path }),
      el('td', {}, statusSpan(p.status)),
      el('td', { cls: 'num', text: ms(p.latency_ms) }),
      el('td', { cls: 'trace', text: ev.trace_id || '' }),
    );
    if (tr.dataset.console && this.hideConsole.checked) tr.hidden = true;
    this.rows.prepend(tr);
    keepFirst(this.rows, MAX_ROWS);
    this.updateEmpty();
  }

  applyFilter() {
    for (const tr of this.rows.children) tr.hidden = Boolean(tr.dataset.console) && this.hideConsole.checked;
    this.updateEmpty();
  }

  updateEmpty() {
    let visible = false;
    for (const tr of this.rows.children) {
      if (!tr.hidden) {
        visible = true;
        break;
      }
    }
    this.empty.hidden = visible;
  }

  addTimeline(ev, p) {
    const labels = {
      'scenario.run.started': 'run started',
      'scenario.step.started': 'step started',
      'scenario.step.completed': 'step completed',
      'scenario.run.completed': 'run completed',
    };
    const status = String(p.status ?? '');
    const isRun = ev.type.startsWith('scenario.run.');
    const cls = [isRun ? 'run' : 'step', status === 'pass' ? 'pass' : status === 'fail' ? 'fail' : ''].join(' ');
    const scenario = this.scenarioNames.get(String(p.scenario_id)) ?? p.scenario_id;
    const who = [scenario, isRun ? p.run_id : p.step_id].filter(Boolean).join(' / ');
    const detail = [];
    if (ev.type === 'scenario.step.completed' && p.latency_ms !== undefined) detail.push(ms(p.latency_ms));
    if (ev.type === 'scenario.run.started' && p.seed !== undefined) detail.push(`seed ${p.seed}`);
    if (ev.type === 'scenario.run.completed' && p.summary) {
      detail.push(`${p.summary.passed ?? 0} passed, ${p.summary.failed ?? 0} failed`);
    }
    if (p.target_id && p.target_id !== 'local') detail.push(`→ ${this.targetNames.get(String(p.target_id)) ?? p.target_id}`);
    const li = el(
      'li',
      { cls, attrs: { 'data-type': ev.type, 'data-status': status || null } },
      el('span', { cls: 'when', text: clock(ev.ts) }),
      el('span', { cls: 'what' }, labels[ev.type] || ev.type, ' ', status ? el('span', { cls: `badge ${status === 'pass' ? 'pass' : status === 'fail' ? 'fail' : 'neutral'}`, text: status }) : null),
      el('span', { cls: 'who', text: [who, ...detail].filter(Boolean).join(' · ') }),
      p.failure_reason ? el('span', { cls: 'why', text: String(p.failure_reason) }) : null,
    );
    this.timeline.prepend(li);
    keepFirst(this.timeline, MAX_ROWS);
    this.timelineEmpty.hidden = true;
  }

  /**
   * addFault shows one fault.injected event on the timeline: what injected it (a mock, or a
   * target by name), the kind ("latency" for a delay), the hit it was decided for, the
   * connection and the byte of the response where the fault acts (the delay for latency).
   */
  addFault(ev, p) {
    const kind = String(p.kind ?? '');
    const source = String(p.source ?? '');
    const latency = kind === 'latency';
    const id = String(p.id ?? '');
    const name = source === 'target' ? this.targetNames.get(id) ?? id : id;
    const route = p.route ? ` (${p.route})` : '';
    const where = latency ? `delay ${ms(p.delay_ms)}` : `at byte ${Number(p.byte_offset) || 0}`;
    const li = el(
      'li',
      { cls: `fault ${latency ? 'latency' : 'wire'}`, attrs: { 'data-type': ev.type, 'data-kind': kind, 'data-source': source }, title: p.decision ? `decision ${JSON.stringify(p.decision)} · seed ${p.seed ?? ''}` : '' },
      el('span', { cls: 'when', text: clock(ev.ts) }),
      el('span', { cls: 'what' }, latency ? 'delay injected' : 'fault injected', ' ', el('span', { cls: `badge fault-kind${latency ? ' latency' : ''}`, text: kind })),
      el(
        'span',
        { cls: 'who' },
        el('span', { cls: 'fault-src', text: `${source} ${name}${route}` }),
        ' · ',
        el('span', { cls: 'fault-hit', text: `hit ${p.hit ?? ''}` }),
        ' · ',
        el('span', { cls: 'fault-conn', text: `conn ${p.connection_id ?? ''}` }),
        ' · ',
        el('span', { cls: 'fault-where', text: where }),
      ),
    );
    this.timeline.prepend(li);
    keepFirst(this.timeline, MAX_ROWS);
    this.timelineEmpty.hidden = true;
  }

  addProxy(ev, p) {
    const tr = el(
      'tr',
      { cls: 'fresh', title: ev.trace_id ? `trace ${ev.trace_id}` : '' },
      el('td', { cls: 'time', text: clock(ev.ts) }),
      el('td', {}, statusSpan(p.status)),
      el('td', { cls: 'm', text: String(p.method ?? '') }),
      el('td', { cls: 'path', text: String(p.path ?? '') }),
      el('td', { text: this.targetNames.get(String(p.target_id)) ?? String(p.target_id ?? ''), title: `target ${p.target_id ?? ''}` }),
    );
    this.proxyRows.prepend(tr);
    keepFirst(this.proxyRows, MAX_ROWS);
    this.proxyEmpty.hidden = true;
  }

  /** gap notes, in the request list, that events were lost or the server restarted. */
  gap(info) {
    const text = info.restarted ? 'server restarted — event ids begin again' : 'events were missed (the buffer rotated past this page)';
    const tr = el('tr', { cls: 'gap' }, el('td', { cls: 'time', text: clock() }), el('td', { cls: 'muted', attrs: { colspan: '5' }, text }));
    this.rows.prepend(tr);
    keepFirst(this.rows, MAX_ROWS);
  }
}
