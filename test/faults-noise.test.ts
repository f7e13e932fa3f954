// Issue 9, items 17-19: no tfjs banner, short usage errors, and child-process tests that cannot hang.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, spawnChild, waitUntil } from './helpers/child.ts';
import { runCli } from './helpers/run-cli.ts';
import { scratch, tinyTrain } from './helpers/tiny-run.ts';

const root = scratch('noise');

describe('#17 no "install our node backend" banner', () => {
  it('train, translate and summary print no tfjs banner, on any backend chosen', async () => {
    const out = join(root, 'run');
    for (const backend of ['auto', 'cpu']) {
      const train = spawnChild([...tinyTrain(), '--steps', '2', '--backend', backend, '--out', `${out}-${backend}`]);
      expect((await exitOf(train)).code, train.stderr()).toBe(0);
      expect(train.stderr()).not.toMatch(/Hi, looks like|tfjs-node|=====/);
      expect(train.stdout()).toMatch(/, backend (native|wasm|cpu)\n/); // it says which backend instead
    }
    const translate = spawnChild(['translate', '--run', `${out}-auto`, '--input', 'test/fixtures/facades-separate/train/B/1.png', '--output', join(root, 'one.png')]);
    expect((await exitOf(translate)).code).toBe(0);
    const summary = spawnChild(['summary', '--generator', 'unet32', '--size', '32']);
    expect((await exitOf(summary)).code).toBe(0);
    for (const c of [translate, summary]) expect(c.stderr() + c.stdout()).not.toMatch(/Hi, looks like/);
  });
});

describe('#18 a usage error is the message and one line, not the help', () => {
  it.each([
    [['train', '--epocs', '3'], 'train'],
    [['translate', '--run', 'x'], 'translate'],
    [['summary', '--size', 'abc'], 'summary'],
  ])('%j', async (argv, command) => {
    const r = await runCli(...argv);
    expect(r.status).toBe(2);
    const lines = r.err.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^pix2pix ${command}: `));
    expect(lines[1]).toBe(`Run 'pix2pix ${command} --help' for its options.`);
  });
});

describe('#19 the child-process helpers are bounded', () => {
  it('waitUntil rejects as soon as the child exits without the condition, with what it printed', async () => {
    const child = spawnChild(['summary', '--size', 'abc']);
    const started = Date.now();
    await expect(waitUntil(child, 'something that never happens', () => false, 60_000)).rejects.toThrow(/the child exited .*"code":2.*before something that never happens.*--size/s);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('waitUntil and exitOf kill a child that outlives their time limit', async () => {
    const child = spawnChild([...tinyTrain(), '--out', join(root, 'forever')]);
    await expect(waitUntil(child, 'nothing', () => false, 300)).rejects.toThrow(/timed out after 300 ms .*the child was killed/);
    expect(await exitOf(child, 5_000)).toEqual({ code: null, signal: 'SIGKILL' });
    const again = spawnChild([...tinyTrain(), '--out', join(root, 'forever-2')]);
    expect(await exitOf(again, 300)).toEqual({ code: null, signal: 'SIGKILL' });
  });
});
