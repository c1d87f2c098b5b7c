// How the Mocks panel shows what a mock answers (issue #15): its body as text, as formatted
// JSON (a body given as a JSON value comes back as one) or as "binary, N bytes" (body_base64);
// a sequence's position, its responses and what it does after the last; the state machine a
// mock requires or sets, with the machine's current state; a "template" badge. Pure DOM
// building through dom.js: every value is set as text.

import { el } from '../dom.js';

/** DEFAULT_AFTER_LAST is what a sequence does after its last response when it says nothing. */
export const DEFAULT_AFTER_LAST = 'repeat_last';

/** PREVIEW_CHARS bounds the one-line preview of a body. */
const PREVIEW_CHARS = 80;

/** STATUSES_SHOWN bounds the statuses of a sequence listed in the status column. */
const STATUSES_SHOWN = 4;

/** isSequence reports a sequence mock (one with responses). */
export function isSequence(m) {
  return Array.isArray(m?.responses);
}

/** hasState reports a mock tied to a state machine. */
export function hasState(m) {
  return Boolean(m?.state && typeof m.state === 'object' && m.state.name);
}

/**
 * bodyOf describes the body of a mock or of one of a sequence's responses:
 *   {kind: 'binary', bytes} for body_base64 (its decoded length);
 *   {kind: 'json', value, text} for a JSON value (text: formatted, two-space indent);
 *   {kind: 'text', text} for a string; {kind: 'none'} for no body or an empty one.
 */
export function bodyOf(r) {
  if (r && typeof r.body_base64 === 'string') return { kind: 'binary', bytes: base64Length(r.body_base64) };
  const b = r?.body;
  if (b === undefined || b === null || b === '') return { kind: 'none' };
  if (typeof b === 'string') return { kind: 'text', text: b };
  return { kind: 'json', value: b, text: JSON.stringify(b, null, 2) };
}

/** base64Length is the number of bytes a padded base64 string decodes to. */
export function base64Length(s) {
  const t = String(s).replace(/\s+/g, '');
  if (!t) return 0;
  const pad = t.endsWith('==') ? 2 : t.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((t.length * 3) / 4) - pad);
}

/** binaryText is how a binary body is named. */
export function binaryText(n) {
  return `binary, ${n} ${n === 1 ? 'byte' : 'bytes'}`;
}

/** preview is a body's first line, cut at PREVIEW_CHARS. */
function preview(body) {
  const one = body.kind === 'json' ? JSON.stringify(body.value) : body.text.replace(/\s*\n\s*/g, ' ⏎ ');
  return one.length > PREVIEW_CHARS ? `${one.slice(0, PREVIEW_CHARS)}…` : one;
}

/**
 * bodyNode renders a body: a binary one as a badge, a text or JSON one as a one-line preview
 * that unfolds to the whole (JSON formatted). key names it in `open` (the keys of the
 * unfolded parts, kept across refreshes). null for no body.
 */
export function bodyNode(body, key, open) {
  if (body.kind === 'none') return null;
  if (body.kind === 'binary') {
    return el('span', { cls: 'badge neutral body-binary', text: binaryText(body.bytes), title: 'a body given as body_base64: shown by its size, sent as its bytes' });
  }
  return foldable(
    { cls: `body-view ${body.kind}`, open, key },
    el('summary', { cls: 'body-summary', title: body.kind === 'json' ? 'JSON body: unfold to see it formatted' : 'body: unfold to see all of it' }, preview(body)),
    el('pre', { cls: 'body', text: body.text }),
  );
}

/**
 * foldable makes a <details> whose open state is kept in the set `open` under `key`, so a
 * refresh of the list does not fold what the user unfolded.
 */
export function foldable({ cls, open, key }, summary, ...content) {
  const details = el('details', { cls, props: { open: open.has(key) } }, summary, ...content);
  details.addEventListener('toggle', () => {
    if (details.open) open.add(key);
    else open.delete(key);
  });
  return details;
}

/** statusText is what the status column shows: the status (a number, or a template), or a
 * sequence's statuses in order. */
export function statusText(m) {
  if (!isSequence(m)) return String(m.status ?? '');
  const list = m.responses.slice(0, STATUSES_SHOWN).map((r) => String(r?.status ?? ''));
  return list.join(' → ') + (m.responses.length > STATUSES_SHOWN ? ' → …' : '');
}

/** typeText is what the type column shows: the content type, or a sequence's distinct ones. */
export function typeText(m) {
  if (!isSequence(m)) return String(m.content_type ?? '');
  return [...new Set(m.responses.map((r) => String(r?.content_type ?? '')))].filter(Boolean).join(', ');
}

/** sequenceLabel is "sequence P/N" (P: the response the next request gets, from 0), or
 * "sequence used up". */
export function sequenceLabel(m) {
  const s = m.sequence && typeof m.sequence === 'object' ? m.sequence : {};
  const length = Number.isFinite(Number(s.length)) ? Number(s.length) : m.responses.length;
  if (Number(s.position) === -1) return 'sequence used up';
  const pos = Number.isFinite(Number(s.position)) ? Number(s.position) : 0;
  return `sequence ${pos}/${length}`;
}

/**
 * sequenceNode renders a sequence mock: a badge with its position that unfolds to its
 * responses (the next one marked), and a badge saying what it does after the last.
 */
export function sequenceNodes(m, open) {
  const s = m.sequence && typeof m.sequence === 'object' ? m.sequence : {};
  const afterLast = String(m.after_last || DEFAULT_AFTER_LAST);
  const used = Number(s.position) === -1;
  const served = Number(s.served) || 0;
  const title = used
    ? `all ${m.responses.length} responses served (${served} requests); after_last ${afterLast}: every request gets 404 sequence_exhausted`
    : `the next request gets response ${Number(s.position ?? 0) + 1} of ${m.responses.length}; ${served} served so far`;
  const items = m.responses.map((r, i) => {
    const body = bodyOf(r);
    const headers = r?.headers && typeof r.headers === 'object' && Object.keys(r.headers).length ? JSON.stringify(r.headers) : '';
    return el(
      'li',
      { cls: i === Number(s.position) ? 'next' : '', attrs: { 'data-index': i } },
      el(
        'div',
        { cls: 'response-head' },
        el('span', { cls: 'muted', text: `${i}` }),
        el('span', { cls: 'status', text: String(r?.status ?? '') }),
        el('span', { cls: 'muted', text: String(r?.content_type ?? '') }),
        headers ? el('span', { cls: 'muted', text: headers }) : null,
        i === Number(s.position) ? el('span', { cls: 'badge neutral', text: 'next' }) : null,
        body.kind === 'binary' ? el('span', { cls: 'badge neutral body-binary', text: binaryText(body.bytes) }) : null,
      ),
      body.kind === 'text' || body.kind === 'json' ? el('pre', { cls: 'body', text: body.text }) : null,
    );
  });
  return [
    foldable(
      { cls: 'criteria sequence', open, key: `${m.id}:responses` },
      el('summary', { cls: `badge seq${used ? ' used' : ''}`, text: sequenceLabel(m), title }),
      el('ol', { cls: 'responses' }, ...items),
    ),
    el('span', { cls: 'badge neutral after-last', text: `after last: ${afterLast}`, title: afterLastHelp(afterLast) }),
  ];
}

function afterLastHelp(v) {
  switch (v) {
    case 'loop':
      return 'after the last response the sequence starts over';
    case 'not_found':
      return 'after the last response every request gets 404 sequence_exhausted';
    default:
      return 'after the last response it keeps giving the last';
  }
}

/** stateLabel is "state cart: requires full → sets empty (now: full)", with the parts the
 * mock has. */
export function stateLabel(st) {
  const parts = [];
  if (st.requires) parts.push(`requires ${st.requires}`);
  if (st.sets) parts.push(`sets ${st.sets}`);
  const now = st.current ? ` (now: ${st.current})` : '';
  return `state ${st.name}: ${parts.join(' → ')}${now}`;
}

/** stateNode renders a stateful mock's badge: ready when its machine is in the state it
 * requires (or it requires none), waiting otherwise. */
export function stateNode(m) {
  const st = m.state;
  const waiting = Boolean(st.requires && st.current && st.requires !== st.current);
  const why = [
    st.requires ? `answers only while state machine ${st.name} is in ${st.requires}` : `answers in any state of state machine ${st.name}`,
    st.sets ? `then moves it to ${st.sets}` : '',
    st.current ? `it is now in ${st.current}` : '',
  ].filter(Boolean);
  return el('span', { cls: `badge state ${waiting ? 'waiting' : 'ready'}`, attrs: { 'data-machine': st.name }, text: stateLabel(st), title: why.join('; ') });
}

/** templateNode renders the "template" badge (and the seed, when the mock has its own). */
export function templateNodes(m) {
  const out = [];
  if (m.template === true) {
    out.push(el('span', { cls: 'badge neutral template', text: 'template', title: 'status, headers and body are templates, rendered for each request' }));
  }
  if (m.seed !== undefined && m.seed !== null) {
    out.push(el('span', { cls: 'badge neutral seed', text: `seed ${m.seed}`, title: 'this mock\'s own seed for its random values, latency and faults' }));
  }
  return out;
}
