// A small latency chart drawn on a canvas: p50, p95 and p99 over the last minutes, one line
// each, on a shared millisecond axis that grows with the data. Colours come from the CSS
// custom properties --p50, --p95, --p99, --grid and --muted of the canvas.

const SERIES = ['p50', 'p95', 'p99'];

export class LatencyChart {
  /** canvas: the element to draw on; windowMs: how much history to keep and show. */
  constructor(canvas, windowMs = 5 * 60 * 1000) {
    this.canvas = canvas;
    this.windowMs = windowMs;
    this.samples = []; // {t, p50, p95, p99}, oldest first
    this.frame = 0;
    if (typeof ResizeObserver === 'function') {
      new ResizeObserver(() => this.redraw()).observe(canvas);
    }
  }

  /** add records one sample taken at time t (ms since the epoch). */
  add(t, p50, p95, p99) {
    this.samples.push({ t, p50: num(p50), p95: num(p95), p99: num(p99) });
    const oldest = t - this.windowMs;
    while (this.samples.length && this.samples[0].t < oldest) this.samples.shift();
    const last = this.samples[this.samples.length - 1];
    this.canvas.setAttribute(
      'aria-label',
      `Latency chart, ${this.samples.length} samples; latest p50 ${last.p50.toFixed(2)} ms, p95 ${last.p95.toFixed(2)} ms, p99 ${last.p99.toFixed(2)} ms`,
    );
    this.redraw();
  }

  redraw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (!w || !h) return;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const css = getComputedStyle(c);
    const color = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
    const left = 56;
    const right = 10;
    const top = 10;
    const bottom = 22;
    const pw = Math.max(1, w - left - right);
    const ph = Math.max(1, h - top - bottom);

    const now = this.samples.length ? this.samples[this.samples.length - 1].t : Date.now();
    const t0 = now - this.windowMs;
    let max = 0;
    for (const s of this.samples) max = Math.max(max, s.p50, s.p95, s.p99);
    const top0 = niceCeil(max || 1);

    ctx.font = '11px ui-monospace, Menlo, Consolas, monospace';
    ctx.fillStyle = color('--muted', '#8796a8');
    ctx.strokeStyle = color('--grid', '#26303b');
    ctx.lineWidth = 1;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let i = 0; i <= 4; i++) {
      const v = (top0 * i) / 4;
      const y = top + ph - (ph * i) / 4;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(left + pw, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(`${trim(v)} ms`, left - 6, y);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const minutes = Math.round(this.windowMs / 60000);
    for (let m = 0; m <= minutes; m++) {
      const x = left + pw - (pw * m) / minutes;
      ctx.fillText(m === 0 ? 'now' : `-${m}m`, Math.min(Math.max(x, left + 12), left + pw - 12), top + ph + 6);
    }

    if (this.samples.length < 2) {
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText('collecting samples…', left + pw / 2, top + ph / 2);
      return;
    }
    const xOf = (t) => left + ((t - t0) / this.windowMs) * pw;
    const yOf = (v) => top + ph - (Math.min(v, top0) / top0) * ph;
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    for (const key of SERIES) {
      ctx.strokeStyle = color(`--${key}`, '#ccc');
      ctx.beginPath();
      this.samples.forEach((s, i) => {
        const x = xOf(s.t);
        const y = yOf(s[key]);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    }
  }
}

function num(v) {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** niceCeil rounds v up to 1, 2 or 5 times a power of ten. */
function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function trim(v) {
  return v >= 10 ? String(Math.round(v)) : String(Number(v.toPrecision(2)));
}
