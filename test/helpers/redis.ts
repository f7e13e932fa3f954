// A real redis-server (Debian's) for the queue tests: on 127.0.0.1 and a
// free port, with its data in a temporary folder (append-only file, so a
// restart keeps the queue), killed when the test file ends. Under CI a
// missing redis-server is a failure, never a silent skip; elsewhere the
// tests skip with a note.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
export const skipRedis = !hasRedis && !process.env['CI'];
if (skipRedis) console.warn('queue tests skipped: no redis-server (apt-get install -y redis-server)');

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

export interface Redis {
  readonly url: string;
  readonly port: number;
  /** Stop the server (SIGTERM: it writes its append-only file) and wait for it to exit. */
  stop(): Promise<void>;
  /** Start it again on the same port and data. */
  start(): Promise<void>;
}

// Every server still running when the test file ends is killed.
const live = new Set<ChildProcess>();
afterAll(() => {
  for (const p of live) p.kill('SIGKILL');
});

export const startRedis = async (): Promise<Redis> => {
  if (!hasRedis) throw new Error('redis-server is not installed (apt-get install -y redis-server): the queue tests need it');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pix2pix-redis-'));
  let proc: ChildProcess | undefined;
  const start = async () => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(p);
    proc = p;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${out}`)), 10_000);
      p.stdout!.on('data', (d) => {
        out += d;
        if (/Ready to accept connections/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      p.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}):\n${out}`));
      });
    });
  };
  const stop = async () => {
    const p = proc;
    if (p === undefined || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    await exited;
    live.delete(p);
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
};
