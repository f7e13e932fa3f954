// Issue 9, items 10-16: bad input that used to get through, and messages in the words the user typed.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { foldIn, makeKey } from '../lib/core/key.ts';
import { epochOrder } from '../lib/data/stream.ts';
import { l1 } from '../lib/losses/objective.ts';
import { patchDiscriminator } from '../lib/nets/patch-discriminator.ts';
import { unet } from '../lib/nets/unet.ts';
import { disposeState, initTrainState, stateTensors } from '../lib/train/state.ts';
import { DivergedError, makeStep } from '../lib/train/step.ts';
import { runCli } from './helpers/run-cli.ts';
import { checkpointStep, FACADES, facadesCopy, lossRecords, scratch, stepRecords, tinyTrain, truncateFile } from './helpers/tiny-run.ts';

const root = scratch('input');

describe('#10 a JPEG truncated after a good header', () => {
  // The file the run's shuffle (seed 0) reaches third, so that two steps train before it.
  const third = epochOrder(4, foldIn(makeKey(0), 'data'), 0)[2]! + 1;
  const data = facadesCopy(root, 'truncated');
  truncateFile(join(data, 'train', `${third}.jpg`));

  it('with --skip-bad: every file is decoded before step 0, the bad one listed and skipped, training finishes', async () => {
    const r = await runCli(...tinyTrain(data), '--skip-bad', '--steps', '12', '--out', join(root, 'skip'));
    expect(r.status, r.err).toBe(0);
    expect(r.err).toMatch(new RegExp(`skipped .*train/${third}\\.jpg: cannot decode image`));
    expect(r.out).toMatch(/on 3 pairs of/);
    expect(checkpointStep(join(root, 'skip'))).toBe(12);
  });

  it('without it: the error names the file and the step, and a checkpoint of the last good step is kept', async () => {
    const out = join(root, 'noskip');
    const r = await runCli(...tinyTrain(data), '--checkpoint-every', '1000', '--steps', '12', '--out', out);
    expect(r.status).toBe(1);
    const m = new RegExp(`step (\\d+): .*train/${third}\\.jpg: cannot decode image.*a checkpoint of step (\\d+), the last step completed, was written`).exec(r.err);
    expect(m, r.err).not.toBeNull();
    expect([Number(m![1]), Number(m![2])]).toEqual([3, 2]);
    expect(checkpointStep(out)).toBe(Number(m![2]));
    expect(stepRecords(out).map((x) => x['step'])).toEqual(Array.from({ length: Number(m![2]) }, (_, i) => i + 1));
    expect(r.err).toMatch(/--skip-bad/);
  });
});

describe('#11 numeric flags out of range', () => {
  it.each([
    [['--lr=-1'], /--lr: expected a number in \(0, 1\], got "-1"/],
    [['--lr', '-1'], /--lr: expected a number in \(0, 1\], got "-1"/],
    [['--lr', '0'], /--lr: expected a number in \(0, 1\], got "0"/],
    [['--beta1', '5'], /--beta1: expected a number in \[0, 1\), got "5"/],
    [['--beta2', '1'], /--beta2: expected a number in \[0, 1\), got "1"/],
    [['--time-limit=-1'], /--time-limit: expected a positive number \(minutes\), got "-1"/],
    [['--time-limit', '0'], /--time-limit: expected a positive number \(minutes\)/],
    [['--dropout', '2'], /--dropout: expected a number in \[0, 1\), got "2"/],
    [['--lambda', '-1'], /--lambda: expected a positive number, got "-1"/],
    [['--lambda', '0'], /--lambda: expected a positive number, got "0"/],
    [['--checkpoint-every', '0'], /--checkpoint-every: expected a positive integer, got "0"/],
    [['--sample-every', '0'], /--sample-every: expected a positive integer/],
    [['--epochs', '-1'], /--epochs: expected a non-negative integer, got "-1"/],
  ])('%j: a usage error naming the flag and its range, before anything is written', async (extra, message) => {
    const out = join(root, 'never');
    const r = await runCli(...tinyTrain(), ...extra, '--out', out);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('--dropout on a generator without dropout layers says it has no effect', async () => {
    const r = await runCli(...tinyTrain(), '--dropout', '0.3', '--steps', '1', '--out', join(root, 'dropout'));
    expect(r.status).toBe(0);
    expect(r.err).toMatch(/--dropout 0\.3 has no effect: unet32 has no dropout layers/);
  });
});

describe('#12 non-finite gradients are divergence', () => {
  it('--lambda 1e30: stops at step 1 (as losses.jsonl counts) with G\'s gradient named, and writes no checkpoint', async () => {
    const out = join(root, 'lambda');
    const r = await runCli(...tinyTrain(), '--lambda', '1e30', '--steps', '5', '--out', out);
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/training diverged at step 1: G's gradient is not finite.*losses\.jsonl ends at step 0; no checkpoint was written yet/);
    expect(stepRecords(out)).toEqual([]);
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
  });

  it('the step throws DivergedError on an overflowing gradient with finite losses, leaving the state it was given intact', () => {
    const spec = (lambda: number) => ({ generator: unet({ depth: 4, ngf: 4 }), discriminator: patchDiscriminator(16, { ndf: 4 }), objective: l1(lambda), inputShape: [16, 16, 3] as const, outChannels: 3 });
    const init = initTrainState(spec(1e30), makeKey(0));
    if (E.isLeft(init)) throw new Error(init.left.message);
    const s = init.right;
    const x = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const y = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
    const before = stateTensors(s).map((t) => Array.from(t.dataSync()));
    let thrown: unknown;
    try {
      makeStep(spec(1e30), { donate: true })(s, { x, y });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DivergedError);
    expect((thrown as DivergedError).step).toBe(1);
    expect(Number.isFinite((thrown as DivergedError).metrics['L1'])).toBe(true); // the losses alone looked fine
    expect(stateTensors(s).map((t) => Array.from(t.dataSync()))).toEqual(before);
    // The same state and batch with the paper's weight: a normal step.
    const [next] = makeStep(spec(100))(s, { x, y });
    expect(next.step).toBe(1);
    disposeState(next);
    disposeState(s);
    tf.dispose([x, y]);
  });
});

describe('#13 a flat folder of images', () => {
  it('trains on all of them, and says the samples are training pairs', async () => {
    const flat = join(root, 'flat');
    mkdirSync(flat);
    for (const f of readdirSync(join(FACADES, 'train'))) cpSync(join(FACADES, 'train', f), join(flat, f));
    const out = join(root, 'flat-run');
    const r = await runCli(...tinyTrain(flat), '--steps', '4', '--out', out);
    expect(r.status, r.err).toBe(0);
    expect(r.out).toMatch(/on 4 pairs of .*flat,/);
    expect(r.out).toMatch(/L1 on 4 training pairs \(no held-out split\) 0\.\d+/);
    expect(r.out).not.toMatch(/held-out L1/);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(/Training samples \(no held-out split\)/);
    expect(lossRecords(out).some((x) => 'trainSampleL1' in x) && !lossRecords(out).some((x) => 'valL1' in x)).toBe(true);
  });
});

describe('#14 step counts that train nothing', () => {
  it('--resume --steps 3 on a run at step 10, a finished run, and --epochs 0 --epochs-decay 0 are errors that say why', async () => {
    const out = join(root, 'ten');
    expect((await runCli(...tinyTrain(), '--steps', '10', '--out', out)).status).toBe(0);
    const back = await runCli('train', '--out', out, '--resume', '--steps', '3', '--quiet');
    expect(back.status).toBe(2);
    expect(back.err).toMatch(/--steps 3 is not past the run's step 10: --steps counts every step from step 0, so pass --steps 11 or more/);
    const short = join(root, 'one-epoch');
    expect((await runCli(...tinyTrain(), '--epochs', '1', '--epochs-decay', '0', '--out', short)).status).toBe(0);
    const finished = await runCli('train', '--out', short, '--resume', '--quiet');
    expect(finished.status).toBe(2);
    expect(finished.err).toMatch(/the run has finished: step 4 is the end of its 1 epochs of 4 steps/);
    const none = await runCli(...tinyTrain(), '--epochs', '0', '--epochs-decay', '0', '--steps', '5', '--out', join(root, 'zero'));
    expect(none.status).toBe(2);
    expect(none.err).toMatch(/--epochs 0 and --epochs-decay 0 leave no epoch to train/);
  });
});

describe('#15 the held-out split', () => {
  it('a misspelt --val-split is an error naming the folder it looked for', async () => {
    const r = await runCli(...tinyTrain(), '--val-split', 'vall', '--out', join(root, 'vall'));
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/--val-split vall: there is no folder .*facades\/vall/);
  });

  it('without a val split, training pairs are never called held out', async () => {
    const data = facadesCopy(root, 'no-val');
    const { rmSync } = await import('node:fs');
    rmSync(join(data, 'val'), { recursive: true });
    const r = await runCli(...tinyTrain(data), '--steps', '2', '--out', join(root, 'no-val-run'));
    expect(r.status).toBe(0);
    expect(r.err).toMatch(/has no val\/ split: samples and their L1 are of training pairs, not held out/);
    expect(r.out).toMatch(/L1 on 4 training pairs \(no held-out split\)/);
    expect(r.out).not.toMatch(/held-out L1/);
  });
});

describe('#16 messages name the flags the user typed', () => {
  it.each([
    ['a bad file', ['--data', 'test/fixtures/corrupt'], /pass --skip-bad to skip/, /skipBad/],
    ['the separate layout', ['--data', 'test/fixtures/facades-separate'], /use --layout separate/, /layout 'separate'/],
    ['--load-size', ['--load-size', '20'], /--load-size 20 is smaller than --size 32/, /loadSize|cropSize/],
  ])('%s', async (_what, extra, want, never) => {
    const r = await runCli(...tinyTrain(), ...extra, '--out', join(root, 'words'));
    expect(r.status).not.toBe(0);
    expect(r.err).toMatch(want);
    expect(r.err).not.toMatch(never);
  });

  it("test on a folder that holds the images directly says --split ., not split '.'", async () => {
    const out = join(root, 'split-run');
    expect((await runCli(...tinyTrain(), '--steps', '1', '--out', out)).status).toBe(0);
    const r = await runCli('test', '--run', out, '--data', join(FACADES, 'val'));
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/holds the data directly: pass --split \./);
    expect(r.err).not.toMatch(/split '\.'/);
  });
});
