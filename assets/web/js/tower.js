// The control tower (/playground): wires the live feed, the health strip and chart, and the
// panels together. Every module builds its DOM with dom.js; nothing is parsed as HTML.

import { auth } from './api.js';
import { LatencyChart } from './chart.js';
import { $ } from './dom.js';
import { LiveFeed } from './live.js';
import { Health } from './panels/health.js';
import { History } from './panels/history.js';
import { Import } from './panels/import.js';
import { isConsoleRead, LiveLists } from './panels/live-lists.js';
import { MockStates } from './panels/mock-states.js';
import { Mocks } from './panels/mocks.js';
import { RequestLab } from './panels/request-lab.js';
import { Scenarios } from './panels/scenarios.js';
import { Targets } from './panels/targets.js';
import { Unmatched } from './panels/unmatched.js';

const MODE_LABELS = { connecting: 'connecting', live: 'live', polling: 'polling', offline: 'offline' };

function boot() {
  const chart = new LatencyChart($('chart'));
  const health = new Health(chart);
  const lists = new LiveLists();
  const lab = new RequestLab();
  const mocks = new Mocks({ onTry: (method, path) => lab.fill(method, path) });
  const states = new MockStates({ onChange: () => mocks.refreshSoon() }); // the list shows each mock's machine state
  const targets = new Targets({
    onChange: (list) => {
      lab.setTargets(list);
      lists.setTargets(list);
    },
  });
  const history = new History({ onMockCreated: () => mocks.refreshSoon() });
  new Import({ onImported: () => mocks.refreshSoon() }); // the dialog opens from the History panel
  const unmatched = new Unmatched();
  const scenarios = new Scenarios({ onChange: (list) => lists.setScenarios(list) });

  const conn = $('conn');
  const feed = new LiveFeed({
    onEvent: (ev) => {
      lists.add(ev);
      follow(ev);
    },
    onMode: (mode) => {
      conn.dataset.mode = mode;
      $('conn-label').textContent = MODE_LABELS[mode] || mode;
      conn.title = mode === 'live' ? 'Live: events stream from /api/events/stream' : mode === 'polling' ? 'The stream is down: polling /api/events/snapshot' : mode === 'offline' ? 'The server does not answer' : '';
    },
    onGap: (info) => lists.gap(info),
    onCursor: (id) => health.cursor(id),
  });

  // follow keeps the lists current when anyone (this page, curl, a scenario) changes them.
  function follow(ev) {
    if (ev.type === 'system.reset') {
      mocks.refreshSoon();
      states.refreshSoon();
      history.refreshSoon();
      unmatched.refreshSoon();
      return;
    }
    if (ev.type === 'mock_state.changed') {
      // set or reset through the API (here or elsewhere): the machines, and the mocks' "now"
      states.refreshSoon();
      mocks.refreshSoon();
      return;
    }
    if (ev.type !== 'request.completed') return;
    const p = ev.payload || {};
    const method = String(p.method ?? '');
    const path = String(p.path ?? '');
    const status = Number(p.status) || 0;
    if (!isConsoleRead(method, path)) history.refreshSoon();
    if (isUnmatched(p, path)) unmatched.refreshSoon();
    // A sequence or stateful mock answered: its position, or its machine's state, moved.
    const moved = mocks.moves(p.route_key);
    if (moved) {
      mocks.refreshSoon();
      if (moved.state) states.refreshSoon();
    }
    if (method === 'GET' || method === 'HEAD' || status >= 400) return;
    if (path.startsWith('/api/mocks')) {
      mocks.refreshSoon();
      states.refreshSoon(); // a machine lives as long as a mock names it
      unmatched.refreshSoon(); // near misses are worked out against the mocks as they are now
    } else if (path.startsWith('/api/history')) {
      unmatched.refreshSoon(); // history cleared: the unmatched requests went with it
    } else if (path.startsWith('/api/targets')) {
      targets.refreshSoon();
    } else if (path.startsWith('/api/scenarios') && !path.endsWith('/run')) {
      scenarios.refreshSoon();
    }
  }

  function loadAll() {
    mocks.refresh();
    states.refresh();
    targets.refresh();
    history.refresh();
    unmatched.refresh();
    scenarios.refresh();
  }

  tokenBar(() => {
    loadAll();
    feed.restart();
  });
  health.start();
  loadAll();
  feed.start();
}

/** isUnmatched reports a request.completed payload for a request no route and no mock
 * answered: the server's 404 route outside /api/ (the journal's "unmatched"). */
function isUnmatched(p, path) {
  if (path.startsWith('/api/')) return false;
  if (typeof p.route_key === 'string') return p.route_key === '404';
  return Number(p.status) === 404;
}

/** tokenBar shows the token form when an API answers 401 (or on demand) and calls
 * onChange after the token is saved or forgotten. */
function tokenBar(onChange) {
  const bar = $('token-bar');
  const toggle = $('token-toggle');
  const input = $('token-input');
  const show = (open) => {
    bar.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
  };
  let asked = false;
  auth.onUnauthorized(() => {
    if (!asked || bar.hidden) {
      asked = true;
      $('token-why').textContent = auth.token ? 'The server refused this token. Paste the right one:' : 'This server asks for a token on its APIs.';
      show(true);
      input.focus();
    }
  });
  toggle.addEventListener('click', () => {
    show(bar.hidden);
    if (!bar.hidden) input.focus();
  });
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    auth.token = input.value.trim();
    input.value = '';
    asked = false;
    show(false);
    onChange();
  });
  $('token-clear').addEventListener('click', () => {
    auth.token = '';
    input.value = '';
    show(false);
    onChange();
  });
}

boot();
