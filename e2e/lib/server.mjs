// Starting and stopping the real ownhttp binary for the browser tests.
//
// The binary is the one run.mjs built (OWNHTTP_BIN). Each server listens on 127.0.0.1; with
// port 0 the kernel picks the port and we learn it from the file the server writes once it
// serves (--ready-file), never from its log. Every server gets its own state files in a
// temporary directory, so a restart on the same port with the same directory finds its mocks,
// scenarios and targets again.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// readySeq numbers the ready files, one per start: a killed server leaves its file behind.
let readySeq = 0;

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
  readySeq += 1;
  const readyFile = join(dir, `ready-${process.pid}-${readySeq}.json`);
  const argv = [
    '--host', '127.0.0.1',
    '--port', String(port),
    '--engine', engine,
    '--drain-timeout', '1s',
    '--state-file', join(dir, 'state.json'),
    '--scenario-state-file', join(dir, 'scenarios.json'),
    '--target-state-file', join(dir, 'targets.json'),
    '--static-dir', join(dir, 'static'),
    '--ready-file', readyFile,
    ...args,
  ];
  const child = spawn(binary(), argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { log += chunk; });
  let exit = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    exit = { code, signal };
    resolve(exit);
  }));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 15000;
    const poll = () => {
      if (exit) {
        reject(new Error(`server exited (code ${exit.code}, signal ${exit.signal}) before it was ready\n${log}`));
        return;
      }
      let bound;
      try {
        bound = JSON.parse(readFileSync(readyFile, 'utf8')); // written atomically: whole or absent
      } catch {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          reject(new Error(`server was not ready within 15 s\n${log}`));
        } else {
          setTimeout(poll, 20);
        }
        return;
      }
      const main = bound.listeners[0];
      resolve({
        addr: main.addr,
        port: Number(main.addr.slice(main.addr.lastIndexOf(':') + 1)),
        origin: main.url,
        engine,
        dir,
        logs: () => log,
        stop: () => stopChild(child, exited),
      });
    };
    poll();
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
