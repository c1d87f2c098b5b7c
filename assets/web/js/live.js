// The live event feed: an EventSource on /api/events/stream while it works, snapshot polling
// of /api/events/snapshot while it does not, and back to the stream as soon as it opens again.
//
// The cursor is the id of the last event handed on. A stream opened by us starts at the
// cursor (since_id); the browser's own reconnections resume with Last-Event-ID. Events at or
// below the cursor are dropped, so a poll answer that races a stream opening never shows an
// event twice. Ids begin again at 1 when the server restarts, so the cursor goes with the
// server's start epoch (frame ids are "<epoch>-<id>", pages carry "epoch"): a server of
// another epoch answers with stream.restarted (or a page with restarted: true) and the
// events from its start, and the cursor goes back to 0. A newest id below the cursor means
// the same (servers from before epochs).
//
// Modes, reported through onMode: "connecting" (first attempt), "live" (the stream is open),
// "polling" (the stream failed, snapshots work), "offline" (nothing answers).

import { authHeaders, auth, query } from './api.js';

export const TOPICS = [
  'request.completed',
  'scenario.run.started',
  'scenario.step.started',
  'scenario.step.completed',
  'scenario.run.completed',
  'proxy.request.completed',
  'system.health',
  'system.reset',
  'mock_state.changed',
  'fault.injected',
];

const POLL_MS = 1000;
const POLL_MAX_MS = 5000;
const STREAM_RETRY_MS = 3000;
const PAGE_LIMIT = 500;

export class LiveFeed {
  /**
   * onEvent(event): one event envelope {id, ts, type, trace_id, payload}.
   * onMode(mode): the connection mode changed.
   * onGap(info): events were lost or the server restarted ({overflowed, restarted, …}).
   * onCursor(id): the cursor moved.
   */
  constructor({ onEvent, onMode = () => {}, onGap = () => {}, onCursor = () => {} }) {
    this.onEvent = onEvent;
    this.onMode = onMode;
    this.onGap = onGap;
    this.onCursor = onCursor;
    this.cursor = 0;
    this.epoch = 0; // the server's start epoch the cursor belongs to; 0 while unknown
    this.mode = '';
    this.source = null;
    this.pollTimer = 0;
    this.streamTimer = 0;
    this.pollDelay = POLL_MS;
    this.polling = false;
    this.pollInFlight = false;
    this.stopped = true;
  }

  /** start opens the stream. */
  start() {
    this.stopped = false;
    this.setMode('connecting');
    this.openStream();
  }

  /** restart drops the current connection and starts again (after a token change). */
  restart() {
    this.stop();
    this.start();
  }

  /** stop closes everything; no timer survives it. */
  stop() {
    this.stopped = true;
    this.closeStream();
    this.stopPolling();
    clearTimeout(this.streamTimer);
    this.streamTimer = 0;
  }

  setMode(mode) {
    if (mode === this.mode) return;
    this.mode = mode;
    this.onMode(mode);
  }

  streamURL() {
    const params = { topics: TOPICS.join(','), since_id: this.cursor };
    if (this.epoch) params.epoch = this.epoch;
    // EventSource cannot send headers: the token goes in the query, and only here.
    if (auth.token) params.token = auth.token;
    return `/api/events/stream${query(params)}`;
  }

  openStream() {
    if (this.stopped || this.source) return;
    clearTimeout(this.streamTimer);
    this.streamTimer = 0;
    const source = new EventSource(this.streamURL());
    this.source = source;
    const handle = (msg) => this.onStreamMessage(msg);
    for (const t of TOPICS) source.addEventListener(t, handle);
    source.addEventListener('stream.gap', (msg) => this.onStreamGap(msg));
    source.addEventListener('stream.restarted', (msg) => this.onStreamRestarted(msg));
    source.onopen = () => {
      if (this.source !== source) return;
      this.pollDelay = POLL_MS;
      this.stopPolling();
      this.setMode('live');
    };
    source.onerror = () => {
      if (this.source !== source) return;
      // The stream ended (server restart, drain, network) or could not open (401, 503):
      // poll with the cursor meanwhile, and try the stream again shortly.
      this.closeStream();
      if (this.stopped) return;
      this.startPolling();
      this.scheduleStream();
    };
  }

  closeStream() {
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  }

  scheduleStream() {
    if (this.stopped || this.streamTimer) return;
    this.streamTimer = setTimeout(() => {
      this.streamTimer = 0;
      this.openStream();
    }, STREAM_RETRY_MS);
  }

  onStreamMessage(msg) {
    let ev;
    try {
      ev = JSON.parse(msg.data);
    } catch {
      return;
    }
    const epoch = Number(String(msg.lastEventId || '').split('-')[0]);
    if (String(msg.lastEventId || '').includes('-') && Number.isSafeInteger(epoch)) this.epoch = epoch;
    this.accept(ev);
  }

  onStreamRestarted(msg) {
    let info = {};
    try {
      info = JSON.parse(msg.data) || {};
    } catch {
      // a restart without details is still a restart
    }
    this.cursor = 0; // another server epoch: its ids begin again
    if (typeof info.epoch === 'number') this.epoch = info.epoch;
    this.onGap({ ...info, restarted: true });
  }

  onStreamGap(msg) {
    let info = {};
    try {
      info = JSON.parse(msg.data) || {};
    } catch {
      // a gap without details is still a gap
    }
    if (typeof info.latest_id === 'number' && info.latest_id < this.cursor) {
      this.cursor = 0; // the server restarted: ids begin again
      info.restarted = true;
    }
    this.onGap(info);
  }

  accept(ev) {
    if (!ev || typeof ev.id !== 'number' || ev.id <= this.cursor) return;
    this.cursor = ev.id;
    this.onCursor(ev.id);
    try {
      this.onEvent(ev);
    } catch (err) {
      console.warn('event handler failed', err);
    }
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.pollDelay = POLL_MS;
    this.poll();
  }

  stopPolling() {
    this.polling = false;
    clearTimeout(this.pollTimer);
    this.pollTimer = 0;
  }

  schedulePoll(delay) {
    clearTimeout(this.pollTimer);
    if (!this.polling || this.stopped) return;
    this.pollTimer = setTimeout(() => this.poll(), delay);
  }

  async poll() {
    if (!this.polling || this.stopped || this.pollInFlight) return;
    this.pollInFlight = true;
    let next = this.pollDelay;
    try {
      const params = { since_id: this.cursor, limit: PAGE_LIMIT, topics: TOPICS.join(',') };
      if (this.epoch) params.epoch = this.epoch;
      const url = `/api/events/snapshot${query(params)}`;
      const res = await fetch(url, { headers: { Accept: 'application/json', ...authHeaders() }, cache: 'no-store' });
      if (res.status === 401) auth.unauthorized();
      if (!res.ok) throw new Error(`snapshot answered ${res.status}`);
      const page = await res.json();
      if (!this.polling) return; // the stream opened meanwhile
      if (page.restarted) {
        this.cursor = 0; // another server epoch: the page holds its events from the start
        this.onGap({ restarted: true, latest_id: page.latest_id, oldest_id: page.oldest_id });
      }
      if (typeof page.epoch === 'number' && page.epoch > 0) this.epoch = page.epoch;
      if (typeof page.latest_id === 'number' && page.latest_id < this.cursor) {
        this.cursor = 0; // the server restarted: ids begin again
        this.onGap({ restarted: true, latest_id: page.latest_id, oldest_id: page.oldest_id });
        next = 0;
      } else {
        if (page.overflowed) this.onGap({ overflowed: true, latest_id: page.latest_id, oldest_id: page.oldest_id });
        for (const ev of page.events || []) this.accept(ev);
        next = page.has_more ? 0 : POLL_MS;
      }
      this.pollDelay = POLL_MS;
      if (!this.source || this.source.readyState !== EventSource.OPEN) this.setMode('polling');
      this.scheduleStream();
    } catch {
      this.setMode('offline');
      this.pollDelay = Math.min(POLL_MAX_MS, this.pollDelay * 2);
      next = this.pollDelay;
    } finally {
      this.pollInFlight = false;
    }
    this.schedulePoll(next);
  }
}
