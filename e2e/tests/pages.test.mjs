// The dashboard, the control tower on a narrow window, and the token guard, in a real
// browser against the real binary on both engines.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, screenshot, watch } from '../lib/browser.mjs';
import { apiJSON } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };
const TOKEN = 'e2e-secret-token';

for (const engine of ['epoll', 'threadpool']) {
  describe(`pages on ${engine}`, () => {
    let server;
    let dir;
    let browser;

    before(async () => {
      dir = stateDir();
      server = await startServer({ engine, dir });
      browser = await launch();
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
      if (dir) rmState(dir);
    });

    it('the dashboard shows live metrics', async () => {
      const page = await browser.context.newPage();
      const w = watch(page, server.origin);
      const res = await page.goto(`${server.origin}/dashboard`);
      assert.equal(res.status(), 200);
      assert.match(res.headers()['content-security-policy'], /script-src 'self'/);
      await page.locator('#m-engine', { hasText: engine }).waitFor(WAIT);
      await page.locator('#m-drain', { hasText: 'running' }).waitFor(WAIT);
      await page.locator('#status-rows tr', { hasText: '200' }).first().waitFor(WAIT);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      w.assertClean();
      await screenshot(page, `dashboard-${engine}`);
      await page.close();
    });

    it('the control tower fits a narrow window', async () => {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 390, height: 844 });
      const w = watch(page, server.origin);
      await page.goto(`${server.origin}/playground`);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window`);
      // Panels stack in one column: the timeline sits below the live list.
      const live = await page.locator('#live-panel').boundingBox();
      const timeline = await page.locator('#timeline-panel').boundingBox();
      assert.ok(timeline.y >= live.y + live.height, 'panels stack on a narrow window');
      w.assertClean();
      await screenshot(page, `tower-narrow-${engine}`);
      await page.close();
    });
  });

  describe(`token guard on ${engine}`, () => {
    let server;
    let dir;
    let browser;

    before(async () => {
      dir = stateDir();
      server = await startServer({ engine, dir, args: ['--demo-token', TOKEN] });
      browser = await launch();
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
      if (dir) rmState(dir);
    });

    it('asks for the token, then uses it for the APIs and the event stream', async () => {
      const made = await apiJSON(server.origin, 'POST', '/api/mocks', { method: 'GET', path_pattern: '/guarded', body: 'ok' }, TOKEN);
      assert.equal(made.status, 201);
      assert.equal((await apiJSON(server.origin, 'GET', '/api/mocks')).status, 401);

      const page = await browser.context.newPage();
      const w = watch(page, server.origin);
      const res = await page.goto(`${server.origin}/playground`);
      assert.equal(res.status(), 200); // the page itself is public
      await page.locator('#token-bar').waitFor({ state: 'visible', ...WAIT });
      assert.equal(await page.locator('#mock-rows tr').count(), 0);

      await page.fill('#token-input', TOKEN);
      await page.click('#token-form button[type="submit"]');
      await page.locator('#token-bar').waitFor({ state: 'hidden', ...WAIT });
      await page.locator('#mock-rows tr', { hasText: '/guarded' }).waitFor(WAIT);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      const stored = await page.evaluate(() => sessionStorage.getItem('ownhttp.token'));
      assert.equal(stored, TOKEN);

      // Live events arrive through the stream opened with ?token=.
      await fetch(`${server.origin}/guarded`);
      await page.locator('#live-rows tr', { hasText: '/guarded' }).waitFor(WAIT);
      assert.deepEqual(w.errors, []);
      assert.deepEqual(w.csp, []);
      assert.deepEqual(w.dialogs, []);
      assert.deepEqual(w.outside, []);
      await page.close();
    });
  });
}
