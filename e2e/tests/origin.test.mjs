// Other web origins cannot change the lab, and a rebound name reads nothing (issue #11): a
// page served by another listener tries a fetch and a form post to create a mock and a
// target, and fails; a page under a name rebound to the server gets 421; the control tower
// on the server itself still creates a mock. Real binary, both engines, Debian's chromium.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { launch, watch } from '../lib/browser.mjs';
import { apiJSON, rawGet } from '../lib/http.mjs';
import { rmState, startServer, stateDir } from '../lib/server.mjs';

const WAIT = { timeout: 10000 };
const REBOUND = 'rebind.evil.example';

/** startAttacker serves a blank HTML page on 127.0.0.1 (another origin than the server's). */
function startAttacker() {
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>elsewhere</title><iframe name="sink"></iframe>');
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => resolve({ port: srv.address().port, close: () => new Promise((r) => srv.close(r)) }));
  });
}

for (const engine of ['epoll', 'threadpool']) {
  describe(`other origins on ${engine}`, () => {
    let server;
    let dir;
    let browser;
    let attacker;

    before(async () => {
      dir = stateDir();
      server = await startServer({ engine, dir });
      attacker = await startAttacker();
      browser = await launch(undefined, [`--host-resolver-rules=MAP ${REBOUND} 127.0.0.1`]);
    });

    after(async () => {
      await browser?.close();
      await attacker?.close();
      await server?.stop();
      if (dir) rmState(dir);
    });

    // localhost is another site than 127.0.0.1 (Sec-Fetch-Site: cross-site); 127.0.0.1 on
    // another port is the same site but another origin.
    for (const host of ['localhost', '127.0.0.1']) {
      it(`a page on http://${host}:PORT cannot create a mock or a target`, async () => {
        const page = await browser.context.newPage();
        const sent = [];
        const statuses = [];
        const toServer = (r) => `${r.method()} ${new URL(r.url()).pathname}`;
        page.on('request', (r) => {
          if (r.url().startsWith(`${server.origin}/`)) sent.push(toServer(r));
        });
        page.on('response', (r) => {
          if (r.url().startsWith(`${server.origin}/`)) statuses.push(r.status());
        });
        await page.goto(`http://${host}:${attacker.port}/`);
        const tag = `${host}-${engine}`;

        // fetch, as a simple request (no preflight) and as no-cors.
        const outcomes = await page.evaluate(async ({ target, tag }) => {
          const tries = [
            [`${target}/api/mocks`, { mode: 'cors', body: JSON.stringify({ method: 'GET', path_pattern: `/csrf/fetch-${tag}`, body: 'pwned' }) }],
            [`${target}/api/mocks`, { mode: 'no-cors', body: JSON.stringify({ method: 'GET', path_pattern: `/csrf/nocors-${tag}`, body: 'pwned' }) }],
            [`${target}/api/targets`, { mode: 'no-cors', body: JSON.stringify({ name: `csrf-${tag}`, base_url: 'http://10.0.0.1' }) }],
          ];
          const out = [];
          for (const [url, opts] of tries) {
            try {
              const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, ...opts });
              out.push(`answered ${res.type} ${res.status}`);
            } catch (e) {
              out.push(`rejected: ${e.message}`);
            }
          }
          return out;
        }, { target: server.origin, tag });
        // The cors fetch cannot read the answer: no Access-Control-Allow-Origin for it.
        assert.match(outcomes[0], /^rejected/);

        // A form post (text/plain, so its body is JSON) into the iframe.
        const formAnswer = page.waitForResponse((r) => r.url() === `${server.origin}/api/mocks` && r.request().method() === 'POST' && r.frame() !== page.mainFrame(), WAIT);
        await page.evaluate(({ target, tag }) => {
          const form = document.createElement('form');
          form.method = 'POST';
          form.action = `${target}/api/mocks`;
          form.enctype = 'text/plain';
          form.target = 'sink';
          const input = document.createElement('input');
          input.name = `{"method":"GET","path_pattern":"/csrf/form-${tag}","body":"pwn`;
          input.value = 'ed"}';
          form.append(input);
          document.body.append(form);
          form.submit();
        }, { target: server.origin, tag });
        assert.equal((await formAnswer).status(), 403);

        // Every attempt was sent, none as a preflight, and every answer the browser saw (a
        // fetch whose answer CORS withholds reports none) was the refusal.
        assert.deepEqual(sent.sort(), ['POST /api/mocks', 'POST /api/mocks', 'POST /api/mocks', 'POST /api/targets']);
        assert.ok(statuses.length >= 3, `answers seen: ${statuses}`);
        assert.deepEqual(statuses.filter((s) => s !== 403), []);
        const mocks = await apiJSON(server.origin, 'GET', '/api/mocks');
        assert.equal(mocks.status, 200);
        assert.deepEqual(mocks.data.mocks.filter((m) => m.path_pattern.startsWith('/csrf/')), []);
        const targets = await apiJSON(server.origin, 'GET', '/api/targets');
        assert.deepEqual(targets.data.targets.filter((t) => t.name.startsWith('csrf')), []);
        for (const kind of ['fetch', 'nocors', 'form']) {
          assert.equal((await rawGet(server.origin, `/csrf/${kind}-${tag}`)).status, 404);
        }
        await page.close();
      });
    }

    it('a name rebound to the server gets 421 for the tower and the API', async () => {
      const page = await browser.context.newPage();
      const res = await page.goto(`http://${REBOUND}:${server.port}/playground`);
      assert.equal(res.status(), 421);
      const api = await page.evaluate(async () => {
        const r = await fetch('/api/mocks', { method: 'POST', body: '{"method":"GET","path_pattern":"/csrf/rebound","body":"x"}' });
        return { status: r.status, body: await r.text() };
      });
      assert.equal(api.status, 421);
      assert.equal(JSON.parse(api.body).error.code, 'misdirected_request');
      assert.equal((await rawGet(server.origin, '/csrf/rebound')).status, 404);
      await page.close();
    });

    it('the control tower on the server itself creates a mock', async () => {
      const page = await browser.context.newPage();
      const w = watch(page, server.origin);
      await page.goto(`${server.origin}/playground`);
      await page.locator('#conn[data-mode="live"]').waitFor(WAIT);
      await page.fill('#mock-path', '/e2e/own-origin');
      await page.fill('#mock-body', 'from the tower');
      await page.click('#mock-submit');
      await page.locator('#mock-rows tr', { hasText: '/e2e/own-origin' }).waitFor(WAIT);
      const res = await rawGet(server.origin, '/e2e/own-origin');
      assert.equal(res.status, 200);
      assert.equal(res.body, 'from the tower');
      w.assertClean();
      await page.close();
    });
  });
}
