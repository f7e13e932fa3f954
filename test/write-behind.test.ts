// Writes behind the training loop (lib/io/write-behind.ts): loss records, sample images and the
// report are written while the next steps run, in the order queued, and a write that fails still
// stops the run with the file named.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainCommand } from '../lib/cli/train.ts';
import { TrainingFailed } from '../lib/cli/train-loop.ts';
import { writeBehind } from '../lib/io/write-behind.ts';
import { runCli } from './helpers/run-cli.ts';
import { FACADES, scratch, stepRecords, tinyTrain } from './helpers/tiny-run.ts';

const tick = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('writeBehind', () => {
  it('runs each write only after every earlier one has finished, in the order queued', async () => {
    const later = writeBehind();
    const events: string[] = [];
    // The first write is the slowest: a queue that started writes at once would finish it last.
    for (const [name, ms] of [['a', 30], ['b', 10], ['c', 0]] as const)
      later.push(async () => {
        events.push(`start ${name}`);
        await tick(ms);
        events.push(`end ${name}`);
      });
    expect(events).toEqual([]); // nothing runs before the caller yields
    await later.drain();
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('keeps the first failure, skips the writes queued after it, and throws it once, from check() or drain()', async () => {
    const later = writeBehind();
    const ran: string[] = [];
    later.push(async () => void ran.push('a'));
    later.push(async () => {
      throw new Error('disk full');
    });
    later.push(async () => void ran.push('c'));
    expect(() => later.check()).not.toThrow(); // not yet run
    await expect(later.drain()).rejects.toThrow('disk full');
    expect(ran).toEqual(['a']);
    expect(() => later.check()).not.toThrow(); // reported once
    later.push(async () => void ran.push('d'));
    await later.drain();
    expect(ran).toEqual(['a', 'd']);

    later.push(async () => {
      throw new Error('gone');
    });
    await tick(0);
    expect(() => later.check()).toThrow('gone');
  });
  it('turn() gives the writes one event-loop turn, or, with more than maxQueued queued, waits for all of them', async () => {
    const later = writeBehind({ maxQueued: 2 });
    const ended: number[] = [];
    const slow = (i: number) => async () => {
      await tick(20);
      ended.push(i);
    };
    later.push(slow(1));
    later.push(slow(2));
    await later.turn(); // two queued: a turn, not a wait
    expect(ended).toEqual([]);
    later.push(slow(3));
    await later.turn(); // three: held back until all are written
    expect(ended).toEqual([1, 2, 3]);
    await later.turn(); // none: at once
  });
});

describe('pix2pix train writes behind its loop', () => {
  it('every record, sample image and the report are on disk when train returns', async () => {
    const run = join(scratch('behind'), 'run');
    const status = await trainCommand([...tinyTrain().slice(1), '--steps', '7', '--sample-every', '3', '--out', run], () => {});
    expect(status).toBe(0);
    expect(stepRecords(run).map((r) => r['step'])).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Samples at steps 0, 3, 6 and the last step, 7: the report shows the last.
    const samples = (JSON.parse(`[${readFileSync(join(run, 'losses.jsonl'), 'utf8').trim().split('\n').join(',')}]`) as Array<Record<string, number>>).filter((r) => r['valL1'] !== undefined);
    expect(samples.map((r) => r['step'])).toEqual([0, 3, 6, 7]);
    const page = readFileSync(join(run, 'index.html'), 'utf8');
    expect(page).toContain('step 7');
    // The images are step 7's, written last: \`pix2pix test\` translates the same pairs from the
    // checkpoint of step 7 (another path: the weights read back from disk) to the same bytes.
    const tested = join(scratch('behind-test'), 'out');
    const t = await runCli('test', '--run', run, '--data', FACADES, '--split', 'val', '--out', tested);
    expect(t.status, t.err).toBe(0);
    const names = readdirSync(join(run, 'samples')).sort();
    expect(names).toEqual(['5-input.png', '5-output.png', '5-target.png', '6-input.png', '6-output.png', '6-target.png']);
    for (const name of names) expect(readFileSync(join(run, 'samples', name)).equals(readFileSync(join(tested, 'images', name))), name).toBe(true);
    
  }, 120_000);

  it('a sample image that cannot be written stops the run at a later step, naming the file', async () => {
    const run = join(scratch('behind-fail'), 'run');
    const samples = join(run, 'samples');
    const run1 = trainCommand([...tinyTrain().slice(1), '--steps', '30', '--sample-every', '4', '--out', run], () => {}, {
      // After step 2 the samples folder becomes a file: step 4's images cannot be written (nor
      // step 0's, if they are still queued then, as on a loaded machine).
      onStep: ({ step }) => {
        if (step !== 2) return;
        rmSync(samples, { recursive: true, maxRetries: 5 }); // a write still under way may add a file meanwhile
        writeFileSync(samples, 'not a folder');
      },
    });
    const error = await run1.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TrainingFailed);
    const message = (error as Error).message;
    expect(message).toMatch(/^step (\d+): cannot write .*samples\/\d+-(input|output|target)\.png/);
    const at = Number(/^step (\d+)/.exec(message)![1]);
    expect(at).toBeGreaterThanOrEqual(3);
    expect(at).toBeLessThan(30);
    expect(message).toMatch(/continue with: pix2pix train --out .* --resume/);
  }, 120_000);
});
