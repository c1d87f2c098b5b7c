// Formatting helpers shared by the pages. Pure functions: strings in, strings out.

/** clock renders an ISO timestamp (or a Date, or now) as local HH:MM:SS. */
export function clock(ts) {
  const d = ts instanceof Date ? ts : ts ? new Date(ts) : new Date();
  if (Number.isNaN(d.getTime())) return String(ts ?? '');
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** ms renders a latency in milliseconds with a precision that suits its size. */
export function ms(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return '–';
  if (n === 0) return '0 ms';
  if (n < 1) return `${n.toFixed(3)} ms`;
  if (n < 100) return `${n.toFixed(1)} ms`;
  return `${Math.round(n)} ms`;
}

/** bytes renders a byte count in B, KiB or MiB. */
export function bytes(v) {
  const n = Number(v);
  if (!Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** count renders an integer with thousands separators. */
export function count(v) {
  const n = Number(v);
  return Number.isFinite(n) ? n.toLocaleString('en-US') : '–';
}

/** pretty renders a body: JSON is re-indented, anything else is returned as it is. */
export function pretty(text) {
  if (typeof text !== 'string') return JSON.stringify(text, null, 2);
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.stringify(JSON.parse(t), null, 2);
    } catch {
      // not JSON after all: show it as it is
    }
  }
  return text;
}

/** compact renders any value as one line of JSON (strings as they are), cut at max chars. */
export function compact(v, max = 160) {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (s === undefined) return '';
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** headerEntries turns a headers object into sorted [name, value] pairs. */
export function headerEntries(h) {
  if (!h || typeof h !== 'object') return [];
  return Object.entries(h)
    .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)])
    .sort((a, b) => a[0].localeCompare(b[0]));
}
