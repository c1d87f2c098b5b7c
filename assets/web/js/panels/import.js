// The import dialog (issue #17): files (several at once, or a directory such as WireMock's
// mappings/ + __files/) become mocks through POST /api/import. "Check" sends them with
// dry_run=true and shows the per-item report (source, status, what is unsupported, the
// error); "Import" sends the same again for real and shows what was created and what failed.
// One file goes as it is; several go as a bundle
// (application/vnd.ownhttp.bundle+json: {"files":[{"name","content"|"content_base64"}]}),
// named relative to the chosen directory. Every value is set as text.

import { api, query } from '../api.js';
import { $, el, setText, showError } from '../dom.js';

/** BUNDLE is the media type of several files sent together. */
export const BUNDLE = 'application/vnd.ownhttp.bundle+json';

/** mediaType is what one file is sent as, by its name. */
function mediaType(name) {
  const n = name.toLowerCase();
  if (n.endsWith('.json') || n.endsWith('.har')) return 'application/json';
  if (n.endsWith('.yaml') || n.endsWith('.yml')) return 'application/yaml';
  return 'application/octet-stream';
}

/** relName is a file's name in a bundle: its path below the chosen directory, or its name. */
function relName(file) {
  const rel = file.webkitRelativePath || '';
  if (!rel) return file.name;
  const cut = rel.indexOf('/');
  return cut >= 0 ? rel.slice(cut + 1) : rel;
}

/** bundleEntry reads one file for a bundle: UTF-8 text as content, other bytes as base64. */
async function bundleEntry(file) {
  const buf = new Uint8Array(await file.arrayBuffer());
  const name = relName(file);
  try {
    return { name, content: new TextDecoder('utf-8', { fatal: true }).decode(buf) };
  } catch {
    let bin = '';
    for (let i = 0; i < buf.length; i += 0x8000) bin += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    return { name, content_base64: btoa(bin) };
  }
}

/** reportOf finds the import report a refusal carries: beside the error, or under "report". */
function reportOf(data) {
  if (!data || typeof data !== 'object') return null;
  if (Array.isArray(data.items)) return data;
  if (data.report && Array.isArray(data.report.items)) return data.report;
  return null;
}

export class Import {
  /** onImported(report): mocks were created. */
  constructor({ onImported = () => {} } = {}) {
    this.onImported = onImported;
    this.dialog = $('import-dialog');
    this.files = $('import-files');
    this.dir = $('import-dir');
    this.format = $('import-format');
    this.partial = $('import-partial');
    this.chosen = $('import-chosen');
    this.check = $('import-check');
    this.run = $('import-run');
    this.error = $('import-error');
    this.report = $('import-report');
    this.checked = null; // the request a successful check was made with; Import sends it again
    $('import-open').addEventListener('click', () => this.open());
    $('import-close').addEventListener('click', () => this.dialog.close());
    $('import-form').addEventListener('submit', (e) => e.preventDefault());
    const changed = () => this.changed();
    for (const input of [this.files, this.dir, this.format, this.partial]) input.addEventListener('change', changed);
    $('import-clear').addEventListener('click', () => {
      this.files.value = '';
      this.dir.value = '';
      this.changed();
    });
    this.check.addEventListener('click', () => this.send(true));
    this.run.addEventListener('click', () => this.send(false));
  }

  open() {
    if (!this.dialog.open) this.dialog.showModal();
  }

  /** picked is every chosen file, the directory's after the single ones. */
  picked() {
    return [...this.files.files, ...this.dir.files];
  }

  /** changed: another choice needs another check before it can be imported. */
  changed() {
    this.checked = null;
    this.run.disabled = true;
    this.report.hidden = true;
    showError(this.error, null);
    const files = this.picked();
    this.chosen.replaceChildren(...files.map((f) => el('li', { text: `${relName(f)} (${f.size} bytes)` })));
  }

  /** request builds what is sent: {body, type}. */
  async request() {
    const files = this.picked();
    if (files.length === 1 && this.dir.files.length === 0) return { body: files[0], type: mediaType(files[0].name) };
    const entries = await Promise.all(files.map(bundleEntry));
    return { body: JSON.stringify({ files: entries }), type: BUNDLE };
  }

  async send(dryRun) {
    showError(this.error, null);
    if (this.picked().length === 0) {
      showError(this.error, { code: 'files', message: 'choose one or more files, or a directory' });
      return;
    }
    const button = dryRun ? this.check : this.run;
    button.disabled = true;
    try {
      const req = dryRun || !this.checked ? await this.request() : this.checked;
      const q = query({ format: this.format.value, partial: this.partial.checked ? 'true' : '', dry_run: dryRun ? 'true' : '' });
      try {
        const res = await api('POST', `/api/import${q}`, req.body, req.type);
        this.show(res.data || {}, dryRun);
        if (dryRun) this.checked = req;
        else {
          this.checked = null;
          if ((res.data?.created ?? 0) > 0) this.onImported(res.data);
        }
      } catch (err) {
        // All or nothing with a failed item: the 400 carries the report of every item.
        const report = reportOf(err.data);
        if (report) this.show(report, dryRun);
        else this.report.hidden = true;
        showError(this.error, err);
        this.checked = null;
      }
    } finally {
      this.check.disabled = false;
      this.run.disabled = !this.checked;
    }
  }

  /** show renders an import report. */
  show(r, dryRun) {
    const items = Array.isArray(r.items) ? r.items : [];
    const would = items.filter((i) => i.status === 'would_create').length;
    const failed = items.filter((i) => i.status === 'failed').length;
    const fmt = r.format ? `${r.format}: ` : '';
    setText(
      $('import-summary'),
      dryRun
        ? `${fmt}checked ${items.length} ${items.length === 1 ? 'item' : 'items'}: ${would} would be created, ${failed} failed. Nothing was created.`
        : `${fmt}created ${r.created ?? 0}, failed ${r.failed ?? failed}.`,
    );
    $('import-items').replaceChildren(
      ...items.map((i) => {
        const m = i.mock && typeof i.mock === 'object' ? i.mock : null;
        const route = m ? `${m.method ?? ''} ${m.path_pattern ?? (m.path_regex ? `regex ${m.path_regex}` : '')}`.trim() : '';
        const un = Array.isArray(i.unsupported) ? i.unsupported : [];
        return el(
          'tr',
          { attrs: { 'data-status': i.status ?? '', 'data-source': i.source ?? '' } },
          el('td', { cls: 'path', text: i.source ?? '' }),
          el('td', { text: i.status ?? '' }),
          el('td', { cls: 'path', text: [route, i.mock_id ? `id ${i.mock_id}` : ''].filter(Boolean).join(' · ') }),
          el('td', {}, un.length ? el('ul', {}, ...un.map((u) => el('li', { text: u }))) : null),
          el('td', { cls: 'error', text: i.error ?? '' }),
        );
      }),
    );
    this.report.hidden = false;
  }
}
