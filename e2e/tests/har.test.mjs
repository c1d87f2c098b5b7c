// Issue #17: a HAR exported from history is accepted by a real consumer. A page served by
// mocks is loaded in chromium (it fetches its data from a second mock), history is exported
// with GET /api/history?format=har, the server is stopped, and a fresh browser replays the
// archive with playwright-core's routeFromHAR: the page shows the recorded answers without
// the server. On both engines.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch } from '../lib/browser.mjs';
import { apiJSON } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };
const PAGE = `<!doctype html><html><head><title>orders</title></head><body>
<p id="out">loading</p>
<script>
fetch('/e2e/har/data?page=1').then((r) => r.json()).then((d) => {
  document.getElementById('out').textContent = d.orders.join(', ') + ' (' + d.total + ')';
});
</script></body></html>`;

for (const engine of ['epoll', 'threadpool']) {
  describe(`HAR replay on ${engine}`, () => {
    let server;
    let dir;
    let browsers = [];

    before(async () => {
      dir = stateDir();
      server = await startServer({ engine, dir });
    });

    after(async () => {
      for (const b of browsers) await b.close();
      await server?.stop();
      if (dir) rmState(dir);
    });

    it('replays the recorded answers from an exported HAR', async () => {
      for (const mock of [
        { method: 'GET', path_pattern: '/e2e/har/page', content_type: 'text/html; charset=utf-8', body: PAGE },
        { method: 'GET', path_pattern: '/e2e/har/data', body: { orders: ['A-1', 'B-2'], total: 2 }, match: { query: { page: '1' } } },
      ]) {
        assert.equal((await apiJSON(server.origin, 'POST', '/api/mocks', mock)).status, 201);
      }
      const live = await launch();
      browsers.push(live);
      const page = live.context.pages()[0] || (await live.context.newPage());
      const url = `${server.origin}/e2e/har/page`;
      await page.goto(url);
      await page.locator('#out', { hasText: 'A-1, B-2 (2)' }).waitFor(WAIT);

      // Export what history recorded of the page and its data.
      let har;
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`${server.origin}/api/history?format=har&path=/e2e/har/`);
        assert.equal(res.status, 200);
        har = await res.json();
        if (har.log.entries.length >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(har.log.version, '1.2');
      const urls = har.log.entries.map((e) => e.request.url);
      assert.ok(urls.includes(url), urls.join(' '));
      assert.ok(urls.includes(`${server.origin}/e2e/har/data?page=1`), urls.join(' '));
      const file = join(dir, 'session.har');
      writeFileSync(file, JSON.stringify(har));

      await server.stop();
      server = null;

      const replay = await launch();
      browsers.push(replay);
      await replay.context.routeFromHAR(file, { notFound: 'abort' });
      const again = replay.context.pages()[0] || (await replay.context.newPage());
      await again.goto(url);
      await again.locator('#out', { hasText: 'A-1, B-2 (2)' }).waitFor(WAIT);
      assert.equal(await again.title(), 'orders');
    });
  });
}
