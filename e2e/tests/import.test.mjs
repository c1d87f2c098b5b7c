// Issue #17 in the control tower: "Save as mock" on a history entry and the import dialog, in
// a real browser against the real binary, on both engines.
//
// POST /api/mocks/from-history and POST /api/import are answered here by page.route with the
// shared contract's report shapes (they were being written on other branches when this was);
// what the tests check is what the page sends (query, content type, one file or a bundle
// with names relative to the chosen directory, binary files as base64) and what it shows
// (the per-item report, created and failed, the all-or-nothing 400 with its items). Creating
// an edited proposal goes to the real POST /api/mocks, and the unedited one is created for
// real by the route (as the endpoint would), so the Mocks panel lists both.

import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launch, screenshot, watch } from '../lib/browser.mjs';
import { apiJSON } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };
const BUNDLE = 'application/vnd.ownhttp.bundle+json';

for (const engine of ['epoll', 'threadpool']) {
  describe(`save as mock and import in the tower on ${engine}`, () => {
    let server;
    let dir;
    let browser;
    let page;
    let w;
    const sent = { history: [], import: [] }; // requests the page sent to the two endpoints

    before(async () => {
      dir = stateDir();
      server = await startServer({ engine, dir });
      browser = await launch({ width: 1400, height: 1000 });
      page = browser.context.pages()[0] || (await browser.context.newPage());
      w = watch(page, server.origin);
      await page.route('**/api/mocks/from-history', async (route) => {
        const body = JSON.parse(route.request().postData());
        sent.history.push(body);
        const id = body.ids[0];
        const mock = { method: 'GET', path_pattern: '/e2e/save/{id}', status: 200, content_type: 'application/json', body: { saved: true } };
        if (body.dry_run) {
          return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ format: 'history', dry_run: true, partial: false, created: 0, failed: 0, items: [{ source: `history ${id}`, status: 'would_create', mock, unsupported: ['header X-Trace dropped (volatile)'] }] }) });
        }
        const made = await apiJSON(server.origin, 'POST', '/api/mocks', mock);
        assert.equal(made.status, 201, JSON.stringify(made.data));
        return route.fulfill({ status: 201, contentType: 'application/json', body: JSON.stringify({ format: 'history', dry_run: false, partial: false, created: 1, failed: 0, items: [{ source: `history ${id}`, status: 'created', mock_id: made.data.mock.id, mock: made.data.mock }] }) });
      });
      await page.route('**/api/import?**', (route) => {
        const r = route.request();
        const url = new URL(r.url());
        const q = Object.fromEntries(url.searchParams);
        const type = r.headers()['content-type'];
        sent.import.push({ q, type, body: r.postData() });
        const dry = q.dry_run === 'true';
        const ok = { source: 'mappings/a.json#0', status: dry ? 'would_create' : 'created', mock: { method: 'GET', path_pattern: '/wm/a' }, unsupported: ['transformers'] };
        if (!dry) ok.mock_id = 'm-wm-a';
        const bad = { source: 'mappings/bad.json#0', status: 'failed', error: 'request.urlPattern: missing ) in regex' };
        const report = { format: q.format || 'wiremock', dry_run: dry, partial: q.partial === 'true', created: dry ? 0 : 1, failed: 1, items: [ok, bad] };
        if (type !== BUNDLE) {
          // one file: a HAR with one entry
          const item = { source: 'entries[0]', status: dry ? 'would_create' : 'created', mock: { method: 'GET', path_pattern: '/har/one' } };
          return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ format: 'har', dry_run: dry, partial: false, created: 0, failed: 0, items: [item] }) });
        }
        if (q.partial !== 'true') {
          report.created = 0;
          return route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ error: { code: 'invalid_import', message: '1 of 2 items failed: nothing was imported' }, ...report }) });
        }
        return route.fulfill({ status: dry ? 200 : 201, contentType: 'application/json', body: JSON.stringify(report) });
      });
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
      if (dir) rmState(dir);
    });

    it('proposes a mock from a history entry, then creates it as proposed and as edited', async () => {
      await page.goto(`${server.origin}/playground`);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      assert.equal((await fetch(`${server.origin}/e2e/save/41`)).status, 404);
      const row = page.locator('#history-rows tr', { has: page.locator('td.path', { hasText: /^\/e2e\/save\/41$/ }) }).first();
      await row.waitFor(WAIT);
      const id = await row.getAttribute('data-id');
      await row.getByRole('button', { name: 'Open' }).click();
      await page.click('#entry-save');
      const box = page.locator('#entry-save-box');
      await box.waitFor({ state: 'visible', ...WAIT });
      assert.deepEqual(sent.history[0], { ids: [id], dry_run: true });
      assert.equal(await page.textContent('#entry-save-note'), `Proposed from history ${id} (nothing is created yet). Edit it if you like, then create it.`);
      assert.deepEqual(await page.locator('#entry-save-unsupported li').allTextContents(), ['not carried over: header X-Trace dropped (volatile)']);
      const proposed = JSON.parse(await page.inputValue('#entry-save-json'));
      assert.equal(proposed.path_pattern, '/e2e/save/{id}');
      assert.equal((await apiJSON(server.origin, 'GET', '/api/mocks')).data.mocks.length, 0); // a dry run creates nothing

      // As proposed: from-history with dry_run false.
      await page.click('#entry-save-create');
      const done = page.locator('#entry-save-done');
      await done.waitFor({ state: 'visible', ...WAIT });
      assert.deepEqual(sent.history[1], { ids: [id], dry_run: false });
      const mocks = (await apiJSON(server.origin, 'GET', '/api/mocks')).data.mocks;
      assert.equal(await done.textContent(), `Created mock ${mocks[0].id}.`);
      await page.locator(`#mock-rows tr[data-id="${mocks[0].id}"]`).waitFor(WAIT);
      assert.equal((await fetch(`${server.origin}/e2e/save/41`)).status, 200);

      // Edited: the edited JSON goes to POST /api/mocks as it is.
      await page.fill('#entry-save-json', JSON.stringify({ ...proposed, path_pattern: '/e2e/edited/{id}', status: 202 }, null, 2));
      await page.click('#entry-save-create');
      await done.filter({ hasNotText: mocks[0].id }).waitFor(WAIT);
      assert.equal(sent.history.length, 2);
      const edited = (await apiJSON(server.origin, 'GET', '/api/mocks')).data.mocks.find((m) => m.path_pattern === '/e2e/edited/{id}');
      assert.ok(edited);
      assert.equal(await done.textContent(), `Created mock ${edited.id}.`);
      assert.equal((await fetch(`${server.origin}/e2e/edited/1`)).status, 202);
      await page.locator(`#mock-rows tr[data-id="${edited.id}"]`).waitFor(WAIT);

      // A refused edit shows the server's error, naming the field.
      await page.fill('#entry-save-json', JSON.stringify({ ...proposed, path_pattern: 'no-slash' }));
      await page.click('#entry-save-create');
      const err = page.locator('#entry-save-error');
      await err.waitFor({ state: 'visible', ...WAIT });
      assert.match(await err.textContent(), /path_pattern/);
      w.assertClean();
    });

    it('checks a WireMock directory as a bundle, shows the all-or-nothing refusal, then imports partially', async () => {
      const wm = join(dir, 'wiremock');
      mkdirSync(join(wm, 'mappings'), { recursive: true });
      mkdirSync(join(wm, '__files'), { recursive: true });
      const stub = JSON.stringify({ request: { method: 'GET', url: '/wm/a' }, response: { status: 200, bodyFileName: 'b.bin' } });
      writeFileSync(join(wm, 'mappings', 'a.json'), stub);
      writeFileSync(join(wm, '__files', 'b.bin'), Buffer.from([0xff, 0x00, 0xfe, 0x01]));

      await page.click('#import-open');
      await page.locator('#import-dialog[open]').waitFor(WAIT);
      await page.setInputFiles('#import-dir', wm);
      await page.locator('#import-chosen li', { hasText: 'mappings/a.json' }).waitFor(WAIT);
      await page.selectOption('#import-format', 'wiremock');
      await page.click('#import-check');

      // All or nothing (partial unchecked): 400, every item shown, nothing to import.
      const error = page.locator('#import-error');
      await error.waitFor({ state: 'visible', ...WAIT });
      assert.match(await error.textContent(), /invalid_import.*nothing was imported/);
      const first = sent.import[0];
      assert.deepEqual(first.q, { format: 'wiremock', dry_run: 'true' });
      assert.equal(first.type, BUNDLE);
      const files = JSON.parse(first.body).files.sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(files, [
        { name: '__files/b.bin', content_base64: Buffer.from([0xff, 0x00, 0xfe, 0x01]).toString('base64') },
        { name: 'mappings/a.json', content: stub },
      ]);
      assert.equal(await page.locator('#import-items tr').count(), 2);
      assert.ok(await page.isDisabled('#import-run'));

      // Partial: the dry run reports each item, then Import creates what can be.
      await page.check('#import-partial');
      await page.click('#import-check');
      const summary = page.locator('#import-summary');
      await summary.filter({ hasText: 'would be created' }).waitFor(WAIT);
      assert.equal(await summary.textContent(), 'wiremock: checked 2 items: 1 would be created, 1 failed. Nothing was created.');
      assert.deepEqual(sent.import[1].q, { format: 'wiremock', partial: 'true', dry_run: 'true' });
      const okRow = page.locator('#import-items tr[data-status="would_create"]');
      assert.equal(await okRow.getAttribute('data-source'), 'mappings/a.json#0');
      assert.equal(await okRow.locator('td').nth(2).textContent(), 'GET /wm/a');
      assert.equal(await okRow.locator('td').nth(3).textContent(), 'transformers');
      const badRow = page.locator('#import-items tr[data-status="failed"]');
      assert.equal(await badRow.locator('td').nth(4).textContent(), 'request.urlPattern: missing ) in regex');
      assert.ok(await page.isHidden('#import-error'));

      await page.click('#import-run');
      await summary.filter({ hasText: 'created 1' }).waitFor(WAIT);
      assert.equal(await summary.textContent(), 'wiremock: created 1, failed 1.');
      assert.deepEqual(sent.import[2].q, { format: 'wiremock', partial: 'true' });
      assert.equal(sent.import[2].body, sent.import[1].body);
      assert.equal(await page.locator('#import-items tr[data-status="created"] td').nth(2).textContent(), 'GET /wm/a · id m-wm-a');
      assert.ok(await page.isDisabled('#import-run')); // imported: check again before another import
      w.assertClean();
      await screenshot(page, `import-${engine}`);
    });

    it('sends a single file as it is, format detected', async () => {
      await page.click('#import-clear');
      assert.equal(await page.locator('#import-chosen li').count(), 0);
      assert.ok(await page.isHidden('#import-report'));
      await page.uncheck('#import-partial');
      await page.selectOption('#import-format', '');
      const har = JSON.stringify({ log: { version: '1.2', entries: [] } });
      await page.setInputFiles('#import-files', { name: 'session.har', mimeType: 'application/octet-stream', buffer: Buffer.from(har) });
      await page.click('#import-check');
      await page.locator('#import-summary', { hasText: 'har: checked 1 item' }).waitFor(WAIT);
      const last = sent.import.at(-1);
      assert.deepEqual(last.q, { dry_run: 'true' });
      assert.equal(last.type, 'application/json');
      assert.equal(last.body, har);
      await page.click('#import-close');
      await page.locator('#import-dialog').waitFor({ state: 'hidden', ...WAIT });
      w.assertClean();
    });
  });
}
