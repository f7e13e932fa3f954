// Issue 9, items 4, 6, 7 and 8: one trainer per run, a log that matches the checkpoint, no run
// stranded by a failure before its first checkpoint, and every stop signal saving the run.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { exitOf, spawnChild, waitUntil, type Child } from './helpers/child.ts';
import { runCli } from './helpers/run-cli.ts';
import { checkpointStep, facadesCopy, range1, scratch, stepRecords, tinyTrain, truncateFile, weightsOf } from './helpers/tiny-run.ts';

const root = scratch('runs');
/** A run that would go on for all 800 steps of its 200 epochs unless stopped. */
const long = (out: string, ...more: string[]) => spawnChild([...tinyTrain(), '--sample-every', '1000', '--out', out, ...more]);
const linesOf = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);
const trained = (child: Child, out: string, lines = 25) => waitUntil(child, `${lines} loss records`, () => linesOf(join(out, 'losses.jsonl')) >= lines);

describe('#4 one process trains a run at a time', () => {
  it('a second train --resume on a running run is refused naming the PID; the first goes on, its log without duplicates', async () => {
    const out = join(root, 'locked');
    const first = long(out, '--checkpoint-every', '50');
    await trained(first, out);
    const second = await runCli('train', '--out', out, '--resume', '--steps', '900', '--quiet');
    expect(second.status).toBe(1);
    expect(second.err).toMatch(new RegExp(`locked: it is in use by process ${first.pid} \\(pix2pix train --out .*locked, since .*\\): wait for it to end, or stop it \\(kill ${first.pid}\\)`));
    await trained(first, out, linesOf(join(out, 'losses.jsonl')) + 25); // still training
    first.proc.kill('SIGINT');
    expect((await exitOf(first)).code).toBe(130);
    const step = checkpointStep(out)!;
    expect(stepRecords(out).map((r) => r['step'])).toEqual(range1(step));
    expect(existsSync(join(out, 'train.lock'))).toBe(false);
  });

  it('a lock left by a dead process, or by a live process whose PID was reused, is taken over', async () => {
    const out = join(root, 'stale');
    expect((await runCli(...tinyTrain(), '--steps', '2', '--out', out)).status).toBe(0);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const lock = (holder: object) => writeFileSync(join(out, 'train.lock'), JSON.stringify({ holder, command: 'pix2pix train', since: '2026-01-01T00:00:00.000Z' }));
    lock({ pid: dead, host: hostname() });
    expect((await runCli('train', '--out', out, '--resume', '--steps', '3', '--quiet')).status).toBe(0);
    // The parent of this process is alive, but it started at another time than the lock says.
    lock({ pid: process.ppid, host: hostname(), start: '1' });
    const r = await runCli('train', '--out', out, '--resume', '--steps', '4', '--quiet');
    expect(r.status, r.err).toBe(0);
    expect(existsSync(join(out, 'train.lock'))).toBe(false);
  });
});

describe('#6 losses.jsonl after a crash and --resume', () => {
  it('holds exactly one record per step 1..N, the same records as an uninterrupted run', async () => {
    const out = join(root, 'log');
    // Killed right after a checkpoint: the records it covers must already be on disk.
    let child = long(out, '--checkpoint-every', '7');
    await waitUntil(child, 'a checkpoint', () => (checkpointStep(out) ?? 0) >= 7);
    child.proc.kill('SIGKILL');
    await exitOf(child);
    expect(stepRecords(out).map((r) => r['step']).slice(0, checkpointStep(out))).toEqual(range1(checkpointStep(out)!));
    // Killed between checkpoints: records past the checkpoint are on disk and must go.
    child = spawnChild(['train', '--out', out, '--resume', '--quiet']);
    await waitUntil(child, 'a checkpoint at step 21 and records past it', () => (checkpointStep(out) ?? 0) >= 21 && linesOf(join(out, 'losses.jsonl')) > checkpointStep(out)! + 3);
    child.proc.kill('SIGKILL');
    await exitOf(child);
    expect(stepRecords(out).length).toBeGreaterThan(checkpointStep(out)!);
    const resumed = await runCli('train', '--out', out, '--resume', '--steps', '40', '--quiet');
    expect(resumed.status, resumed.err).toBe(0);
    const ref = join(root, 'log-ref');
    expect((await runCli(...tinyTrain(), '--sample-every', '1000', '--steps', '40', '--out', ref)).status).toBe(0);
    expect(stepRecords(out).map((r) => r['step'])).toEqual(range1(40));
    expect(stepRecords(out)).toEqual(stepRecords(ref));
    expect(weightsOf(out).equals(weightsOf(ref))).toBe(true);
  });
});

describe('#7 a failure before the first checkpoint strands nothing', () => {
  it('--load-size below --size is a flag error, and nothing is created', async () => {
    const out = join(root, 'small-load');
    const r = await runCli(...tinyTrain(), '--load-size', '30', '--out', out);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/--load-size 30 is smaller than --size 32/);
    expect(existsSync(out)).toBe(false);
  });

  it('a sample image that does not decode fails before anything is written', async () => {
    const data = facadesCopy(root, 'bad-val');
    truncateFile(join(data, 'val', '5.jpg'));
    const out = join(root, 'bad-val-run');
    const r = await runCli(...tinyTrain(data), '--out', out);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/val\/5\.jpg: cannot decode image/);
    expect(existsSync(out)).toBe(false);
  });

  it('a run killed before its first checkpoint: the same command starts it afresh, --resume from step 0; both as an uninterrupted run', async () => {
    const out = join(root, 'stranded');
    const child = long(out, '--checkpoint-every', '1000');
    await trained(child, out);
    child.proc.kill('SIGKILL');
    await exitOf(child);
    expect(existsSync(join(out, 'config.json')) && checkpointStep(out) === undefined).toBe(true);
    const copy = join(root, 'stranded-copy');
    cpSync(out, copy, { recursive: true });
    const ref = join(root, 'stranded-ref');
    expect((await runCli(...tinyTrain(), '--sample-every', '1000', '--checkpoint-every', '1000', '--steps', '30', '--out', ref)).status).toBe(0);

    const again = await runCli(...tinyTrain(), '--sample-every', '1000', '--checkpoint-every', '1000', '--steps', '30', '--out', out);
    expect(again.status, again.err).toBe(0);
    expect(again.err).toMatch(/stopped before its first checkpoint: starting it afresh/);
    const resumed = await runCli('train', '--out', copy, '--resume', '--steps', '30', '--quiet');
    expect(resumed.status, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/has no checkpoint yet: starting from step 0/);
    for (const dir of [out, copy]) {
      expect(weightsOf(dir).equals(weightsOf(ref))).toBe(true);
      expect(stepRecords(dir)).toEqual(stepRecords(ref));
    }
  });

  it('SIGINT during start-up exits 130 saving nothing, and the same command then trains', async () => {
    // 300 pairs decoded in full (--skip-bad) make start-up last long enough to interrupt.
    const data = join(root, 'many', 'train');
    mkdirSync(data, { recursive: true });
    const jpeg = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    for (let i = 0; i < 300; i++) writeFileSync(join(data, `${i}.jpg`), jpeg);
    const out = join(root, 'startup');
    mkdirSync(out);
    const args = [...tinyTrain(join(root, 'many')), '--skip-bad', '--steps', '2', '--out', out];
    const child = spawnChild(args);
    await waitUntil(child, 'the lock', () => existsSync(join(out, 'train.lock')));
    child.proc.kill('SIGINT');
    expect((await exitOf(child)).code).toBe(130);
    expect(child.stderr()).toMatch(/SIGINT before training started: nothing to save; the same command starts the run again/);
    expect(existsSync(join(out, 'train.lock'))).toBe(false);
    const r = await runCli(...args);
    expect(r.status, r.err).toBe(0);
    expect(checkpointStep(out)).toBe(2);
  });
});

describe('#8 SIGTERM and SIGHUP save the run as SIGINT does', () => {
  it('SIGTERM exits 143 and SIGHUP 129, each after a checkpoint at the step it reports; --resume continues', async () => {
    const out = join(root, 'signals');
    let child = long(out, '--checkpoint-every', '1000');
    for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      await trained(child, out, linesOf(join(out, 'losses.jsonl')) + 25);
      child.proc.kill(signal);
      expect(await exitOf(child)).toEqual({ code, signal: null });
      const step = Number(new RegExp(`stopped by ${signal} at step (\\d+)`).exec(child.stdout())?.[1]);
      expect(step).toBeGreaterThan(20);
      expect(checkpointStep(out)).toBe(step);
      expect(child.stdout()).toMatch(/continue with: pix2pix train --out .*signals --resume/);
      expect(stepRecords(out).map((r) => r['step'])).toEqual(range1(step));
      child = spawnChild(['train', '--out', out, '--resume', '--quiet']);
    }
    child.proc.kill('SIGKILL');
    await exitOf(child);
  });
});
