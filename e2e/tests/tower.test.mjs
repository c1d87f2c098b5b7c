// The control tower in a real browser against the real binary, on both engines.
//
// Waits are bounded (Playwright's waitFor with a timeout); nothing asserts how long anything
// took. Every test ends with assertClean: no uncaught error, no CSP violation, no dialog and
// no request outside the server's origin.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, screenshot, watch } from '../lib/browser.mjs';
import { apiJSON, rawGet } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

for (const engine of ['epoll', 'threadpool']) {
  describe(`control tower on ${engine}`, () => {
    let server;
    let dir;
    let browser;
    let page;
    let w;

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

    it('loads with its security headers, goes live and shows the engine', async () => {
      const res = await page.goto(`${server.origin}/playground`);
      assert.equal(res.status(), 200);
      const h = res.headers();
      assert.equal(h['content-security-policy'], CSP);
      assert.equal(h['x-content-type-options'], 'nosniff');
      assert.equal(h['referrer-policy'], 'no-referrer');
      assert.match(h['content-type'], /^text\/html/);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      await page.locator('#h-engine', { hasText: engine }).waitFor(WAIT);
      assert.equal(await page.locator('#conn-label').textContent(), 'live');
      w.assertClean();
    });

    it('creates a mock from the form, lists it, and shows a request to it live', async () => {
      await page.fill('#mock-path', '/e2e/hello');
      await page.fill('#mock-status', '201');
      await page.fill('#mock-body', '{"hello":"e2e"}');
      await page.click('#mock-submit');
      await page.locator('#mock-rows tr', { hasText: '/e2e/hello' }).waitFor(WAIT);

      const res = await rawGet(server.origin, '/e2e/hello');
      assert.equal(res.status, 201);
      assert.equal(res.body, '{"hello":"e2e"}');
      const row = page.locator('#live-rows tr', { hasText: '/e2e/hello' }).filter({ hasText: '201' });
      await row.first().waitFor(WAIT);
      w.assertClean();
    });

    it('shows the server validation error next to the mock form', async () => {
      await page.fill('#mock-path', 'no-slash');
      await page.click('#mock-submit');
      const err = page.locator('#mock-error');
      await err.waitFor({ state: 'visible', ...WAIT });
      assert.match(await err.textContent(), /invalid_mock/);
      assert.match(await err.textContent(), /path_pattern/);
      assert.equal(await page.getAttribute('#mock-path', 'aria-invalid'), 'true');
      w.assertClean();
    });

    it('shows hostile paths as text, never as markup', async () => {
      const raw = '/e2e/<img/src=x/onerror=alert(1)>';
      const encoded = '/e2e/%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E';
      assert.equal((await rawGet(server.origin, raw)).status, 404);
      assert.equal((await rawGet(server.origin, encoded)).status, 404);
      await page.locator('#live-rows tr', { hasText: '<img/src=x/onerror=alert(1)>' }).waitFor(WAIT);
      await page.locator('#live-rows tr', { hasText: '%3Cimg%20src%3Dx' }).waitFor(WAIT);
      // A mock whose path is markup, listed by the mock manager.
      const made = await apiJSON(server.origin, 'POST', '/api/mocks', { method: 'GET', path_pattern: '/e2e/<b>bold</b>', body: 'x' });
      assert.equal(made.status, 201);
      await page.locator('#mock-rows tr', { hasText: '/e2e/<b>bold</b>' }).waitFor(WAIT);

      assert.equal(await page.locator('#live-rows img').count(), 0);
      assert.equal(await page.locator('body img').count(), 0);
      assert.equal(await page.locator('#mock-rows b').count(), 0);
      w.assertClean(); // includes: no dialog opened
    });

    it('sends a request from the Request Lab and shows the answer', async () => {
      await page.selectOption('#lab-method', 'GET');
      await page.fill('#lab-path', '/e2e/hello');
      await page.click('#lab-send');
      await page.locator('#lab-status', { hasText: '201' }).waitFor(WAIT);
      await page.locator('#lab-res-body', { hasText: '"hello": "e2e"' }).waitFor(WAIT);
      w.assertClean();
    });

    it('runs a pasted scenario and shows its steps in the timeline with pass and fail', async () => {
      const scenario = {
        name: `e2e ${engine}`,
        defaults: { stop_on_fail: false },
        steps: [
          { id: 'home', method: 'GET', path: '/', expect: { status: 200, body_contains: ['Hello World'] } },
          { id: 'mock', method: 'GET', path: '/e2e/hello', expect: { status: 201, body_contains: ['e2e'] } },
          { id: 'hostile', method: 'GET', path: '/', expect: { status: 200, body_contains: ['<img src=x onerror=alert(3)>'] } },
        ],
      };
      await page.fill('#scenario-json', JSON.stringify(scenario, null, 2));
      await page.click('#scenario-form button[type="submit"]');
      const row = page.locator('#scenario-rows tr', { hasText: scenario.name });
      await row.waitFor(WAIT);
      await row.locator('input.seed').fill('7');
      await row.getByRole('button', { name: 'Run' }).click();

      const tl = page.locator('#timeline');
      await tl.locator('li[data-type="scenario.run.started"]').first().waitFor(WAIT);
      await tl.locator('li[data-type="scenario.step.completed"][data-status="pass"]', { hasText: 'home' }).waitFor(WAIT);
      await tl.locator('li[data-type="scenario.step.completed"][data-status="pass"]', { hasText: 'mock' }).waitFor(WAIT);
      const failed = tl.locator('li[data-type="scenario.step.completed"][data-status="fail"]', { hasText: 'hostile' });
      await failed.waitFor(WAIT);
      assert.match(await failed.locator('.why').textContent(), /<img src=x onerror=alert\(3\)>/);
      await tl.locator('li[data-type="scenario.run.completed"][data-status="fail"]').waitFor(WAIT);

      // The report: per-step assertions and chaos.
      const report = page.locator('#report');
      await report.locator('.step[data-step="hostile"][data-status="fail"]').waitFor(WAIT);
      assert.equal(await report.locator('.step[data-status="pass"]').count(), 2);
      assert.ok((await report.locator('.step[data-step="home"] table.assertions tr').count()) >= 2);
      await report.locator('.step[data-step="home"]', { hasText: 'no chaos' }).waitFor(WAIT);
      assert.equal(await page.locator('body img').count(), 0);
      w.assertClean();
    });

    it('adds a target, proxies to it from the Request Lab and shows the proxy activity', async () => {
      await page.fill('#target-name', 'self');
      await page.fill('#target-url', server.origin); // loopback targets are allowed on a loopback host
      await page.click('#target-form button[type="submit"]');
      await page.locator('#target-rows tr', { hasText: 'self' }).waitFor(WAIT);
      await page.selectOption('#lab-target', { label: `self (${server.origin})` });
      await page.fill('#lab-path', '/e2e/hello');
      await page.click('#lab-send');
      await page.locator('#lab-status', { hasText: '201' }).waitFor(WAIT);
      await page.locator('#lab-meta', { hasText: 'upstream' }).waitFor(WAIT);
      await page.locator('#proxy-rows tr', { hasText: '/e2e/hello' }).filter({ hasText: 'self' }).waitFor(WAIT);
      // Deleting it empties the list and the Request Lab falls back to local.
      await page.locator('#target-rows tr', { hasText: 'self' }).getByRole('button', { name: 'Delete' }).click();
      await page.locator('#target-empty').waitFor({ state: 'visible', ...WAIT });
      assert.equal(await page.inputValue('#lab-target'), 'local');
      w.assertClean();
    });

    it('replays a request from History', async () => {
      await page.click('#history-refresh');
      const row = page.locator('#history-rows tr', { hasText: '/e2e/hello' }).first();
      await row.waitFor(WAIT);
      await row.getByRole('button', { name: 'Replay' }).click();
      await page.locator('#replay-status', { hasText: '201' }).waitFor(WAIT);
      await page.locator('#replay-body', { hasText: 'e2e' }).waitFor(WAIT);
      w.assertClean();
      // Artifacts: the control tower after the tests above, as a user sees it and in full.
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshot(page, `tower-${engine}`);
      await screenshot(page, `tower-${engine}-full`, true);
    });

    it('keeps updating after the server drops the stream (restart on the same port)', async () => {
      await server.stop();
      // The stream ended: the page leaves live mode (polling, then offline).
      await page.locator('#conn:not([data-mode="live"])').waitFor(WAIT);
      server = await startServer({ engine, dir, port: server.port });
      assert.equal((await rawGet(server.origin, '/e2e/hello')).status, 201); // the mock came back from the state file
      assert.equal((await rawGet(server.origin, '/e2e/after-restart')).status, 404);
      // The page noticed the restart (event ids begin again) and shows the new requests.
      await page.locator('#live-rows tr.gap').first().waitFor(WAIT);
      await page.locator('#live-rows tr', { hasText: '/e2e/after-restart' }).waitFor(WAIT);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      // Still live after reconnecting: one more request shows up.
      await rawGet(server.origin, '/e2e/after-reconnect');
      await page.locator('#live-rows tr', { hasText: '/e2e/after-reconnect' }).waitFor(WAIT);
      // No uncaught error or CSP violation; refused connections while the server was down
      // are logged by the browser as network errors, which is expected.
      assert.deepEqual(w.errors, []);
      assert.deepEqual(w.csp, []);
      assert.deepEqual(w.dialogs, []);
      assert.deepEqual(w.outside, []);
    });
  });
}
