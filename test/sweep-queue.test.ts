// Issue 14: a sweep on a real BullMQ queue (Debian's redis-server on
// 127.0.0.1, a free port): `sweep run --queue`, `pix2pix worker` processes,
// a worker killed with -9 mid-run, an invalid config, Redis restarted
// mid-sweep. Every run's final weights against the same config trained
// alone by `pix2pix train`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, waitUntil, type Child } from './helpers/child.ts';
import { startRedis, skipRedis } from './helpers/redis.ts';
import { aloneWeights, baseLess, cli, overridesOf, TINY_BASE, writeSweep } from './helpers/sweep.ts';
import { checkpointStep, range1, scratch, stepRecords, weightsOf } from './helpers/tiny-run.ts';
import { waitForHolder } from '../lib/sweep/queue.ts';
import { runPaths } from '../lib/train/run-dir.ts';

const runDir = (out: string, name: string) => join(out, 'runs', name);
const doneOf = (out: string, name: string) => JSON.parse(readFileSync(join(runDir(out, name), 'done.json'), 'utf8')) as { worker: string; step: number };

/** `sweep status --queue` until every job is completed or failed; its last table. */
const waitForSweep = async (url: string, queueName: string, out: string, jobs: number, timeoutMs = 150_000): Promise<string> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = cli('sweep', 'status', '--out', out, '--queue', url, '--queue-name', queueName);
    await exitOf(status);
    const ended = status.stdout().split('\n').filter((l) => / (done: |failed: )/.test(l)).length;
    if (ended === jobs) return status.stdout();
    if (Date.now() > until) throw new Error(`the sweep did not end in ${timeoutMs} ms:\n${status.stdout()}\n${status.stderr()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
};

const worker = (url: string, queueName: string): Child => cli('worker', '--queue', url, '--queue-name', queueName, '--lock-seconds', '2');

const stopAll = async (workers: readonly Child[]) => {
  for (const w of workers) if (w.exit() === undefined) w.proc.kill('SIGTERM');
  for (const w of workers) await exitOf(w, 30_000);
};

describe("a job taken over from a worker that still trains its run (its Redis connection dropped, its job judged stalled)", () => {
  it("waits for that worker's lock on the run to go (it ends, or stops) instead of training the run beside it; a dead holder's lock or none: no wait", async () => {
    const dir = scratch('queue-holder');
    mkdirSync(dir, { recursive: true });
    // Another live process holds the run's lock for ~1.5 s, as a lost worker still training would.
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `import { takeLock } from ${JSON.stringify(join(import.meta.dirname, '..', 'lib', 'io', 'lock.ts'))}; const l = takeLock(${JSON.stringify(runPaths(dir).lock)}, 'test'); console.log('held'); setTimeout(() => { l.release(); process.exit(0); }, 1500);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok) => holder.stdout!.once('data', () => ok()));
    const said: string[] = [];
    const t0 = performance.now();
    await waitForHolder(dir, (l) => void said.push(l), 50);
    const waited = performance.now() - t0;
    const code = await new Promise<number | null>((ok) => (holder.exitCode !== null ? ok(holder.exitCode) : holder.once('exit', ok)));
    expect(code).toBe(0);
    expect(waited).toBeGreaterThan(500); // it waited for the holder, which held on for 1.5 s
    expect(existsSync(runPaths(dir).lock)).toBe(false);
    expect(said).toEqual([`${dir}: waiting for ${hostname()}:${holder.pid}, which still trains it`]); // said once
    // A lock whose holder is dead (a killed worker's) or no lock: no wait; train's own lock check takes over.
    writeFileSync(runPaths(dir).lock, JSON.stringify({ holder: { pid: holder.pid, host: hostname() }, command: 'test', since: new Date().toISOString() }));
    const t1 = performance.now();
    await waitForHolder(dir, (l) => void said.push(l), 50);
    rmSync(runPaths(dir).lock);
    await waitForHolder(dir, (l) => void said.push(l), 50);
    expect(performance.now() - t1).toBeLessThan(500);
    expect(said.length).toBe(1);
  });
});

describe.skipIf(skipRedis)('sweep run --queue (BullMQ on redis-server) with pix2pix worker processes', { timeout: 300_000 }, () => {
  it('a 4-variant x 2-seed sweep over 2 workers: every run equals its config trained alone', async () => {
    const redis = await startRedis();
    const root = scratch('queue');
    const out = join(root, 'out');
    const file = writeSweep(root, { base: baseLess('ndf'), axes: { objective: ['l1', 'l1+cgan'], ndf: [8, 16], seed: [0, 1] } });
    const enqueue = cli('sweep', 'run', file, '--out', out, '--queue', redis.url, '--queue-name', 'q1');
    expect((await exitOf(enqueue)).code, enqueue.stderr()).toBe(0);
    expect(enqueue.stdout()).toContain('8 enqueued');
    const workers = [worker(redis.url, 'q1'), worker(redis.url, 'q1')];
    const table = await waitForSweep(redis.url, 'q1', out, 8);
    await stopAll(workers);
    const pids = workers.map((w) => `:${w.pid}`);
    const names = ['l1', 'l1+cgan'].flatMap((o) => [8, 16].flatMap((n) => [0, 1].map((s) => `objective=${o},ndf=${n},seed=${s}`)));
    for (const name of names) {
      expect(table).toMatch(new RegExp(`${name.replace(/[+]/g, '\\+')} +done: step 10`));
      expect(pids.some((p) => doneOf(out, name).worker.endsWith(p))).toBe(true);
      expect(weightsOf(runDir(out, name)).equals(await aloneWeights(overridesOf(name))), name).toBe(true);
    }
    // Enqueued again: nothing new.
    const again = cli('sweep', 'run', file, '--out', out, '--queue', redis.url, '--queue-name', 'q1');
    await exitOf(again);
    expect(again.stdout()).toContain('0 enqueued, 0 failed ones retried, 8 already there');
  });

  it('a worker killed with -9 mid-run: its job is taken up by the other worker after the stall check, resumed from its checkpoint, equal to an uninterrupted run', async () => {
    const redis = await startRedis();
    const root = scratch('queue-kill');
    const out = join(root, 'out');
    const base = { ...TINY_BASE, steps: 200, checkpointEvery: 20 };
    const file = writeSweep(root, { base, axes: { seed: [0, 1] } });
    expect((await exitOf(cli('sweep', 'run', file, '--out', out, '--queue', redis.url, '--queue-name', 'q2'))).code).toBe(0);
    const workers = [worker(redis.url, 'q2'), worker(redis.url, 'q2')];
    // The worker that holds seed=0's run (its train.lock names the process).
    const lockPid = () => {
      try {
        return (JSON.parse(readFileSync(join(runDir(out, 'seed=0'), 'train.lock'), 'utf8')) as { holder: { pid: number } }).holder.pid;
      } catch {
        return undefined;
      }
    };
    await waitUntil(workers[0]!, 'seed=0 to checkpoint', () => (checkpointStep(runDir(out, 'seed=0')) ?? 0) >= 20 && lockPid() !== undefined, 60_000);
    const victim = workers.find((w) => w.pid === lockPid())!;
    expect(victim).toBeDefined();
    const cutAt = checkpointStep(runDir(out, 'seed=0'))!;
    victim.proc.kill('SIGKILL');
    const table = await waitForSweep(redis.url, 'q2', out, 2);
    const survivor = workers.find((w) => w !== victim)!;
    await stopAll(workers);
    expect(cutAt).toBeLessThan(200);
    expect(doneOf(out, 'seed=0').worker.endsWith(`:${survivor.pid}`)).toBe(true);
    expect(survivor.stderr()).toMatch(/seed=0: started \(taken over from [^)]+:\d+\)/);
    expect(table).toMatch(/seed=0 +done: step 200/);
    expect(stepRecords(runDir(out, 'seed=0')).map((r) => r['step'])).toEqual(range1(200)); // resumed, one record per step
    for (const seed of [0, 1]) expect(weightsOf(runDir(out, `seed=${seed}`)).equals(await aloneWeights({ steps: 200, checkpointEvery: 20, seed })), `seed=${seed}`).toBe(true);
  });

  it('an invalid config fails with its decode error in sweep status while the others finish, through a Redis restart mid-sweep', async () => {
    const redis = await startRedis();
    const root = scratch('queue-restart');
    const out = join(root, 'out');
    const base = { ...baseLess('ngf'), steps: 200, checkpointEvery: 20 };
    const file = writeSweep(root, { base, variants: [{ ngf: -1 }, { ngf: 8, seed: 0 }, { ngf: 8, seed: 1 }] });
    expect((await exitOf(cli('sweep', 'run', file, '--out', out, '--queue', redis.url, '--queue-name', 'q3'))).code).toBe(0);
    const workers = [worker(redis.url, 'q3'), worker(redis.url, 'q3')];
    await waitUntil(workers[0]!, 'a checkpoint', () => (checkpointStep(runDir(out, 'ngf=8,seed=0')) ?? 0) >= 20 || (checkpointStep(runDir(out, 'ngf=8,seed=1')) ?? 0) >= 20, 60_000);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 2000));
    await redis.start();
    const table = await waitForSweep(redis.url, 'q3', out, 3);
    await stopAll(workers);
    expect(table).toMatch(/ngf=-1 +failed: invalid config: ngf=-1: .*ngf/);
    for (const seed of [0, 1]) {
      expect(table).toMatch(new RegExp(`ngf=8,seed=${seed} +done: step 200`));
      expect(weightsOf(runDir(out, `ngf=8,seed=${seed}`)).equals(await aloneWeights({ steps: 200, checkpointEvery: 20, seed })), `seed=${seed}`).toBe(true);
    }
    expect(workers.map((w) => w.stderr()).join('\n')).toMatch(/queue: .*(ECONNREFUSED|Connection is closed)/); // they saw Redis go
    const status = cli('sweep', 'status', '--out', out, '--queue', redis.url, '--queue-name', 'q3');
    expect((await exitOf(status)).code).toBe(1); // a failed job
  });
});
