// Sweeps as values: a base config and axes, expanded to named run configs.
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectionOf } from '../lib/sweep/queue.ts';
import { groupVariants, meanStd } from '../lib/sweep/report.ts';
import { readSweep, runName, sweep, sweepOf } from '../lib/sweep/sweep.ts';

const base = { data: 'datasets/facades', direction: 'BtoA', size: 64, loadSize: 72, generator: 'unet64', ngf: 32, ndf: 32 };
const right = <A>(e: E.Either<string, A>): A => {
  if (E.isLeft(e)) throw new Error(e.left);
  return e.right;
};

describe('sweep(base, axes)', () => {
  it("the paper's Table 1 with 3 seeds: 15 runs, the first axis slowest, named by their varied fields, each a decoded config", () => {
    const objectives = ['l1', 'gan', 'cgan', 'l1+gan', 'l1+cgan'];
    const runs = right(sweep(base, { objective: objectives, seed: [0, 1, 2] }));
    expect(runs.map((r) => r.name)).toEqual(objectives.flatMap((o) => [0, 1, 2].map((s) => `objective=${o},seed=${s}`)));
    for (const r of runs) {
      const c = right(r.config);
      expect([c.objective, c.seed]).toEqual([r.overrides['objective'], r.overrides['seed']]);
      expect([c.data, c.size, c.generator, c.lambda]).toEqual(['datasets/facades', 64, 'unet64', 100]); // the base, and the defaults
    }
  });

  it('the number of runs is the product of the axis lengths, and the names are distinct (any axes)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 }), (lengths) => {
        const fields = ['seed', 'ngf', 'ndf'];
        const axes = Object.fromEntries(lengths.map((n, i) => [fields[i]!, Array.from({ length: n }, (_, k) => k + 1)]));
        const runs = right(sweep({ data: 'd' }, axes));
        expect(runs.length).toBe(lengths.reduce((a, b) => a * b, 1));
        expect(new Set(runs.map((r) => r.name)).size).toBe(runs.length);
      }),
    );
  });

  it('a value a field does not take fails that run only, naming it; the others decode', () => {
    const runs = right(sweep({ data: 'd' }, { ngf: [16, -1, 32] }));
    expect(runs.map((r) => E.isRight(r.config))).toEqual([true, false, true]);
    expect((runs[1]!.config as E.Left<string>).left).toMatch(/^ngf=-1: .*ngf/);
  });

  it('an axis that is no config field, an empty axis, a field set twice, a repeated value: a Left for the whole sweep', () => {
    expect(sweep(base, { objectiv: ['l1'] })).toEqual(E.left(expect.stringMatching(/^axes: 'objectiv' is not a config field \(the fields: .*objective/)));
    expect(sweep(base, { seed: [] })).toEqual(E.left('axes: seed has no values'));
    expect(sweep(base, { ngf: [8] })).toEqual(E.left('axes: ngf is also set in the base; set it in one place'));
    expect(sweep(base, { seed: [1, 1] })).toEqual(E.left('axes: two runs would both be named seed=1 (a value repeated in an axis?)'));
  });

  it('names are one folder name: / , and % in values are escaped; no axis is "base"', () => {
    expect(runName({ data: 'a/b,c%' })).toBe('data=a%2Fb%2Cc%25');
    expect(right(sweep(base)).map((r) => r.name)).toEqual(['base']);
  });
});

describe('sweepOf(file)', () => {
  it('a file with axes, or an explicit list of variants; not both; bad shapes named', () => {
    expect(right(sweepOf({ base, axes: { seed: [0, 1] } })).map((r) => r.name)).toEqual(['seed=0', 'seed=1']);
    const listed = right(sweepOf({ base, variants: [{ discriminator: 'pixel' }, { discriminator: 'patch16', ndf: 16 }] }));
    expect(listed.map((r) => r.name)).toEqual(['discriminator=pixel', 'discriminator=patch16,ndf=16']);
    expect(right(listed[1]!.config).ndf).toBe(16);
    expect(sweepOf({ base, axes: { seed: [0] }, variants: [{}] }, 't1.json')).toEqual(E.left('t1.json: give axes (a cross product) or variants (a list), not both'));
    expect(sweepOf({ base: { ...base, sizee: 3 } }, 't1.json')).toEqual(E.left(expect.stringMatching(/^t1\.json: base: 'sizee' is not a config field/)));
    expect(sweepOf({ axes: {} }, 't1.json')).toEqual(E.left(expect.stringMatching(/^t1\.json: .*base/)));
  });
});

describe('readSweep and the report arithmetic', () => {
  it("a sweep file's eval section decodes; a top-level key that is not part of a sweep file fails it, naming the key", () => {
    const s = right(readSweep({ base, axes: { seed: [0, 1] }, eval: { split: 'train', range: [-40, 0] } }));
    expect(s.eval).toEqual({ split: 'train', range: [-40, 0] });
    expect(s.runs.map((r) => r.name)).toEqual(['seed=0', 'seed=1']);
    const bad = readSweep({ base, axis: { seed: [0, 1] } }, 'f.json');
    expect(E.isLeft(bad) && bad.left).toMatch(/^f\.json: 'axis' is not part of a sweep file/);
    expect(E.isLeft(readSweep({ base, eval: { split: 3 } }))).toBe(true);
  });

  it('meanStd is the mean and the sample (n - 1) standard deviation; one value has no std', () => {
    const s = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s.mean).toBe(5);
    expect(s.std).toBeCloseTo(Math.sqrt(32 / 7), 14); // squared deviations sum to 32
    expect(meanStd([3]).std).toBeNull();
  });

  it('groupVariants groups runs by their overrides less the seed, in first-seen order', () => {
    const runs = right(sweep(base, { objective: ['l1', 'cgan'], seed: [0, 1, 2] }));
    const scores = (v: number) => ({ l1: v, l2: 0, psnr: 0, ssim: 0, labL: 0, labA: 0, labB: 0 });
    const rows = groupVariants(runs.map((run, i) => ({ run, scores: scores(i) })));
    expect(rows.map((r) => [r.name, r.runs.length, r.seeds, r.metrics.l1.mean])).toEqual([
      ['objective=l1', 3, [0, 1, 2], 1],
      ['objective=cgan', 3, [0, 1, 2], 4],
    ]);
  });
});


describe('connectionOf (the --queue URL)', () => {
  it('reads host, port, password and database from a redis:// URL, and names what is wrong with any other', () => {
    expect(connectionOf('redis://:s%40cret@10.0.0.5:6380/2')).toMatchObject({ host: '10.0.0.5', port: 6380, password: 's@cret', db: 2, maxRetriesPerRequest: null });
    expect(connectionOf('redis://queue-host')).toMatchObject({ host: 'queue-host', port: 6379 });
    expect(() => connectionOf('http://queue-host:6379')).toThrow(/--queue http:\/\/queue-host:6379: expected a redis:\/\/ URL/);
    expect(() => connectionOf('queue-host:6379')).toThrow(/expected a redis:\/\/ URL|not a URL/);
    expect(() => connectionOf('redis://h:1/x')).toThrow(/the path must be a database number, got \/x/);
  });
});
