// Driving Debian's chromium through playwright-core: never a downloaded browser.
//
// Each call to launch gets a fresh user-data-dir. watch records what a page does that a
// test must fail on: uncaught errors, Content-Security-Policy violations, dialogs (an
// injected alert() would open one) and any request that leaves the server's origin.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/** ARTIFACTS is where screenshots go (gitignored). */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

/**
 * launch starts chromium with a fresh profile and ARGS plus extraArgs; close() also removes
 * the profile.
 */
export async function launch(viewport = { width: 1280, height: 800 }, extraArgs = []) {
  const profile = mkdtempSync(join(tmpdir(), 'ownhttp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...ARGS, ...extraArgs],
    viewport,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** watch records a page's console, errors, dialogs and outside requests. */
export function watch(page, origin) {
  const w = { console: [], errors: [], csp: [], dialogs: [], outside: [] };
  page.on('console', (m) => {
    const text = m.text();
    w.console.push(`${m.type()}: ${text}`);
    if (/Content Security Policy|Content-Security-Policy/i.test(text)) w.csp.push(text);
  });
  page.on('pageerror', (err) => w.errors.push(String(err && err.stack ? err.stack : err)));
  page.on('dialog', (d) => {
    w.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(`${origin}/`) && !url.startsWith('data:')) w.outside.push(url);
  });
  /** assertClean fails on any recorded error, CSP violation, dialog or outside request. */
  w.assertClean = () => {
    const detail = `\nconsole:\n${w.console.join('\n')}`;
    assert.deepEqual(w.errors, [], `uncaught errors${detail}`);
    assert.deepEqual(w.csp, [], `CSP violations${detail}`);
    assert.deepEqual(w.dialogs, [], `dialogs opened${detail}`);
    assert.deepEqual(w.outside, [], `requests left the origin${detail}`);
  };
  return w;
}

/** screenshot saves the page under artifacts/name.png. */
export async function screenshot(page, name, fullPage = false) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}
