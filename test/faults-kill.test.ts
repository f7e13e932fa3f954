// Issue 9, item 5: SIGKILL at random moments of a run that checkpoints every step (so many kills
// land inside a checkpoint swap), 20 times, each followed by --resume: the run ends bit for bit
// where an uninterrupted one does, with one loss record per step.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findCheckpoint } from '../lib/io/checkpoint.ts';
import { readTrainMeta } from '../lib/train/checkpoint.ts';
import { exitOf, spawnChild, waitUntil } from './helpers/child.ts';
import { runCli } from './helpers/run-cli.ts';
import { checkpointStep, range1, scratch, stepRecords, tinyTrain, weightsOf } from './helpers/tiny-run.ts';

const STEPS = 120;
const KILLS = 20;

/** The highest step of the checkpoint folders whose manifest and weights are both whole (read here, not by the library). */
const newestComplete = (run: string): number | undefined => {
  const steps = (existsSync(run) ? readdirSync(run) : [])
    .filter((n) => n.startsWith('checkpoint'))
    .flatMap((n) => {
      try {
        const m = JSON.parse(readFileSync(join(run, n, 'manifest.json'), 'utf8')) as { byteLength: number; meta: { step: number } };
        return statSync(join(run, n, 'weights.bin')).size === m.byteLength ? [m.meta.step] : [];
      } catch {
        return [];
      }
    });
  return steps.length === 0 ? undefined : Math.max(...steps);
};

/** A small seeded generator (mulberry32), so that a failure can be replayed. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};

describe('#5 kill -9 during training, then --resume, 20 times', () => {
  it('every command finds the newest complete checkpoint, and the final weights equal an uninterrupted run', async () => {
    const root = scratch('kill');
    const flags = [...tinyTrain(), '--checkpoint-every', '1', '--sample-every', '10', '--steps', String(STEPS)];
    const ref = join(root, 'ref');
    expect((await runCli(...flags, '--out', ref)).status).toBe(0);

    const out = join(root, 'killed');
    const next = random(9);
    const seen: string[] = [];
    const log: string[] = [];
    for (let i = 0; i < KILLS; i++) {
      // Until a start-up got as far as writing the run's config, the run is started afresh.
      const child = spawnChild(!existsSync(join(out, 'config.json')) ? [...flags, '--out', out] : ['train', '--out', out, '--resume', '--quiet']);
      const from = checkpointStep(out) ?? 0;
      if (next() < 0.3) {
        // Somewhere in start-up: loading, checking the data, settling the last save, trimming the log.
        await waitUntil(child, 'a moment of start-up', () => false, next() * 1200).catch(() => undefined);
      } else {
        // Once it trains (its checkpoint moves on), a random few steps later.
        await waitUntil(child, 'training to start', () => (checkpointStep(out) ?? 0) > from || child.exit() !== undefined);
        await new Promise((r) => setTimeout(r, next() * 150));
      }
      child.proc.kill('SIGKILL');
      const exit = await exitOf(child);
      // A kill early in the first start-up may come before the run directory exists.
      const left = existsSync(out) ? readdirSync(out).filter((n) => n.startsWith('checkpoint')) : [];
      log.push(`kill ${i}: from ${from}, ${JSON.stringify(exit)}, left ${left.join(' ')}`);
      for (const n of left) seen.push(n.replace(/\.tmp-\d+-[0-9a-f]+$/, '.tmp'));
      // Readers find the newest complete checkpoint among what the kill left.
      const found = await findCheckpoint(join(out, 'checkpoint'));
      expect(found === undefined ? undefined : (await readTrainMeta(found.path)).step, log.join('\n')).toBe(newestComplete(out));
      if (found !== undefined) expect((await runCli('translate', '--run', out, '--input', 'test/fixtures/facades-separate/train/B/1.png', '--output', join(root, 'x.png'))).status).toBe(0);
      if (exit.code === 0) break; // finished before the kill: nothing more to interrupt
    }
    const last = await runCli('train', '--out', out, '--resume', '--quiet');
    const done = checkpointStep(out) === STEPS && last.status === 2 && /the run has finished/.test(last.err);
    if (!done) expect(last.status, `${last.err}\n${log.join('\n')}`).toBe(0);
    expect(checkpointStep(out), log.join('\n')).toBe(STEPS);
    const a = stepRecords(out), b = stepRecords(ref);
    const firstDiff = a.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(b[i]));
    log.push(`first differing record: ${firstDiff} ${JSON.stringify(a[firstDiff])} vs ${JSON.stringify(b[firstDiff])}; ${last.out} ${last.err}`);
    expect(weightsOf(out).equals(weightsOf(ref)), log.join('\n')).toBe(true);
    expect(stepRecords(out).map((r) => r['step'])).toEqual(range1(STEPS));
    expect(stepRecords(out)).toEqual(stepRecords(ref));
    expect(readdirSync(out).filter((n) => n.startsWith('checkpoint'))).toEqual(['checkpoint']);
    expect(existsSync(join(out, 'train.lock'))).toBe(false);
    // The kills did land inside checkpoint swaps (a temporary copy or a backup was left).
    expect(seen.some((n) => n !== 'checkpoint'), log.join('\n')).toBe(true);
  }, 300_000);
});
