// The health strip and the latency chart, both fed by GET /_metrics every few seconds.

import { $, setText } from '../dom.js';
import { count, ms } from '../format.js';

const SAMPLE_MS = 2000;

export class Health {
  /** chart: a LatencyChart that receives one sample per poll. */
  constructor(chart) {
    this.chart = chart;
    this.timer = 0;
    this.cells = {
      engine: $('h-engine'),
      conns: $('h-conns'),
      inflight: $('h-inflight'),
      total: $('h-total'),
      p50: $('h-p50'),
      p95: $('h-p95'),
      p99: $('h-p99'),
      drain: $('h-drain'),
      cursor: $('h-cursor'),
    };
  }

  start() {
    this.sample();
  }

  async sample() {
    clearTimeout(this.timer);
    try {
      const res = await fetch('/_metrics', { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (!res.ok) throw new Error(`metrics answered ${res.status}`);
      this.show(await res.json());
    } catch {
      this.unreachable();
    }
    this.timer = setTimeout(() => this.sample(), SAMPLE_MS);
  }

  show(m) {
    const c = this.cells;
    setText(c.engine, m.engine ?? '–');
    setText(c.conns, count(m.active_connections));
    setText(c.inflight, count(m.inflight_requests));
    setText(c.total, count(m.total_requests));
    setText(c.p50, ms(m.latency_p50_ms));
    setText(c.p95, ms(m.latency_p95_ms));
    setText(c.p99, ms(m.latency_p99_ms));
    const drain = String(m.drain_state ?? '–');
    setText(c.drain, drain);
    c.drain.className = drain === 'running' ? '' : 'warn';
    this.chart.add(Date.now(), m.latency_p50_ms, m.latency_p95_ms, m.latency_p99_ms);
  }

  unreachable() {
    setText(this.cells.drain, 'unreachable');
    this.cells.drain.className = 'bad';
  }

  /** cursor shows the id of the last event received. */
  cursor(id) {
    setText(this.cells.cursor, `#${id}`);
  }
}
