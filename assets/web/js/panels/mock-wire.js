// A mock's wire plan in the Mocks panel (issue #16): its `latency` and `faults` as written,
// in words and as JSON, and a preview of what serving hits 1..20 will do under a seed
// (GET /api/mocks/{id}/faults?seed=S&n=20): which hits are delayed, which fault and how.
// The preview is kept per mock across list refreshes. Every value is set as text.

import { api, query } from '../api.js';
import { el, showError } from '../dom.js';
import { ms } from '../format.js';
import { foldable } from './mock-view.js';

/** PREVIEW_HITS is how many hits the preview shows. */
export const PREVIEW_HITS = 20;

/** WINDOWS are the fields that say when a fault may fire, besides its probability. */
const WINDOWS = { first: (n) => (Number(n) === 1 ? 'hit 1 only' : `hits 1–${n}`), after: (n) => `after hit ${n}`, every: (n) => `every ${n}th hit`, during_ms: (n) => `during ${n} ms from the first hit` };

/** hasWire reports a mock with a latency or faults. */
export function hasWire(m) {
  return Boolean((m?.latency && typeof m.latency === 'object') || (Array.isArray(m?.faults) && m.faults.length > 0));
}

/** latencyText describes a latency object ({"fixed_ms": 20}, {"uniform": {…}}, …). */
export function latencyText(l) {
  if (!l || typeof l !== 'object') return '';
  if (l.fixed_ms !== undefined) return `fixed ${ms(l.fixed_ms)}`;
  if (l.uniform) return `uniform ${ms(l.uniform.min_ms)} to ${ms(l.uniform.max_ms)}`;
  if (l.lognormal) return `lognormal, median ${ms(l.lognormal.median_ms)}, sigma ${l.lognormal.sigma}`;
  if (l.percentiles) return `percentiles p50 ${ms(l.percentiles.p50)}, p95 ${ms(l.percentiles.p95)}, p99 ${ms(l.percentiles.p99)}`;
  return JSON.stringify(l);
}

/** paramsText renders a fault's (or a decision's) parameters: "after_bytes 100, chunked true". */
export function paramsText(f, skip = []) {
  const skipped = new Set(['kind', 'index', 'probability', ...Object.keys(WINDOWS), ...skip]);
  return Object.entries(f || {})
    .filter(([k]) => !skipped.has(k))
    .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(', ');
}

/** faultText describes one fault of a plan: its kind, parameters, window and probability. */
export function faultText(f) {
  const parts = [String(f?.kind ?? '?')];
  const params = paramsText(f);
  if (params) parts.push(params);
  for (const [k, say] of Object.entries(WINDOWS)) if (f?.[k] !== undefined) parts.push(say(f[k]));
  parts.push(f?.probability !== undefined ? `probability ${f.probability}` : 'probability 1');
  return parts.join(' · ');
}

export class WirePreviews {
  constructor() {
    this.byId = new Map(); // mock id -> {seed, data, error, box}
  }

  /** forget drops the previews of mocks no longer listed. */
  forget(ids) {
    for (const id of this.byId.keys()) if (!ids.has(id)) this.byId.delete(id);
  }

  /**
   * nodes renders a mock's wire plan: a "wire" badge that unfolds to the latency and faults
   * (in words and as JSON) and the preview; [] for a mock without a plan. open: the set of
   * unfolded parts (see foldable).
   */
  nodes(m, open) {
    if (!hasWire(m)) return [];
    const id = String(m.id);
    const st = this.byId.get(id) || { seed: '', data: null, error: null, box: null };
    this.byId.set(id, st);
    const faults = Array.isArray(m.faults) ? m.faults : [];
    const label = ['wire', m.latency ? 'latency' : '', faults.length ? `${faults.length} ${faults.length === 1 ? 'fault' : 'faults'}` : ''].filter(Boolean).join(' · ');
    const seed = el('input', {
      cls: 'preview-seed',
      attrs: { inputmode: 'numeric', placeholder: 'seed (default)', 'aria-label': `preview seed for mock ${id}` },
      props: { value: st.seed },
      on: { input: (e) => (st.seed = e.currentTarget.value) },
    });
    const form = el(
      'form',
      { cls: 'preview-form', on: { submit: (e) => { e.preventDefault(); this.load(id); } } },
      el('span', { cls: 'muted', text: `hits 1–${PREVIEW_HITS} under` }),
      seed,
      el('button', { cls: 'ghost small', text: 'Preview', props: { type: 'submit' } }),
    );
    st.box = el('div', { cls: 'preview-box' });
    this.fill(st);
    const plan = el(
      'div',
      { cls: 'wire-plan' },
      m.latency ? el('div', { cls: 'wire-latency' }, el('span', { cls: 'muted', text: 'latency ' }), latencyText(m.latency)) : null,
      faults.length ? el('div', { cls: 'wire-faults' }, el('span', { cls: 'muted', text: 'faults, the first that fires wins' }), el('ol', {}, ...faults.map((f) => el('li', { text: faultText(f) })))) : null,
      el('pre', { cls: 'body wire-json', text: JSON.stringify({ latency: m.latency, faults: m.faults }, null, 2) }),
      form,
      st.box,
    );
    const details = foldable(
      { cls: 'criteria wire', open, key: `${id}:wire` },
      el('summary', { cls: 'badge wire', text: label, title: 'this mock misbehaves on the wire: unfold for its plan and which hits fault' }),
      plan,
    );
    details.addEventListener('toggle', () => {
      if (details.open && !st.data && !st.error) this.load(id);
    });
    return [details];
  }

  /** load fetches the preview of hits 1..PREVIEW_HITS under the typed seed (or the default). */
  async load(id) {
    const st = this.byId.get(id);
    if (!st) return;
    try {
      const res = await api('GET', `/api/mocks/${encodeURIComponent(id)}/faults${query({ seed: st.seed.trim(), n: PREVIEW_HITS })}`);
      st.data = res.data;
      st.error = null;
    } catch (err) {
      st.error = err;
    }
    this.fill(st);
  }

  /** fill renders a preview (or its error) into its box. */
  fill(st) {
    const box = st.box;
    if (!box) return;
    if (st.error) {
      const p = el('p', { cls: 'error', attrs: { role: 'alert' } });
      showError(p, st.error);
      box.replaceChildren(p);
      return;
    }
    const d = st.data;
    if (!d) {
      box.replaceChildren();
      return;
    }
    const s = d.summary || {};
    const kinds = Object.entries(s.faults_by_kind || {})
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    const dl = s.delay_ms || {};
    const line = el(
      'p',
      { cls: 'preview-summary small-text' },
      `seed ${d.seed}: ${s.faulted ?? 0} of ${d.n} hits fault${kinds ? ` (${kinds})` : ''}`,
      d.latency ? ` · delay p50 ${ms(dl.p50)}, p95 ${ms(dl.p95)}, p99 ${ms(dl.p99)}, max ${ms(dl.max)}` : '',
    );
    const rows = (d.decisions || []).map((dec) => {
      const f = dec.fault && typeof dec.fault === 'object' ? dec.fault : null;
      return el(
        'tr',
        { cls: f ? 'faulted' : '', attrs: { 'data-hit': dec.hit, 'data-fault': f ? f.kind : null } },
        el('td', { cls: 'num', text: String(dec.hit ?? '') }),
        el('td', { cls: 'num', text: ms(dec.delay_ms) }),
        el('td', { text: f ? String(f.kind) : '—' }),
        el('td', { cls: 'muted', text: f ? paramsText(f) : '' }),
      );
    });
    box.replaceChildren(
      line,
      el(
        'table',
        { cls: 'data preview' },
        el('thead', {}, el('tr', {}, el('th', { cls: 'num', text: 'hit' }), el('th', { cls: 'num', text: 'delay' }), el('th', { text: 'fault' }), el('th', { text: 'how' }))),
        el('tbody', {}, ...rows),
      ),
    );
  }
}
