// Issue #16 in the control tower, in a real browser against the real binary, on both engines:
// the wire faults and delays a mock injects show up on the timeline as they happen (mock,
// kind, hit, connection, byte offset), and a mock's row unfolds to its wire plan and to a
// preview of which hits fault and how, under the default seed and under a typed one, equal
// to what GET /api/mocks/{id}/faults answers.

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { launch, screenshot, watch } from '../lib/browser.mjs';
import { apiJSON } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };

/** rawExchange sends one GET on a fresh connection and resolves to every byte received
 * until the server ends the connection (normally or with a reset). */
function rawExchange(port, path) {
  return new Promise((resolve) => {
    const chunks = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(`GET ${path} HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n`));
    s.on('data', (c) => chunks.push(c));
    const done = (how) => resolve({ how, bytes: Buffer.concat(chunks) });
    s.on('error', (err) => done(err.code || 'error'));
    s.on('end', () => done('end'));
    s.setTimeout(10000, () => {
      s.destroy();
      done('timeout');
    });
  });
}

for (const engine of ['epoll', 'threadpool']) {
  describe(`wire faults in the tower on ${engine}`, () => {
    let server;
    let dir;
    let browser;
    let page;
    let w;
    let id;

    before(async () => {
      dir = stateDir();
      server = await startServer({ engine, dir, args: ['--seed', '42'] });
      browser = await launch({ width: 1400, height: 1000 });
      page = browser.context.pages()[0] || (await browser.context.newPage());
      w = watch(page, server.origin);
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
      if (dir) rmState(dir);
    });

    it('shows each injected delay and fault on the timeline with its mock, hit, connection and byte', async () => {
      await page.goto(`${server.origin}/playground`);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      const made = await apiJSON(server.origin, 'POST', '/api/mocks', {
        method: 'GET',
        path_pattern: '/e2e/wire',
        content_type: 'text/plain',
        body: 'hello world',
        latency: { fixed_ms: 5 },
        faults: [{ kind: 'reset', after_bytes: 10, first: 1 }, { kind: 'empty', probability: 0.3 }],
      });
      assert.equal(made.status, 201, JSON.stringify(made.data));
      id = made.data.mock.id;

      const first = await rawExchange(server.port, '/e2e/wire');
      assert.equal(first.bytes.length, 10, `hit 1 is reset after 10 bytes (${first.how})`);

      // The server's own record of the event: the page must show the same connection.
      let events = [];
      for (let i = 0; i < 200 && events.length < 2; i++) {
        const snap = await apiJSON(server.origin, 'GET', '/api/events/snapshot?topics=fault.injected');
        events = snap.data.events;
        if (events.length < 2) await new Promise((r) => setTimeout(r, 25));
      }
      const reset = events.find((e) => e.payload.kind === 'reset');
      assert.ok(reset, JSON.stringify(events));
      assert.equal(reset.payload.hit, 1);
      assert.equal(reset.payload.byte_offset, 10);

      const tl = page.locator('#timeline');
      const li = tl.locator('li[data-type="fault.injected"][data-kind="reset"]');
      await li.waitFor(WAIT);
      assert.equal(await li.getAttribute('data-source'), 'mock');
      assert.equal(await li.locator('.what').textContent(), 'fault injected reset');
      assert.equal(await li.locator('.fault-src').textContent(), `mock ${id} (${reset.payload.route})`);
      assert.equal(await li.locator('.fault-hit').textContent(), 'hit 1');
      assert.equal(await li.locator('.fault-conn').textContent(), `conn ${reset.payload.connection_id}`);
      assert.equal(await li.locator('.fault-where').textContent(), 'at byte 10');
      const delay = tl.locator('li[data-type="fault.injected"][data-kind="latency"]');
      await delay.waitFor(WAIT);
      assert.equal(await delay.locator('.what').textContent(), 'delay injected latency');
      assert.equal(await delay.locator('.fault-where').textContent(), 'delay 5.0 ms');
      assert.equal(await delay.locator('.fault-hit').textContent(), 'hit 1');
      // Both look different from a scenario step: their own class.
      assert.match(await li.getAttribute('class'), /\bfault\b/);
      assert.match(await delay.getAttribute('class'), /\blatency\b/);
      w.assertClean();
    });

    it("unfolds a mock's wire plan and previews which hits fault, under the default and a typed seed", async () => {
      const row = page.locator(`#mock-rows tr[data-id="${id}"]`);
      await row.waitFor(WAIT);
      const badge = row.locator('summary.badge.wire');
      assert.equal(await badge.textContent(), 'wire · latency · 2 faults');
      await badge.click();
      const plan = row.locator('.wire-plan');
      await plan.waitFor(WAIT);
      assert.equal(await plan.locator('.wire-latency').textContent(), 'latency fixed 5.0 ms');
      assert.deepEqual(await plan.locator('.wire-faults li').allTextContents(), [
        'reset · after_bytes 10 · hit 1 only · probability 1',
        'empty · probability 0.3',
      ]);
      const stored = (await apiJSON(server.origin, 'GET', `/api/mocks/${id}`)).data.mock;
      assert.deepEqual(JSON.parse(await plan.locator('pre.wire-json').textContent()), { latency: stored.latency, faults: stored.faults });

      // Unfolding loads the preview under the server's seed (42).
      const check = async (seed) => {
        const want = await apiJSON(server.origin, 'GET', `/api/mocks/${id}/faults?seed=${seed}&n=20`);
        assert.equal(want.status, 200);
        await plan.locator('.preview-summary', { hasText: `seed ${seed}:` }).waitFor(WAIT);
        const rows = plan.locator('table.preview tbody tr');
        assert.equal(await rows.count(), 20);
        for (const d of want.data.decisions) {
          const tr = rows.nth(d.hit - 1);
          assert.equal(await tr.getAttribute('data-hit'), String(d.hit));
          assert.equal(await tr.getAttribute('data-fault'), d.fault ? d.fault.kind : null, `hit ${d.hit} under seed ${seed}`);
          assert.equal(await tr.locator('td').nth(1).textContent(), '5.0 ms');
        }
        assert.equal(await rows.first().locator('td').nth(3).textContent(), 'after_bytes 10');
        const s = want.data.summary;
        const summary = await plan.locator('.preview-summary').textContent();
        assert.ok(summary.startsWith(`seed ${seed}: ${s.faulted} of 20 hits fault`), summary);
        return want.data.decisions.map((d) => (d.fault ? d.fault.kind : null));
      };
      const byDefault = await check(42);
      await plan.locator('input.preview-seed').fill('7');
      await plan.getByRole('button', { name: 'Preview' }).click();
      const bySeven = await check(7);
      assert.equal(byDefault[0], 'reset');
      assert.equal(bySeven[0], 'reset');
      // The typed seed survives a refresh of the list, and so does the preview.
      await page.click('#mocks-refresh');
      await plan.locator('.preview-summary', { hasText: 'seed 7:' }).waitFor(WAIT);
      assert.equal(await plan.locator('input.preview-seed').inputValue(), '7');
      w.assertClean();
      await screenshot(page, `wire-${engine}`);
    });
  });
}
