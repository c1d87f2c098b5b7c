// Request Lab: compose a request and send it to this server (POST /api/playground/request)
// or to a named target through the proxy (POST /api/proxy/request); show what came back.

import { api } from '../api.js';
import { $, el, kvRows, showError, statusSpan } from '../dom.js';
import { headerEntries, ms, pretty } from '../format.js';

export class RequestLab {
  constructor() {
    this.form = $('lab-form');
    this.method = $('lab-method');
    this.target = $('lab-target');
    this.path = $('lab-path');
    this.headers = $('lab-headers');
    this.body = $('lab-body');
    this.send = $('lab-send');
    this.error = $('lab-error');
    this.result = $('lab-result');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
  }

  /** setTargets fills the target menu: local first, then every named target. */
  setTargets(targets) {
    const keep = this.target.value;
    const options = [el('option', { props: { value: 'local' }, text: 'local (this server)' })];
    for (const t of targets) {
      options.push(el('option', { props: { value: String(t.id) }, text: `${t.name} (${t.base_url})` }));
    }
    this.target.replaceChildren(...options);
    this.target.value = [...this.target.options].some((o) => o.value === keep) ? keep : 'local';
  }

  /** fill sets the method and path (for "try" buttons elsewhere) and sends. */
  fill(method, path) {
    this.method.value = method;
    this.target.value = 'local';
    this.path.value = path;
    this.submit();
    this.form.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }

  async submit() {
    showError(this.error, null);
    this.headers.removeAttribute('aria-invalid');
    let headers = {};
    const raw = this.headers.value.trim();
    if (raw) {
      try {
        headers = JSON.parse(raw);
      } catch {
        headers = null;
      }
      if (!headers || typeof headers !== 'object' || Array.isArray(headers)) {
        this.headers.setAttribute('aria-invalid', 'true');
        showError(this.error, { code: 'headers', message: 'headers must be a JSON object, like {"x-demo": "1"}' });
        return;
      }
    }
    const target = this.target.value;
    const payload = { method: this.method.value, path: this.path.value, headers, body: this.body.value };
    const url = target === 'local' ? '/api/playground/request' : '/api/proxy/request';
    if (target !== 'local') payload.target_id = target;
    this.send.disabled = true;
    try {
      const res = await api('POST', url, payload);
      this.show(res.data || {}, res.elapsed);
    } catch (err) {
      showError(this.error, err);
    } finally {
      this.send.disabled = false;
    }
  }

  show(data, elapsed) {
    const r = data.response || {};
    $('lab-status').replaceChildren(statusSpan(r.status));
    const h = r.headers || {};
    const trace = data.trace_id || h['x-request-id'] || h['X-Request-ID'] || '';
    const meta = [];
    if (typeof data.latency_ms === 'number') meta.push(`upstream ${ms(data.latency_ms)}`);
    meta.push(`round trip ${ms(elapsed)}`);
    if (trace) meta.push(`trace ${trace}`);
    if (r.truncated || data.truncated) meta.push('body truncated');
    if (data.error && typeof data.error === 'object') meta.push(`${data.error.code ?? 'error'}: ${data.error.message ?? ''}`);
    $('lab-meta').textContent = meta.join(' · ');
    kvRows($('lab-res-headers'), headerEntries(h));
    $('lab-res-body').textContent = pretty(r.body ?? '');
    this.result.hidden = false;
  }
}
