// One history entry, opened from the History panel (issue #17): the request and the response
// as the server kept them (heads and bodies, truncation marks, timings, the wire fault), with
//   "Copy as curl"  GET /api/history/{id}?format=curl, put on the clipboard and shown;
//   "Replay"        POST /api/replay/{id}, its answer shown below the list;
//   "Save as mock"  POST /api/mocks/from-history {"ids":[id],"dry_run":true} proposes a mock,
//                   shown as editable JSON; "Create mock" creates it (dry_run false, or the
//                   edited JSON through POST /api/mocks).
// Every value is set as text.

import { api, query } from '../api.js';
import { $, el, kvRows, setText, showError, statusSpan } from '../dom.js';
import { bytes, clock, headerEntries, ms, pretty } from '../format.js';

export class HistoryEntry {
  /** onMockCreated(id): a mock was saved from an entry. */
  constructor({ onMockCreated = () => {} } = {}) {
    this.onMockCreated = onMockCreated;
    this.box = $('history-entry');
    this.error = $('entry-error');
    this.entry = null; // the open entry, as GET /api/history/{id} gave it
    this.proposed = ''; // the proposed mock's JSON as shown, to tell an edit
    $('entry-close').addEventListener('click', () => this.close());
    $('entry-curl').addEventListener('click', (e) => this.copyCurl(e.currentTarget));
    $('entry-replay').addEventListener('click', (e) => this.entry && this.replay(this.entry, e.currentTarget, this.error));
    $('entry-save').addEventListener('click', (e) => this.propose(e.currentTarget));
    $('entry-save-create').addEventListener('click', (e) => this.create(e.currentTarget));
    $('entry-save-cancel').addEventListener('click', () => {
      $('entry-save-box').hidden = true;
    });
  }

  close() {
    this.entry = null;
    this.box.hidden = true;
  }

  /** open fetches the entry of request id and shows it. */
  async open(id) {
    showError(this.error, null);
    try {
      const res = await api('GET', `/api/history/${encodeURIComponent(id)}`);
      this.show(res.data?.entry || {});
    } catch (err) {
      this.box.hidden = false;
      showError(this.error, err);
    }
  }

  show(e) {
    this.entry = e;
    this.box.dataset.id = e.request_id ?? '';
    $('entry-curl-box').hidden = true;
    $('entry-save-box').hidden = true;
    setText($('entry-title'), `${e.method ?? ''} ${e.path ?? ''}`);
    $('entry-status').replaceChildren(statusSpan(e.status));
    const fault = $('entry-fault');
    fault.hidden = !e.fault;
    setText(fault, e.fault ? `fault: ${e.fault}` : '');
    const meta = [
      ['request id', e.request_id],
      ['started', e.started_at ? `${clock(e.started_at)} (${e.started_at})` : ''],
      ['ended', e.ts ? `${clock(e.ts)} (${e.ts})` : ''],
      ['latency', ms(e.latency_ms)],
      ['bytes in / out', `${bytes(e.bytes_in)} / ${bytes(e.bytes_out)}`],
      ['scenario run', e.run_id ? `${e.run_id}${e.step_id ? ` step ${e.step_id}` : ''}` : ''],
    ].filter(([, v]) => v !== '' && v !== undefined && v !== null);
    $('entry-meta').replaceChildren(...meta.map(([k, v]) => el('div', { attrs: { 'data-k': k } }, el('dt', { text: k }), el('dd', { text: v }))));

    // The request, as replay would send it again.
    const ri = e.replay_input && typeof e.replay_input === 'object' ? e.replay_input : {};
    const kept = Boolean(ri.method);
    setText($('entry-req-line'), kept ? `${ri.method} ${ri.raw_target || ri.path || ''} ${ri.http_version || ''}`.trim() : `${e.method ?? ''} ${e.path ?? ''}`);
    kvRows($('entry-req-headers'), kept ? headerEntries(ri.headers) : []);
    note($('entry-req-note'), kept ? '' : 'The request itself was not kept (its body was over --max-history-body-bytes, or it was refused before its head was read): it cannot be replayed.');
    bodyPre($('entry-req-body'), kept ? ri.body : '');
    $('entry-replay').disabled = !kept;

    // The response, as it was sent.
    const r = e.response && typeof e.response === 'object' ? e.response : null;
    setText($('entry-res-line'), r ? `${r.status ?? ''}` : '');
    kvRows($('entry-res-headers'), r ? headerEntries(r.headers) : []);
    const notes = [];
    if (!r) notes.push('No response was kept for this entry (a connection-level reject, or an entry from before responses were kept).');
    if (r && typeof r.body_base64 === 'string') notes.push(`Binary body, ${bytes(r.body_bytes)} kept (shown as base64).`);
    if (r?.body_truncated) notes.push(`Body truncated: the first ${bytes(r.body_bytes)} are kept (--max-history-body-bytes).`);
    const resNote = $('entry-res-note');
    note(resNote, notes.join(' '));
    resNote.classList.toggle('truncated', Boolean(r?.body_truncated));
    bodyPre($('entry-res-body'), r ? (typeof r.body_base64 === 'string' ? r.body_base64 : pretty(r.body ?? '')) : '');

    showError(this.error, null);
    this.box.hidden = false;
  }

  /** copyCurl fetches the entry as a curl command, shows it and puts it on the clipboard. */
  async copyCurl(button) {
    if (!this.entry) return;
    button.disabled = true;
    const copied = $('entry-copied');
    try {
      const res = await api('GET', `/api/history/${encodeURIComponent(this.entry.request_id)}${query({ format: 'curl' })}`);
      const text = res.text;
      setText($('entry-curl-text'), text);
      $('entry-curl-box').hidden = false;
      try {
        await navigator.clipboard.writeText(text);
        copied.className = 'copied ok-text';
        setText(copied, 'Copied to the clipboard.');
      } catch {
        copied.className = 'copied error';
        setText(copied, 'The browser refused the clipboard: select the command below and copy it.');
      }
    } catch (err) {
      showError(this.error, err);
    } finally {
      button.disabled = false;
    }
  }

  /** replay sends entry h's request again and shows the answer below the list; a failure
   * goes to errorEl. */
  async replay(h, button, errorEl) {
    button.disabled = true;
    showError(errorEl, null);
    try {
      const res = await api('POST', `/api/replay/${encodeURIComponent(h.request_id)}`);
      const d = res.data || {};
      const r = d.result || {};
      setText($('replay-title'), `Replay of ${h.method} ${h.path} →`);
      $('replay-status').replaceChildren(statusSpan(r.status));
      kvRows($('replay-headers'), headerEntries(r.headers));
      $('replay-body').textContent = pretty(r.body_preview ?? '') + (r.truncated ? '\n… (truncated)' : '');
      $('replay-result').hidden = false;
    } catch (err) {
      showError(errorEl, err);
    } finally {
      button.disabled = false;
    }
  }

  /** propose asks the server what mock this entry would make (dry run) and shows it. */
  async propose(button) {
    if (!this.entry) return;
    const box = $('entry-save-box');
    const errEl = $('entry-save-error');
    const done = $('entry-save-done');
    showError(errEl, null);
    done.hidden = true;
    button.disabled = true;
    try {
      const res = await api('POST', '/api/mocks/from-history', { ids: [this.entry.request_id], dry_run: true });
      const item = (res.data?.items || [])[0] || {};
      this.showProposal(item);
    } catch (err) {
      const item = (err.data?.items || err.data?.report?.items || [])[0];
      if (item) this.showProposal(item);
      else {
        box.hidden = false;
        $('entry-save-json').value = '';
        this.proposed = '';
        setText($('entry-save-note'), '');
        $('entry-save-unsupported').hidden = true;
        $('entry-save-create').disabled = true;
      }
      showError(errEl, err);
    } finally {
      button.disabled = false;
    }
  }

  showProposal(item) {
    const failed = item.status === 'failed';
    const json = item.mock ? JSON.stringify(item.mock, null, 2) : '';
    $('entry-save-json').value = json;
    this.proposed = json;
    setText(
      $('entry-save-note'),
      failed
        ? `No mock can be made from ${item.source || 'this entry'}: ${item.error || 'failed'}`
        : `Proposed from ${item.source || 'this entry'} (nothing is created yet). Edit it if you like, then create it.`,
    );
    const un = Array.isArray(item.unsupported) ? item.unsupported : [];
    const list = $('entry-save-unsupported');
    list.replaceChildren(...un.map((u) => el('li', { text: `not carried over: ${u}` })));
    list.hidden = un.length === 0;
    $('entry-save-create').disabled = failed || !item.mock;
    $('entry-save-box').hidden = false;
    $('entry-save-box').dataset.status = item.status || '';
  }

  /** create makes the proposed mock: as proposed (from-history, dry_run false) or, when the
   * JSON was edited, the edited mock through POST /api/mocks. */
  async create(button) {
    if (!this.entry) return;
    const errEl = $('entry-save-error');
    const done = $('entry-save-done');
    const text = $('entry-save-json').value;
    showError(errEl, null);
    done.hidden = true;
    button.disabled = true;
    try {
      let id;
      if (text === this.proposed) {
        const res = await api('POST', '/api/mocks/from-history', { ids: [this.entry.request_id], dry_run: false });
        id = (res.data?.items || [])[0]?.mock_id;
      } else {
        const res = await api('POST', '/api/mocks', text);
        id = res.data?.mock?.id;
      }
      setText(done, `Created mock ${id ?? ''}.`);
      done.hidden = false;
      this.onMockCreated(id);
    } catch (err) {
      showError(errEl, err);
    } finally {
      button.disabled = false;
    }
  }
}

/** note shows text in a hint element, or hides it when empty. */
function note(node, text) {
  setText(node, text);
  node.hidden = !text;
}

/** bodyPre shows a body, or hides the element for none. */
function bodyPre(node, text) {
  setText(node, text);
  node.hidden = !text;
}
