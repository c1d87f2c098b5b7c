// Starting and stopping the real ownhttp binary for the browser tests.
//
// The binary is the one run.mjs built (OWNHTTP_BIN). Each server listens on 127.0.0.1; with
// port 0 the kernel picks the port and we learn it from the "msg=listening addr=…" log line
// on stderr. Every server gets its own state files in a temporary directory, so a restart on
// the same port with the same directory finds its mocks, scenarios and targets again.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LISTENING = /msg=listening addr=(\S+)/;

/** binary returns the server binary built by run.mjs. */
export function binary() {
  const bin = process.env.OWNHTTP_BIN;
  if (!bin) throw new Error('OWNHTTP_BIN is not set: run the tests with `npm test` (node run.mjs), which builds the server');
  return bin;
}

/** stateDir makes a fresh directory for a server's state files; remove it with rmState. */
export function stateDir() {
  return mkdtempSync(join(tmpdir(), 'ownhttp-e2e-'));
}

export function rmState(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * startServer runs the binary and resolves once it listens.
 *   engine: "epoll" or "threadpool"; dir: the state directory; port: 0 for any;
 *   args: extra flags.
 * The result has addr ("127.0.0.1:PORT"), port, origin ("http://…"), logs() and stop().
 */
export function startServer({ engine, dir, port = 0, args = [] }) {
  const argv = [
    '--host', '127.0.0.1',
    '--port', String(port),
    '--engine', engine,
    '--drain-timeout', '1s',
    '--state-file', join(dir, 'state.json'),
    '--scenario-state-file', join(dir, 'scenarios.json'),
    '--target-state-file', join(dir, 'targets.json'),
    '--static-dir', join(dir, 'static'),
    ...args,
  ];
  const child = spawn(binary(), argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not report its address within 15 s\n${log}`));
    }, 15000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const m = LISTENING.exec(log);
      if (m && timer) {
        clearTimeout(timer);
        const addr = m[1];
        const server = {
          addr,
          port: Number(addr.slice(addr.lastIndexOf(':') + 1)),
          origin: `http://${addr}`,
          engine,
          dir,
          logs: () => log,
          stop: () => stopChild(child, exited),
        };
        resolve(server);
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening\n${log}`));
    });
  });
}

/** stopChild asks the server to drain (SIGTERM) and waits for it; SIGKILL after 10 s. */
async function stopChild(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  const res = await exited;
  clearTimeout(timer);
  return res;
}
