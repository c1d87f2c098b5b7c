// Issue #17 in the control tower, in a real browser against the real binary, on both engines:
// a history entry opens in full (request and response heads and bodies, timings, the wire
// fault, a truncated body marked), "Copy as curl" puts the server's curl command on the
// clipboard and says so, "Replay" sends it again and shows the answer, and "Download HAR"
// saves the entries the filters select as a HAR 1.2 file.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { launch, screenshot, watch } from '../lib/browser.mjs';
import { apiJSON } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };
const KEEP = 64; // --max-history-body-bytes
const BIG = `${'0123456789'.repeat(20)}`;

for (const engine of ['epoll', 'threadpool']) {
  describe(`history entries in the tower on ${engine}`, () => {
    let server;
    let dir;
    let browser;
    let page;
    let w;

    before(async () => {
      dir = stateDir();
      server = await startServer({ engine, dir, args: ['--max-history-body-bytes', String(KEEP)] });
      browser = await launch({ width: 1400, height: 1000 });
      await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
      page = browser.context.pages()[0] || (await browser.context.newPage());
      w = watch(page, server.origin);
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
      if (dir) rmState(dir);
    });

    /** historyRow is the newest History row for a path. */
    const historyRow = (path) => page.locator('#history-rows tr', { has: page.locator('td.path', { hasText: new RegExp(`^${path}$`) }) }).first();

    it('opens an entry with its request and response, timings and fault', async () => {
      await page.goto(`${server.origin}/playground`);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      for (const mock of [
        { method: 'POST', path_pattern: '/e2e/hist/orders', status: 201, headers: { 'X-Order': 'seven' }, body: { id: 7 }, latency: { fixed_ms: 1 } },
        { method: 'GET', path_pattern: '/e2e/hist/big', content_type: 'text/plain', body: BIG },
      ]) {
        const made = await apiJSON(server.origin, 'POST', '/api/mocks', mock);
        assert.equal(made.status, 201, JSON.stringify(made.data));
      }
      const res = await fetch(`${server.origin}/e2e/hist/orders?x=1`, { method: 'POST', headers: { 'X-E2E': 'yes', 'Content-Type': 'application/json' }, body: '{"n":1}' });
      assert.equal(res.status, 201);
      assert.equal((await fetch(`${server.origin}/e2e/hist/big`)).status, 200);

      const row = historyRow('/e2e/hist/orders');
      await row.waitFor(WAIT);
      await row.getByRole('button', { name: 'Open' }).click();
      const entry = page.locator('#history-entry');
      await entry.waitFor({ state: 'visible', ...WAIT });
      const id = await row.getAttribute('data-id');
      assert.equal(await entry.getAttribute('data-id'), id);
      const stored = (await apiJSON(server.origin, 'GET', `/api/history/${id}`)).data.entry;

      assert.equal(await page.textContent('#entry-title'), 'POST /e2e/hist/orders');
      assert.equal(await page.textContent('#entry-status'), '201');
      assert.equal(await page.textContent('#entry-fault'), 'fault: latency');
      assert.equal(await page.textContent('#entry-req-line'), 'POST /e2e/hist/orders?x=1 HTTP/1.1');
      const reqHeaders = await page.locator('#entry-req-headers tr').allTextContents();
      assert.ok(reqHeaders.includes('x-e2eyes'), reqHeaders.join(' | '));
      assert.equal(await page.textContent('#entry-req-body'), '{"n":1}');
      assert.equal(await page.textContent('#entry-res-line'), '201');
      const resHeaders = await page.locator('#entry-res-headers tr').allTextContents();
      assert.ok(resHeaders.some((t) => /^x-orderseven$/i.test(t)), resHeaders.join(' | '));
      assert.equal(await page.textContent('#entry-res-body'), JSON.stringify({ id: 7 }, null, 2));
      assert.ok(await page.locator('#entry-res-note').isHidden());
      // Timings as the server recorded them.
      assert.match(await page.textContent('#entry-meta [data-k="started"] dd'), new RegExp(`\\(${stored.started_at}\\)$`));
      assert.match(await page.textContent('#entry-meta [data-k="ended"] dd'), new RegExp(`\\(${stored.ts}\\)$`));
      assert.match(await page.textContent('#entry-meta [data-k="latency"] dd'), / ms$/);
      assert.equal(await page.textContent('#entry-meta [data-k="request id"] dd'), id);
      w.assertClean();
    });

    it('copies the entry as curl to the clipboard and says so', async () => {
      const id = await page.locator('#history-entry').getAttribute('data-id');
      const want = await (await fetch(`${server.origin}/api/history/${id}?format=curl`)).text();
      assert.match(want, /^curl /m);
      await page.click('#entry-curl');
      await page.locator('#entry-copied', { hasText: 'Copied to the clipboard.' }).waitFor(WAIT);
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), want);
      assert.equal(await page.textContent('#entry-curl-text'), want);
      w.assertClean();
    });

    it('replays the entry and shows the answer', async () => {
      const before = await apiJSON(server.origin, 'GET', '/api/history?path=/e2e/hist/orders');
      await page.click('#entry-replay');
      await page.locator('#replay-status', { hasText: '201' }).waitFor(WAIT);
      assert.equal(await page.textContent('#replay-title'), 'Replay of POST /e2e/hist/orders →');
      assert.equal(await page.textContent('#replay-body'), JSON.stringify({ id: 7 }, null, 2));
      // The replay is a request of its own: history shows one more.
      await page.click('#history-refresh');
      await page
        .locator('#history-rows tr', { has: page.locator('td.path', { hasText: /^\/e2e\/hist\/orders$/ }) })
        .nth(before.data.history.length)
        .waitFor(WAIT);
      w.assertClean();
    });

    it('marks a response body cut at --max-history-body-bytes', async () => {
      await historyRow('/e2e/hist/big').getByRole('button', { name: 'Open' }).click();
      await page.locator('#entry-title', { hasText: 'GET /e2e/hist/big' }).waitFor(WAIT);
      const note = page.locator('#entry-res-note');
      assert.equal(await note.textContent(), `Body truncated: the first ${KEEP} B are kept (--max-history-body-bytes).`);
      assert.match(await note.getAttribute('class'), /\btruncated\b/);
      assert.equal(await page.textContent('#entry-res-body'), BIG.slice(0, KEEP));
      assert.ok(await page.locator('#entry-req-body').isHidden()); // a GET without a body
      await page.click('#entry-close');
      await page.locator('#history-entry').waitFor({ state: 'hidden', ...WAIT });
      w.assertClean();
    });

    it('downloads the filtered history as HAR 1.2', async () => {
      await page.fill('#history-path', '/e2e/hist/');
      const [download] = await Promise.all([page.waitForEvent('download', WAIT), page.click('#history-har')]);
      assert.equal(download.suggestedFilename(), 'ownhttp-history.har');
      const har = JSON.parse(await readFile(await download.path(), 'utf8'));
      assert.equal(har.log.version, '1.2');
      const urls = har.log.entries.map((e) => e.request.url);
      assert.ok(urls.includes(`${server.origin}/e2e/hist/orders?x=1`), urls.join(' '));
      assert.ok(urls.includes(`${server.origin}/e2e/hist/big`), urls.join(' '));
      assert.ok(urls.every((u) => u.startsWith(`${server.origin}/e2e/hist/`)), urls.join(' '));
      const order = har.log.entries.find((e) => e.request.url.endsWith('/e2e/hist/orders?x=1'));
      assert.equal(order.response.status, 201);
      assert.equal(order.request.postData.text, '{"n":1}');
      w.assertClean();
      await screenshot(page, `history-${engine}`);
    });
  });
}
