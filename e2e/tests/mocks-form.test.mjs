// The control tower's Mocks panel with the richer mocks in a real browser against the real
// binary, on both engines: a path_regex mock made through the form is listed with its regex
// and answers, an edit turns it back into a path_pattern mock, priority and method ANY go
// through the form, and an edit through the form keeps a mock's match criteria (the form does
// not show them: it PATCHes only what it shows). Criteria are shown as text.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, screenshot, watch } from '../lib/browser.mjs';
import { apiJSON, rawGet } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };
const REGEX = '/e2e/rx/v[0-9]+/.*';
const PATTERN = '/e2e/rx/{v:v[0-9]+}/*';
const HOSTILE = '<img src=x onerror=alert(1)>';

for (const engine of ['epoll', 'threadpool']) {
  describe(`mocks panel with regex paths, priority and criteria on ${engine}`, () => {
    let server;
    let dir;
    let browser;
    let page;
    let w;
    let rx; // the id of the mock made through the form
    let crit; // the id of the mock with criteria, made through the API

    before(async () => {
      dir = stateDir();
      server = await startServer({ engine, dir });
      browser = await launch();
      page = browser.context.pages()[0] || (await browser.context.newPage());
      w = watch(page, server.origin);
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
      if (dir) rmState(dir);
    });

    /** row is the mock list's row holding text. */
    const row = (text) => page.locator('#mock-rows tr', { hasText: text });

    it('creates a path_regex mock through the form and lists it with its regex', async () => {
      await page.goto(`${server.origin}/playground`);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      assert.equal(await page.inputValue('#mock-path-kind'), 'pattern');
      await page.selectOption('#mock-path-kind', 'regex');
      assert.equal(await page.locator('#mock-path-label').textContent(), 'Path regex');
      await page.selectOption('#mock-method', 'GET');
      await page.fill('#mock-path', REGEX);
      await page.fill('#mock-status', '200');
      await page.fill('#mock-priority', '3');
      await page.fill('#mock-body', '{"rx":true}');
      await page.click('#mock-submit');

      const r = row(REGEX);
      await r.waitFor(WAIT);
      rx = await r.getAttribute('data-id');
      assert.equal(await r.locator('td.path .path-text').textContent(), `regex ${REGEX}`);
      assert.equal(await r.locator('td.path .badge.prio').textContent(), 'priority 3');
      assert.equal(await r.locator('details.criteria').count(), 0);

      // Exactly one of the two path fields went to the server.
      const got = await apiJSON(server.origin, 'GET', `/api/mocks/${rx}`);
      assert.equal(got.status, 200);
      assert.equal(got.data.mock.path_regex, REGEX);
      assert.equal(got.data.mock.path_pattern, undefined);
      assert.equal(got.data.mock.priority, 3);
      w.assertClean();
    });

    it('answers a path the regex matches, and Try sends one from the Request Lab', async () => {
      const hit = await rawGet(server.origin, '/e2e/rx/v12/anything/below');
      assert.equal(hit.status, 200);
      assert.equal(hit.body, '{"rx":true}');
      assert.equal((await rawGet(server.origin, '/e2e/rx/vX/a')).status, 404);

      await row(REGEX).getByRole('button', { name: 'Try' }).click();
      await page.locator('#lab-status', { hasText: '200' }).waitFor(WAIT);
      await page.locator('#lab-res-body', { hasText: '"rx": true' }).waitFor(WAIT);
      assert.match(await page.inputValue('#lab-path'), /^\/e2e\/rx\/v\d+\//);
      w.assertClean();
    });

    it('shows the server error for a bad regex next to the form, naming path_regex', async () => {
      await page.selectOption('#mock-path-kind', 'regex');
      await page.fill('#mock-path', '/e2e/[oops');
      await page.click('#mock-submit');
      const err = page.locator('#mock-error');
      await err.waitFor({ state: 'visible', ...WAIT });
      assert.match(await err.textContent(), /invalid_mock/);
      assert.match(await err.textContent(), /path_regex/);
      assert.equal(await page.getAttribute('#mock-path', 'aria-invalid'), 'true');
      // An out-of-range priority is the server's to refuse too, and marks that field.
      await page.fill('#mock-path', '/e2e/ok-regex');
      await page.fill('#mock-priority', '0');
      await page.click('#mock-submit');
      await page.locator('#mock-error', { hasText: 'priority' }).waitFor(WAIT);
      assert.equal(await page.getAttribute('#mock-priority', 'aria-invalid'), 'true');
      assert.equal(await page.getAttribute('#mock-path', 'aria-invalid'), null);
      assert.equal(await row('/e2e/ok-regex').count(), 0);
      w.assertClean();
    });

    it('edits the regex mock back to a path pattern, with method ANY and the default priority', async () => {
      await row(REGEX).getByRole('button', { name: 'Edit' }).click();
      // The form is filled in regex mode.
      assert.equal(await page.inputValue('#mock-path-kind'), 'regex');
      assert.equal(await page.inputValue('#mock-path'), REGEX);
      assert.equal(await page.inputValue('#mock-priority'), '3');
      assert.equal(await page.locator('#mock-submit').textContent(), 'Save changes');

      await page.selectOption('#mock-path-kind', 'pattern');
      assert.equal(await page.locator('#mock-path-label').textContent(), 'Path pattern');
      await page.fill('#mock-path', PATTERN);
      await page.selectOption('#mock-method', 'ANY');
      await page.fill('#mock-priority', '');
      await page.click('#mock-submit');
      await page.locator('#mock-submit', { hasText: 'Create mock' }).waitFor(WAIT);

      const r = page.locator(`#mock-rows tr[data-id="${rx}"]`);
      await r.locator('td.path', { hasText: PATTERN }).waitFor(WAIT);
      assert.equal((await r.locator('td.path .path-text').textContent()).trim(), PATTERN);
      assert.equal(await r.locator('td.path .badge').count(), 0); // no priority badge: the default
      assert.equal(await r.locator('td.path details.body-view summary').textContent(), '{"rx":true}'); // the body, kept
      assert.equal(await r.locator('td.m').textContent(), 'ANY');
      assert.equal(await row(REGEX).count(), 0);

      const got = await apiJSON(server.origin, 'GET', `/api/mocks/${rx}`);
      assert.equal(got.data.mock.path_pattern, PATTERN);
      assert.equal(got.data.mock.path_regex, undefined);
      assert.equal(got.data.mock.method, 'ANY');
      assert.equal(got.data.mock.priority ?? 5, 5);

      const hit = await rawGet(server.origin, '/e2e/rx/v3/deep/er');
      assert.equal(hit.status, 200);
      assert.equal(hit.body, '{"rx":true}');
      const posted = await apiJSON(server.origin, 'POST', '/e2e/rx/v3/x', {});
      assert.equal(posted.status, 200); // ANY answers every method
      w.assertClean();
    });

    it('keeps a mock\'s match criteria when the form edits it, and shows them as text', async () => {
      const match = { query: { q: '1' }, headers: { 'X-E2e': { equals: HOSTILE } } };
      const made = await apiJSON(server.origin, 'POST', '/api/mocks', {
        method: 'GET',
        path_pattern: '/e2e/crit',
        body: 'crit',
        priority: 7,
        match,
      });
      assert.equal(made.status, 201);
      crit = made.data.mock.id;

      await page.click('#mocks-refresh');
      const r = page.locator(`#mock-rows tr[data-id="${crit}"]`);
      await r.waitFor(WAIT);
      await r.locator('.badge', { hasText: 'priority 7' }).waitFor(WAIT);
      const details = r.locator('details.criteria');
      assert.equal(await details.count(), 1);
      assert.equal(await details.locator('summary').getAttribute('title'), JSON.stringify(made.data.mock.match));
      await details.locator('summary').click();
      await details.locator('pre', { hasText: HOSTILE }).waitFor({ state: 'visible', ...WAIT });
      assert.deepEqual(JSON.parse(await details.locator('pre').textContent()), made.data.mock.match);
      assert.equal(await page.locator('#mocks-panel img').count(), 0);

      await r.getByRole('button', { name: 'Edit' }).click();
      assert.equal(await page.inputValue('#mock-path-kind'), 'pattern');
      assert.equal(await page.inputValue('#mock-path'), '/e2e/crit');
      assert.equal(await page.inputValue('#mock-priority'), '7');
      await page.locator('#mock-keep-note').waitFor({ state: 'visible', ...WAIT });
      await page.fill('#mock-status', '202');
      await page.click('#mock-submit');
      await page.locator('#mock-submit', { hasText: 'Create mock' }).waitFor(WAIT);
      await r.locator('td', { hasText: '202' }).waitFor(WAIT);
      assert.equal(await page.locator('#mock-keep-note').isHidden(), true);

      const got = await apiJSON(server.origin, 'GET', `/api/mocks/${crit}`);
      assert.equal(got.status, 200);
      assert.equal(got.data.mock.status, 202);
      assert.deepEqual(got.data.mock.match, made.data.mock.match);
      assert.equal(got.data.mock.priority, 7);
      assert.equal(got.data.mock.path_pattern, '/e2e/crit');

      // Still matching on its criteria: one request meets them, one does not.
      const ok = await rawGet(server.origin, '/e2e/crit?q=1', { 'X-E2e': HOSTILE });
      assert.equal(ok.status, 202);
      assert.equal(ok.body, 'crit');
      assert.equal((await rawGet(server.origin, '/e2e/crit?q=2', { 'X-E2e': HOSTILE })).status, 404);
      assert.equal(await page.locator('body img').count(), 0);
      w.assertClean();
      await page.locator('#mocks-panel').scrollIntoViewIfNeeded();
      await screenshot(page, `mocks-${engine}`);
    });
  });
}
