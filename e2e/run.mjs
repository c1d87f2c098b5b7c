// Runs the browser tests: builds the server from this checkout into a temporary directory,
// then runs every tests/*.test.mjs with Node's test runner against that binary.
//
//   npm test                       (from e2e/, after npm ci)
//   node run.mjs [node --test args] (e.g. --test-name-pattern=dashboard)
//
// Needs Go, Node 20+ and Debian's chromium at /usr/bin/chromium (CHROMIUM_PATH overrides).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!existsSync(chromium)) {
  console.error(`e2e: ${chromium} not found; install Debian's chromium (apt-get install chromium)`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'ownhttp-e2e-bin-'));
const bin = join(work, 'ownhttp');
let status = 1;
try {
  console.log(`e2e: go build -o ${bin} .`);
  const build = spawnSync(process.env.GO || 'go', ['build', '-o', bin, '.'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('e2e: go build failed');
  } else {
    const files = readdirSync(join(here, 'tests'))
      .filter((f) => f.endsWith('.test.mjs'))
      .sort()
      .map((f) => join('tests', f));
    const run = spawnSync(
      process.execPath,
      ['--test', '--test-reporter=spec', '--test-concurrency=1', ...process.argv.slice(2), ...files],
      { cwd: here, stdio: 'inherit', env: { ...process.env, OWNHTTP_BIN: bin } },
    );
    status = run.status ?? 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(status);
