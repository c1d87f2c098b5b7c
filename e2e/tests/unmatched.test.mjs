// The control tower's Unmatched requests panel in a real browser against the real binary, on
// both engines: requests no mock matched show up live with their near misses (each mock's
// conditions: expected, actual, held or not), hostile values stay text, and the panel follows
// changes to the mocks and to history.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launch, screenshot, watch } from '../lib/browser.mjs';
import { apiJSON, rawGet } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };
const HOSTILE_HEADER = '<img src=x onerror=alert(1)>';
const HOSTILE_PATH = '/e2e/items/<img/src=x/onerror=alert(2)>';
const HOSTILE_EXPECTED = '<b>bold</b>';

for (const engine of ['epoll', 'threadpool']) {
  describe(`unmatched requests on ${engine}`, () => {
    let server;
    let dir;
    let browser;
    let page;
    let w;
    let orders; // the mock on /e2e/orders
    let items; // the mock on /e2e/items/*

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

    it('starts with the empty state', async () => {
      await page.goto(`${server.origin}/playground`);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      await page.locator('#unmatched-empty').waitFor({ state: 'visible', ...WAIT });
      assert.equal(await page.locator('#unmatched-list li').count(), 0);
      w.assertClean();
    });

    it('shows a request that missed a mock live, with the failing criterion', async () => {
      const made = await apiJSON(server.origin, 'POST', '/api/mocks', {
        method: 'GET',
        path_pattern: '/e2e/orders',
        body: 'open orders',
        match: { query: { status: 'open' }, headers: { 'X-Tenant': 'acme' } },
      });
      assert.equal(made.status, 201);
      orders = made.data.mock.id;

      const res = await rawGet(server.origin, '/e2e/orders?status=open', { 'X-Tenant': HOSTILE_HEADER });
      assert.equal(res.status, 404);
      assert.equal(JSON.parse(res.body).error.code, 'no_mock_matched');

      // No click: the request.completed event refreshes the panel.
      const item = page.locator('#unmatched-list li.unmatched-item', { hasText: '/e2e/orders?status=open' });
      await item.waitFor(WAIT);
      assert.match(await item.locator('.unmatched-head').textContent(), /GET/);
      assert.match(await item.locator('.unmatched-head').textContent(), /404/);
      assert.equal(await page.locator('#unmatched-empty').isHidden(), true);

      const near = item.locator(`.near-miss[data-mock="${orders}"]`);
      await near.waitFor(WAIT);
      const nearHead = await near.locator('.near-head').textContent();
      assert.match(nearHead, /GET/);
      assert.match(nearHead, /\/e2e\/orders/);
      assert.ok(nearHead.includes(orders), `the near miss names the mock id: ${nearHead}`);
      assert.match(nearHead, /1 of 4 failed/);

      // The failing criterion: expected, actual (the hostile header as text), marked failed.
      const failed = near.locator('tr[data-field="headers.X-Tenant"]');
      assert.equal(await failed.getAttribute('data-matched'), 'false');
      assert.equal(await failed.getAttribute('class'), 'miss');
      const cells = await failed.locator('td').allTextContents();
      assert.deepEqual(cells, ['headers.X-Tenant', 'equals "acme"', HOSTILE_HEADER, '✗']);
      // The criteria that held are there too, marked so.
      const held = near.locator('tr[data-field="query.status"]');
      assert.equal(await held.getAttribute('data-matched'), 'true');
      assert.deepEqual(await held.locator('td').allTextContents(), ['query.status', 'equals "open"', 'open', '✓']);
      assert.equal(await near.locator('tr[data-matched="false"]').count(), 1);
      assert.equal(await near.locator('tr[data-field="method"][data-matched="true"]').count(), 1);

      assert.equal(await page.locator('#unmatched-panel img').count(), 0);
      w.assertClean(); // includes: no dialog opened
    });

    it('shows a hostile path and hostile expectations as text, never as markup', async () => {
      const made = await apiJSON(server.origin, 'POST', '/api/mocks', {
        method: 'GET',
        path_pattern: '/e2e/items/*', // the hostile path has slashes: a wildcard takes them
        body: 'item',
        match: { headers: { 'X-Kind': HOSTILE_EXPECTED } },
      });
      assert.equal(made.status, 201);
      items = made.data.mock.id;
      assert.equal((await rawGet(server.origin, HOSTILE_PATH)).status, 404);

      const item = page.locator('#unmatched-list li.unmatched-item', { hasText: HOSTILE_PATH });
      await item.waitFor(WAIT);
      // Newest first.
      assert.equal(await page.locator('#unmatched-list li.unmatched-item').first().getAttribute('data-id'), await item.getAttribute('data-id'));
      const near = item.locator(`.near-miss[data-mock="${items}"]`);
      await near.waitFor(WAIT);
      assert.deepEqual(await near.locator('tr[data-field="path"] td').allTextContents(), ['path', '/e2e/items/*', HOSTILE_PATH, '✓']);
      assert.deepEqual(await near.locator('tr[data-field="headers.X-Kind"] td').allTextContents(), [
        'headers.X-Kind',
        `equals "${HOSTILE_EXPECTED}"`,
        '(absent)',
        '✗',
      ]);

      assert.equal(await page.locator('#unmatched-panel img').count(), 0);
      assert.equal(await page.locator('#unmatched-panel b').count(), 0);
      assert.equal(await page.locator('body img').count(), 0);
      w.assertClean();
      await item.scrollIntoViewIfNeeded();
      await screenshot(page, `unmatched-${engine}`);

      // Long hostile values wrap: the page stays within a narrow window.
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window`);
        await item.scrollIntoViewIfNeeded();
        await screenshot(page, `unmatched-narrow-${engine}`);
      } finally {
        await page.setViewportSize({ width: 1280, height: 800 });
      }
    });

    it('follows the mocks as they are now and has a refresh control', async () => {
      // Deleting the mock leaves the request with no mock on its path, without a click.
      assert.equal((await apiJSON(server.origin, 'DELETE', `/api/mocks/${items}`)).status, 200);
      const item = page.locator('#unmatched-list li.unmatched-item', { hasText: HOSTILE_PATH });
      await item.locator('.unmatched-head', { hasText: 'no mock on this path' }).waitFor(WAIT);
      assert.equal(await item.locator('.near-miss').count(), 0);

      // The refresh button asks again and keeps what is there.
      await page.click('#unmatched-refresh');
      await page.locator('#unmatched-list li.unmatched-item', { hasText: '/e2e/orders?status=open' }).waitFor(WAIT);
      assert.equal(await page.locator('#unmatched-error').isHidden(), true);
      w.assertClean();
    });

    it('empties when history is cleared', async () => {
      const cleared = await apiJSON(server.origin, 'DELETE', '/api/history');
      assert.ok(cleared.status >= 200 && cleared.status < 300, `DELETE /api/history answered ${cleared.status}`);
      await page.locator('#unmatched-empty').waitFor({ state: 'visible', ...WAIT });
      assert.equal(await page.locator('#unmatched-list li').count(), 0);
      w.assertClean();
    });
  });
}
