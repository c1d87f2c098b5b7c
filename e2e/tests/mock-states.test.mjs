// Sequences and state machines (issue #15) in the control tower, in a real browser against the
// real binary, on both engines: a sequence mock's position and after_last in the Mocks list,
// moving live as requests use it up; a stateful trio's badges and the State machines section
// following the machine as requests move it; setting and resetting the machine from the
// section (and following a change made through the API); JSON, binary and hostile bodies and a
// hostile state name shown as text; and edits through the form that send only what changed,
// never turning a sequence into a plain mock nor a JSON or binary body into text.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, screenshot, watch } from '../lib/browser.mjs';
import { apiJSON, rawGet } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };
const HOSTILE = '<img src=x onerror=alert(1)>';

const STARTED_BODY = { cart: 'started' };
const FULL_BODY = { cart: 'full', items: ['apple'] };

for (const engine of ['epoll', 'threadpool']) {
  describe(`sequences and state machines in the tower on ${engine}`, () => {
    let server;
    let dir;
    let browser;
    let page;
    let w;
    let patches; // the bodies of the PATCH requests the page sent
    const ids = {}; // mock ids by role

    before(async () => {
      dir = stateDir();
      server = await startServer({ engine, dir });
      browser = await launch({ width: 1400, height: 1000 });
      page = browser.context.pages()[0] || (await browser.context.newPage());
      w = watch(page, server.origin);
      patches = [];
      page.on('request', (r) => {
        if (r.method() === 'PATCH') patches.push({ url: r.url(), body: JSON.parse(r.postData() || 'null') });
      });
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
      if (dir) rmState(dir);
    });

    /** mockRow is the mock list's row of a mock, by id. */
    const mockRow = (id) => page.locator(`#mock-rows tr[data-id="${id}"]`);
    /** machine is the State machines row of a machine, by name. */
    const machine = (name) => page.locator(`#states-rows tr[data-name="${name}"]`);

    /** create makes a mock through the API and returns its id. */
    async function create(mock) {
      const res = await apiJSON(server.origin, 'POST', '/api/mocks', mock);
      assert.equal(res.status, 201, JSON.stringify(res.data));
      return res.data.mock.id;
    }

    /** mockJSON reads a mock through the API. */
    async function mockJSON(id) {
      const res = await apiJSON(server.origin, 'GET', `/api/mocks/${id}`);
      assert.equal(res.status, 200);
      return res.data.mock;
    }

    /** noObjectText fails when the mocks panel shows a value JavaScript turned into text. */
    async function noObjectText() {
      const text = await page.locator('#mocks-panel').textContent();
      assert.ok(!text.includes('[object Object]'), 'the mocks panel shows [object Object]');
      assert.ok(!text.includes('undefined'), 'the mocks panel shows undefined');
    }

    it('lists a sequence mock with its position, after_last and responses, moving live', async () => {
      await page.goto(`${server.origin}/playground`);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      await page.locator('#states-empty').waitFor({ state: 'visible', ...WAIT });

      ids.seq = await create({
        method: 'POST',
        path_pattern: '/e2e/jobs',
        after_last: 'not_found',
        responses: [
          { status: 202, body: { state: 'queued' } },
          { status: 200, body: { state: 'done', note: HOSTILE } },
        ],
      });
      // No click: the POST /api/mocks event refreshes the list.
      const r = mockRow(ids.seq);
      await r.waitFor(WAIT);
      assert.equal(await r.getAttribute('data-kind'), 'sequence');
      const badge = r.locator('summary.badge.seq');
      assert.equal(await badge.textContent(), 'sequence 0/2');
      assert.equal(await r.locator('.badge.after-last').textContent(), 'after last: not_found');
      assert.equal(await r.locator('td.mock-status').textContent(), '202 → 200');
      assert.equal(await r.locator('details.body-view').count(), 0); // a sequence shows its responses instead

      // The responses unfold, each body as formatted JSON text; the hostile value stays text.
      await badge.click();
      const bodies = r.locator('ol.responses pre.body');
      await bodies.first().waitFor({ state: 'visible', ...WAIT });
      assert.equal(await bodies.nth(0).textContent(), JSON.stringify({ state: 'queued' }, null, 2));
      assert.deepEqual(JSON.parse(await bodies.nth(1).textContent()), { state: 'done', note: HOSTILE });
      assert.equal(await r.locator('ol.responses li.next').getAttribute('data-index'), '0');

      // Each request moves it; the list follows without a click.
      const first = await apiJSON(server.origin, 'POST', '/e2e/jobs');
      assert.equal(first.status, 202);
      assert.deepEqual(first.data, { state: 'queued' });
      await r.locator('summary.badge.seq', { hasText: 'sequence 1/2' }).waitFor(WAIT);
      assert.equal(await r.locator('ol.responses li.next').getAttribute('data-index'), '1');
      assert.equal(await r.locator('ol.responses').isVisible(), true); // still unfolded after the refresh

      assert.equal((await apiJSON(server.origin, 'POST', '/e2e/jobs')).status, 200);
      await r.locator('summary.badge.seq', { hasText: 'sequence used up' }).waitFor(WAIT);
      const gone = await apiJSON(server.origin, 'POST', '/e2e/jobs');
      assert.equal(gone.status, 404);
      assert.equal(gone.data.error.code, 'sequence_exhausted');
      const view = await mockJSON(ids.seq);
      assert.equal(view.sequence.position, -1);
      await noObjectText();
      assert.equal(await page.locator('body img').count(), 0);
      w.assertClean();
    });

    it('shows a stateful trio\'s state badges and the machine in State machines, live', async () => {
      ids.getStarted = await create({ method: 'GET', path_pattern: '/cart', body: STARTED_BODY, state: { name: 'cart', requires: 'started' } });
      ids.post = await create({ method: 'POST', path_pattern: '/cart', status: 201, state: { name: 'cart', sets: 'full' } });
      ids.getFull = await create({ method: 'GET', path_pattern: '/cart', body: FULL_BODY, state: { name: 'cart', requires: 'full' } });

      const m = machine('cart');
      await m.waitFor(WAIT);
      await m.locator('.state-now', { hasText: /^started$/ }).waitFor(WAIT);
      await m.locator('td.num', { hasText: /^3$/ }).waitFor(WAIT);
      assert.equal(await page.locator('#states-empty').isHidden(), true);
      await mockRow(ids.getFull).locator('.badge.state', { hasText: 'state cart: requires full (now: started)' }).waitFor(WAIT);
      assert.match(await mockRow(ids.getFull).locator('.badge.state').getAttribute('class'), /\bwaiting\b/);

      const a = await rawGet(server.origin, '/cart');
      assert.equal(a.status, 200);
      assert.deepEqual(JSON.parse(a.body), STARTED_BODY);
      assert.equal((await apiJSON(server.origin, 'POST', '/cart')).status, 201);
      const b = await rawGet(server.origin, '/cart');
      assert.deepEqual(JSON.parse(b.body), FULL_BODY);

      // The requests moved the machine: the section and the badges follow without a click.
      await m.locator('.state-now', { hasText: /^full$/ }).waitFor(WAIT);
      const full = mockRow(ids.getFull).locator('.badge.state');
      await full.filter({ hasText: 'state cart: requires full (now: full)' }).waitFor(WAIT);
      assert.match(await full.getAttribute('class'), /\bready\b/);
      assert.equal(await mockRow(ids.post).locator('.badge.state').textContent(), 'state cart: sets full (now: full)');
      assert.equal(await mockRow(ids.getStarted).locator('.badge.state').textContent(), 'state cart: requires started (now: full)');

      // A JSON body is shown as formatted JSON, never as [object Object].
      const body = mockRow(ids.getFull).locator('details.body-view');
      assert.equal(await body.locator('summary').textContent(), JSON.stringify(FULL_BODY));
      assert.equal(await body.locator('pre').textContent(), JSON.stringify(FULL_BODY, null, 2));
      await noObjectText();
      w.assertClean();
    });

    it('sets and resets the machine from the State machines section', async () => {
      const m = machine('cart');
      await m.locator('input.state-input').fill('started');
      await m.getByRole('button', { name: 'Set', exact: true }).click();
      await m.locator('.state-now', { hasText: /^started$/ }).waitFor(WAIT);
      assert.equal(await m.locator('input.state-input').inputValue(), '');
      assert.equal((await apiJSON(server.origin, 'GET', '/api/mock-states/cart')).data.mock_state.state, 'started');
      const a = await rawGet(server.origin, '/cart');
      assert.equal(a.status, 200);
      assert.deepEqual(JSON.parse(a.body), STARTED_BODY);
      await mockRow(ids.getStarted).locator('.badge.state', { hasText: '(now: started)' }).waitFor(WAIT);

      // A change made elsewhere (the API) arrives as mock_state.changed: no click.
      const put = await apiJSON(server.origin, 'PUT', '/api/mock-states/cart', { state: 'full' });
      assert.equal(put.status, 200);
      await m.locator('.state-now', { hasText: /^full$/ }).waitFor(WAIT);
      await mockRow(ids.getFull).locator('.badge.state', { hasText: '(now: full)' }).waitFor(WAIT);

      await m.getByRole('button', { name: 'Reset' }).click();
      await m.locator('.state-now', { hasText: /^started$/ }).waitFor(WAIT);
      assert.equal((await apiJSON(server.origin, 'GET', '/api/mock-states/cart')).data.mock_state.state, 'started');
      assert.deepEqual(JSON.parse((await rawGet(server.origin, '/cart')).body), STARTED_BODY);
      assert.equal(await page.locator('#states-error').isHidden(), true);
      w.assertClean();
    });

    it('shows hostile values, binary bodies and templates as text, and refuses a hostile state', async () => {
      const m = machine('cart');
      await m.locator('input.state-input').fill(HOSTILE);
      await m.getByRole('button', { name: 'Set', exact: true }).click();
      const err = page.locator('#states-error');
      await err.waitFor({ state: 'visible', ...WAIT });
      assert.match(await err.textContent(), /invalid_mock_state/);
      assert.equal(await m.locator('input.state-input').getAttribute('aria-invalid'), 'true');
      assert.equal(await m.locator('.state-now').textContent(), 'started');
      assert.equal((await apiJSON(server.origin, 'GET', '/api/mock-states/cart')).data.mock_state.state, 'started');

      const hostileBody = { html: HOSTILE, list: [1, 2] };
      ids.hostile = await create({ method: 'GET', path_pattern: '/e2e/hostile', body: hostileBody });
      const bytes = Buffer.concat([Buffer.from(HOSTILE), Buffer.from([0, 255, 1])]);
      ids.bin = await create({ method: 'GET', path_pattern: '/e2e/bin', body_base64: bytes.toString('base64'), content_type: 'application/octet-stream' });
      ids.tmpl = await create({ method: 'GET', path_pattern: '/e2e/tmpl', template: true, body: `hi {{request.path}} ${HOSTILE}` });

      const h = mockRow(ids.hostile);
      await h.waitFor(WAIT);
      const details = h.locator('details.body-view');
      assert.equal(await details.locator('summary').textContent(), JSON.stringify(hostileBody));
      await details.locator('summary').click();
      await details.locator('pre', { hasText: HOSTILE }).waitFor({ state: 'visible', ...WAIT });
      assert.deepEqual(JSON.parse(await details.locator('pre').textContent()), hostileBody);

      const b = mockRow(ids.bin);
      await b.waitFor(WAIT);
      assert.equal(await b.locator('.body-binary').textContent(), `binary, ${bytes.length} bytes`);
      assert.equal(await b.locator('details.body-view').count(), 0);
      assert.ok(!(await b.textContent()).includes(HOSTILE), 'a binary body is not shown as text');

      const t = mockRow(ids.tmpl);
      await t.waitFor(WAIT);
      assert.equal(await t.locator('.badge.template').textContent(), 'template');
      assert.equal(await t.locator('details.body-view summary').textContent(), `hi {{request.path}} ${HOSTILE}`);

      assert.equal(await page.locator('body img').count(), 0);
      await noObjectText();
      w.assertClean();
    });

    it('edits a sequence through the form without touching its responses', async () => {
      patches.length = 0;
      await mockRow(ids.seq).getByRole('button', { name: 'Edit' }).click();
      const note = page.locator('#mock-seq-note');
      await note.waitFor({ state: 'visible', ...WAIT });
      assert.match(await note.textContent(), /responses are edited through the API or mock files/);
      for (const id of ['#mock-status', '#mock-ctype', '#mock-headers', '#mock-body']) {
        assert.equal(await page.locator(id).isDisabled(), true, `${id} is disabled for a sequence`);
      }
      await page.fill('#mock-priority', '4');
      await page.click('#mock-submit');
      await page.locator('#mock-submit', { hasText: 'Create mock' }).waitFor(WAIT);
      await mockRow(ids.seq).locator('.badge.prio', { hasText: 'priority 4' }).waitFor(WAIT);
      assert.deepEqual(patches.map((p) => p.body), [{ priority: 4 }]);

      const got = await mockJSON(ids.seq);
      assert.equal(got.responses.length, 2);
      assert.deepEqual(got.responses[0].body, { state: 'queued' });
      assert.equal(got.after_last, 'not_found');
      assert.equal(got.status, undefined);
      assert.equal(got.body, undefined);
      assert.equal(got.priority, 4);
      // The form is back to creating, its answer inputs as they were.
      assert.equal(await note.isHidden(), true);
      assert.equal(await page.locator('#mock-status').isDisabled(), false);
      assert.equal(await page.inputValue('#mock-status'), '200');
      w.assertClean();
    });

    it('edits JSON, binary, stateful and templated mocks sending only what changed', async () => {
      // A JSON body is filled formatted; changing the status alone keeps it a JSON value.
      patches.length = 0;
      await mockRow(ids.getFull).getByRole('button', { name: 'Edit' }).click();
      assert.equal(await page.inputValue('#mock-body'), JSON.stringify(FULL_BODY, null, 2));
      await page.locator('#mock-keep-note', { hasText: 'state (machine cart)' }).waitFor({ state: 'visible', ...WAIT });
      await page.fill('#mock-status', '203');
      await page.click('#mock-submit');
      await page.locator('#mock-submit', { hasText: 'Create mock' }).waitFor(WAIT);
      await mockRow(ids.getFull).locator('td.mock-status', { hasText: '203' }).waitFor(WAIT);
      assert.deepEqual(patches.map((p) => p.body), [{ status: 203 }]);
      let got = await mockJSON(ids.getFull);
      assert.deepEqual(got.body, FULL_BODY);
      assert.deepEqual({ name: got.state.name, requires: got.state.requires }, { name: 'cart', requires: 'full' });

      // An edited body that is still JSON stays a JSON value.
      patches.length = 0;
      await mockRow(ids.getFull).getByRole('button', { name: 'Edit' }).click();
      await page.fill('#mock-body', '{"cart":"full","items":["pear"]}');
      await page.click('#mock-submit');
      await page.locator('#mock-submit', { hasText: 'Create mock' }).waitFor(WAIT);
      assert.deepEqual(patches.map((p) => p.body), [{ body: { cart: 'full', items: ['pear'] } }]);
      got = await mockJSON(ids.getFull);
      assert.deepEqual(got.body, { cart: 'full', items: ['pear'] });
      await mockRow(ids.getFull).locator('details.body-view summary', { hasText: 'pear' }).waitFor(WAIT);

      // A binary body is not put in the form; it stays binary.
      patches.length = 0;
      const before = await mockJSON(ids.bin);
      await mockRow(ids.bin).getByRole('button', { name: 'Edit' }).click();
      assert.equal(await page.inputValue('#mock-body'), '');
      assert.match(await page.getAttribute('#mock-body', 'placeholder'), /binary, \d+ bytes/);
      await page.locator('#mock-body-note').waitFor({ state: 'visible', ...WAIT });
      await page.fill('#mock-status', '203');
      await page.click('#mock-submit');
      await page.locator('#mock-submit', { hasText: 'Create mock' }).waitFor(WAIT);
      assert.deepEqual(patches.map((p) => p.body), [{ status: 203 }]);
      got = await mockJSON(ids.bin);
      assert.equal(got.body_base64, before.body_base64);
      assert.equal(got.body, undefined);
      assert.equal(await page.getAttribute('#mock-body', 'placeholder'), '');

      // A templated mock keeps its template flag; a request still gets the binary body.
      patches.length = 0;
      await mockRow(ids.tmpl).getByRole('button', { name: 'Edit' }).click();
      await page.locator('#mock-keep-note', { hasText: 'template' }).waitFor({ state: 'visible', ...WAIT });
      await page.fill('#mock-ctype', 'text/plain');
      await page.click('#mock-submit');
      await page.locator('#mock-submit', { hasText: 'Create mock' }).waitFor(WAIT);
      assert.deepEqual(patches.map((p) => p.body), [{ content_type: 'text/plain' }]);
      got = await mockJSON(ids.tmpl);
      assert.equal(got.template, true);
      assert.equal(got.content_type, 'text/plain');
      assert.equal(got.body, `hi {{request.path}} ${HOSTILE}`);

      // Every PATCH went to the mock it edited.
      const bin = await rawGet(server.origin, '/e2e/bin');
      assert.equal(bin.status, 203);
      await noObjectText();
      assert.equal(await page.locator('body img').count(), 0);
      w.assertClean();
      await page.locator('#mocks-panel').scrollIntoViewIfNeeded();
      await screenshot(page, `mock-states-${engine}`);
    });

    it('drops a machine from State machines when no mock names it any more', async () => {
      for (const id of [ids.getStarted, ids.post, ids.getFull]) {
        assert.equal((await apiJSON(server.origin, 'DELETE', `/api/mocks/${id}`)).status, 200);
      }
      await machine('cart').waitFor({ state: 'detached', ...WAIT });
      await page.locator('#states-empty').waitFor({ state: 'visible', ...WAIT });
      w.assertClean();
    });
  });
}
