// Issue 14: `pix2pix sweep run --workers N` on one machine, no server: real
// worker processes, a worker killed with -9, a sweep stopped and resumed, an
// invalid config; every run's final weights against the same config trained
// alone by `pix2pix train`.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, waitUntil } from './helpers/child.ts';
import { aloneWeights, baseLess, cli, overridesOf, TINY_BASE, writeSweep } from './helpers/sweep.ts';
import { checkpointStep, range1, scratch, stepRecords, weightsOf } from './helpers/tiny-run.ts';

const runDir = (out: string, name: string) => join(out, 'runs', name);
const doneOf = (out: string, name: string) => JSON.parse(readFileSync(join(runDir(out, name), 'done.json'), 'utf8')) as { worker: string; step: number };

/** A sweep of seeds 0 and 1, 200 steps each with a checkpoint every 20, running on 2 one-thread workers. */
const twoSeeds = (name: string) => {
  const root = scratch(name);
  const out = join(root, 'out');
  const file = writeSweep(root, { base: { ...TINY_BASE, steps: 200, checkpointEvery: 20 }, axes: { seed: [0, 1] } });
  return { out, file, run: cli('sweep', 'run', file, '--out', out, '--workers', '2', '--threads', '1') };
};

let fourByTwo: string | undefined; // the first test's sweep folder, which the report test reads

describe('sweep run --workers (local worker processes)', { timeout: 300_000 }, () => {
  it('a 4-variant x 2-seed sweep on 2 worker processes: every run equals its config trained alone', async () => {
    const root = scratch('sweep-local');
    const out = join(root, 'out');
    fourByTwo = out;
    const file = writeSweep(root, { base: baseLess('ndf'), axes: { objective: ['l1', 'l1+cgan'], ndf: [8, 16], seed: [0, 1] } });
    const run = cli('sweep', 'run', file, '--out', out, '--workers', '2', '--threads', '1');
    const exit = await exitOf(run, 180_000);
    expect(exit.code, run.stderr() + run.stdout()).toBe(0);
    const names = ['l1', 'l1+cgan'].flatMap((o) => [8, 16].flatMap((n) => [0, 1].map((s) => `objective=${o},ndf=${n},seed=${s}`)));
    const workers = new Set<string>();
    for (const name of names) {
      expect(doneOf(out, name).step).toBe(10);
      workers.add(doneOf(out, name).worker);
      expect(weightsOf(runDir(out, name)).equals(await aloneWeights(overridesOf(name))), name).toBe(true);
    }
    expect(workers.size).toBe(2); // two processes shared the runs
    // Run again: nothing is trained.
    const again = cli('sweep', 'run', file, '--out', out, '--workers', '2');
    expect((await exitOf(again)).code).toBe(0);
    expect(again.stdout()).toContain('0 trained, 8 already done');
    // A run trained to its end whose done.json was never written (its worker lost just before): done at once, not failed, not trained on.
    const first = runDir(out, names[0]!);
    const weights = weightsOf(first);
    rmSync(join(first, 'done.json'));
    const third = cli('sweep', 'run', file, '--out', out, '--workers', '2');
    expect((await exitOf(third)).code, third.stderr()).toBe(0);
    expect(third.stdout()).toContain('1 trained, 7 already done, 0 failed');
    expect(doneOf(out, names[0]!).step).toBe(10);
    expect(weightsOf(first).equals(weights)).toBe(true);
  });

  it("sweep report: per variant, the mean and sample std over seeds of each run's pix2pix eval scores", async () => {
    const out = fourByTwo!;
    const report = cli('sweep', 'report', '--out', out);
    expect((await exitOf(report)).code, report.stderr()).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'report', 'report.json'), 'utf8')) as { variants: Array<{ name: string; runs: string[]; metrics: Record<string, { mean: number; std: number }> }> };
    expect(json.variants.map((v) => v.name)).toEqual(['objective=l1,ndf=8', 'objective=l1,ndf=16', 'objective=l1+cgan,ndf=8', 'objective=l1+cgan,ndf=16']);
    const md = readFileSync(join(out, 'report', 'report.md'), 'utf8');
    for (const v of json.variants) {
      expect(v.runs).toEqual([0, 1].map((s) => `${v.name},seed=${s}`));
      // The oracle: pix2pix eval of each run (the fixture has val/, the runs' held-out split), then mean and std by hand.
      const scores = [];
      for (const run of v.runs) {
        const e = cli('eval', '--run', join(out, 'runs', run), '--data', TINY_BASE.data, '--split', 'val', '--json', '-');
        expect((await exitOf(e)).code, e.stderr()).toBe(0);
        scores.push((JSON.parse(e.stdout()) as { mean: { l1: number; ssim: number } }).mean);
      }
      for (const k of ['l1', 'ssim'] as const) {
        const [a, b] = [scores[0]![k], scores[1]![k]];
        expect(v.metrics[k]!.mean).toBeCloseTo((a + b) / 2, 12);
        expect(v.metrics[k]!.std).toBeCloseTo(Math.abs(a - b) / Math.SQRT2, 12); // n = 2: |a - b| / sqrt(2)
      }
      expect(md).toContain(`| ${v.name} | 2 | ${v.metrics['l1']!.mean.toFixed(4)} ± ${v.metrics['l1']!.std.toFixed(4)} |`);
    }
    expect(readFileSync(join(out, 'report', 'index.html'), 'utf8')).toContain('../runs/objective=l1,ndf=8,seed=0/samples/');
  });

  it('a worker killed with -9 mid-run: a new worker resumes the run from its checkpoint and it ends as the uninterrupted run', async () => {
    const { out, run } = twoSeeds('sweep-kill');
    const victim = runDir(out, 'seed=0');
    await waitUntil(run, 'seed=0 to checkpoint', () => (checkpointStep(victim) ?? 0) >= 20 && /\[(\d+)\] seed=0: started/.test(run.stdout()), 60_000);
    const pid = Number(/\[(\d+)\] seed=0: started/.exec(run.stdout())![1]);
    const cutAt = checkpointStep(victim)!;
    process.kill(pid, 'SIGKILL');
    const exit = await exitOf(run, 120_000);
    expect(exit.code, run.stderr() + run.stdout()).toBe(0);
    expect(run.stdout()).toContain(`[${pid}] worker died (SIGKILL) during seed=0`);
    expect(cutAt).toBeLessThan(200); // it was cut off
    expect(doneOf(out, 'seed=0').worker.endsWith(`:${pid}`)).toBe(false); // finished by another worker
    expect(stepRecords(victim).map((r) => r['step'])).toEqual(range1(200)); // one record per step: resumed, not restarted
    for (const seed of [0, 1]) expect(weightsOf(runDir(out, `seed=${seed}`)).equals(await aloneWeights({ steps: 200, checkpointEvery: 20, seed })), `seed=${seed}`).toBe(true);
  });

  it('SIGTERM stops the sweep with checkpoints (exit 143); the same command skips what is done and resumes the rest', async () => {
    const { out, file, run } = twoSeeds('sweep-stop');
    await waitUntil(run, 'both runs to checkpoint', () => [0, 1].every((s) => (checkpointStep(runDir(out, `seed=${s}`)) ?? 0) >= 20), 60_000);
    run.proc.kill('SIGTERM');
    const exit = await exitOf(run);
    expect(exit.code, run.stderr()).toBe(143);
    expect(run.stdout()).toContain('stopped by SIGTERM');
    const status = cli('sweep', 'status', '--out', out);
    await exitOf(status);
    expect(status.stdout()).toMatch(/seed=0 +(cut off at step \d+|done)/);
    const cut = [0, 1].filter((s) => !existsSync(join(runDir(out, `seed=${s}`), 'done.json')));
    expect(cut.length).toBeGreaterThan(0); // at least one was cut off
    const again = cli('sweep', 'run', file, '--out', out, '--workers', '2', '--threads', '1');
    expect((await exitOf(again, 120_000)).code, again.stderr()).toBe(0);
    expect(again.stdout()).toContain(`${cut.length} trained, ${2 - cut.length} already done`);
    for (const seed of [0, 1]) expect(weightsOf(runDir(out, `seed=${seed}`)).equals(await aloneWeights({ steps: 200, checkpointEvery: 20, seed })), `seed=${seed}`).toBe(true);
  });

  it('the sweep process killed with -9: its workers stop at their next step with a checkpoint, and the same command resumes both runs', async () => {
    const { out, file, run } = twoSeeds('sweep-orphans');
    const started = () => [...run.stdout().matchAll(/\[(\d+)\] seed=\d: started/g)].map((m) => Number(m[1]));
    await waitUntil(run, 'both runs to checkpoint', () => started().length === 2 && [0, 1].every((s) => (checkpointStep(runDir(out, `seed=${s}`)) ?? 0) >= 20), 60_000);
    const workers = started();
    run.proc.kill('SIGKILL');
    await exitOf(run);
    const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^\S+ \S+ Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/\(.*\)/, 'x'));
    const until = Date.now() + 30_000;
    while (workers.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(workers.filter(alive)).toEqual([]); // no orphan goes on training
    // They stopped as on SIGTERM (their stderr is still the killed process's pipe), not by crashing.
    await new Promise((r) => setTimeout(r, 200));
    expect(run.stderr().match(/SIGTERM: finishing this step and writing a checkpoint/g)?.length, run.stderr()).toBe(2);
    const again = cli('sweep', 'run', file, '--out', out, '--workers', '2', '--threads', '1');
    expect((await exitOf(again, 120_000)).code, again.stderr()).toBe(0);
    for (const seed of [0, 1]) expect(weightsOf(runDir(out, `seed=${seed}`)).equals(await aloneWeights({ steps: 200, checkpointEvery: 20, seed })), `seed=${seed}`).toBe(true);
  });

  it('a run whose config is invalid fails with its decode error (sweep status shows it, exit 1); the others finish', async () => {
    const root = scratch('sweep-invalid');
    const out = join(root, 'out');
    const file = writeSweep(root, { base: baseLess('ngf'), axes: { ngf: [8, -1] } });
    const run = cli('sweep', 'run', file, '--out', out, '--workers', '2');
    expect((await exitOf(run)).code).toBe(1);
    expect(run.stdout()).toContain('1 trained, 0 already done, 1 failed');
    const status = cli('sweep', 'status', '--out', out);
    expect((await exitOf(status)).code).toBe(1);
    expect(status.stdout()).toMatch(/ngf=-1 +failed: invalid config: ngf=-1: .*ngf/);
    expect(status.stdout()).toMatch(/ngf=8 +done: step 10/);
  });
});
