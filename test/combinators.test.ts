// parallel / skip / residual and the `combinator` builder, against the
// layers applied one by one with stock tf ops, and closed-form counts.
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { residual as userResidual } from '../examples/custom-layer.ts';
import {
  add, concat, conv, disposeTree, dropout, flatten, foldIn, footprint, formatShapeError, identity, leaf, makeKey, merge, named,
  paramCount, parallel, pointwise, receptiveField, relu, residual, seq, skip, summarize, type Layer, type Tree,
} from '../lib/node.ts';

const key = makeKey(5);
const ctx = { mode: 'train' as const, key: makeKey(9) };
const x = () => tf.randomNormal([2, 6, 6, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
const same = (a: Tree, b: Tree) => {
  const fa = flatten(a), fb = flatten(b);
  expect(fa.map(([p]) => p)).toEqual(fb.map(([p]) => p));
  fa.forEach(([, t], i) => expect(Array.from(t.dataSync())).toEqual(Array.from(fb[i]![1].dataSync())));
};
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;

describe('parallel(merge, ...branches)', () => {
  it('feeds every branch the input, each with its own key (foldIn(key, i)), and concatenates or adds their outputs', () => {
    const a = seq(conv(4, 3), dropout(0.5));
    const b = conv(2, 1);
    const net = parallel(concat, a, b);
    const made = net.init(key, [6, 6, 3]);
    const ma = a.init(foldIn(key, 0), [6, 6, 3]);
    const mb = b.init(foldIn(key, 1), [6, 6, 3]);
    same(made.params, [ma.params, mb.params]);
    const input = x();
    const [y] = net.apply(made.params, made.state, input, ctx);
    const ya = a.apply(ma.params, ma.state, input, { ...ctx, key: foldIn(ctx.key, 0) })[0];
    const yb = b.apply(mb.params, mb.state, input, { ...ctx, key: foldIn(ctx.key, 1) })[0];
    expect(y.shape).toEqual([2, 6, 6, 6]);
    expect(maxDiff(y, tf.concat([ya, yb], 3))).toBe(0);

    const sum = parallel(add, conv(3, 3), conv(3, 5));
    const ms = sum.init(key, [6, 6, 3]);
    const [ys] = sum.apply(ms.params, ms.state, input, ctx);
    const [p0, p1] = ms.params as [Tree, Tree];
    expect(maxDiff(ys, tf.add(conv(3, 3).apply(p0, [], input, ctx)[0], conv(3, 5).apply(p1, [], input, ctx)[0]))).toBeLessThan(1e-6);
    disposeTree([made.params, ma.params, mb.params, ms.params]);
  });

  it('has the parameters of its branches, the union of their footprints, and its own shape errors', () => {
    const net = parallel(add, conv(4, 3), conv(4, 5));
    expect(paramCount(net, [8, 8, 2])).toEqual(E.right(3 * 3 * 2 * 4 + 4 + 5 * 5 * 2 * 4 + 4));
    // conv 3x3 pad 1 reads o-1..o+1, conv 5x5 pad 2 reads o-2..o+2.
    expect(footprint(net, 3)).toEqual([[1, 5]]);
    expect(receptiveField(seq(net, conv(4, 3)))).toBe(7);
    const bad = parallel(add, conv(4, 3), conv(2, 3)).shape([8, 8, 2]);
    expect(E.isLeft(bad) && formatShapeError(bad.left)).toBe('add: branch outputs 8x8x4, 8x8x2 differ in shape, so they cannot be added');
    const badCat = named('fork', parallel(concat, conv(4, 3), conv(4, 3, { stride: 2 }))).shape([8, 8, 2]);
    expect(E.isLeft(badCat) && formatShapeError(badCat.left)).toBe('fork › concat: branch outputs 8x8, 4x4 differ in size, so they cannot be concatenated');
  });

  it('takes a user merge: a function of the outputs with its own shape rule', () => {
    const maximum = merge('max', (shapes) => E.right(shapes[0]!), (ys) => tf.maximum(ys[0]!, ys[1]!) as tf.Tensor4D);
    const net = parallel(maximum, identity(), relu());
    const input = x();
    const [y] = net.apply([], [], input, ctx);
    expect(maxDiff(y, tf.relu(input))).toBe(0);
  });
});

describe('skip and residual: parallel with the identity', () => {
  it('keep the inner layer\'s weights and key unchanged, and compute concat(x, inner(x)) and x + inner(x)', () => {
    const inner = seq(conv(3, 3), relu(), dropout(0.3));
    const mi = inner.init(key, [6, 6, 3]);
    const input = x();
    const [yi] = inner.apply(mi.params, mi.state, input, ctx);
    for (const [wrap, want] of [[skip, tf.concat([input, yi], 3)], [residual, tf.add(input, yi)]] as const) {
      const net = wrap(inner);
      const made = net.init(key, [6, 6, 3]);
      same(made.params, mi.params);
      expect(maxDiff(net.apply(made.params, made.state, input, ctx)[0], want)).toBe(0);
      disposeTree(made.params);
    }
    disposeTree(mi.params);
  });

  it("the guide's five-line residual, written with `combinator`, is the built-in one", () => {
    const inner = seq(conv(3, 3), relu());
    const a = userResidual(inner);
    const b = residual(inner);
    const ma = a.init(key, [6, 6, 3]);
    same(ma.params, b.init(key, [6, 6, 3]).params);
    const input = x();
    expect(maxDiff(a.apply(ma.params, ma.state, input, ctx)[0], b.apply(ma.params, ma.state, input, ctx)[0])).toBe(0);
    expect(receptiveField(a)).toBe(receptiveField(b));
    expect(paramCount(a, [6, 6, 3])).toEqual(paramCount(b, [6, 6, 3]));
    const bad = residual(conv(5, 3)).shape([6, 6, 3]);
    expect(E.isLeft(bad) && formatShapeError(bad.left)).toBe('residual: inner output 6x6x5 must equal its input 6x6x3');
  });
});

describe('init consumes the plan', () => {
  it('plans each layer once for a whole network, and refuses the plan of another layer', () => {
    let calls = 0;
    const counted = (): Layer => leaf({ name: 'counted', geom: pointwise, output: (s) => (calls++, E.right(s)), apply: (_p, _s, y) => y });
    const net = named('net', seq(counted(), skip(seq(counted(), residual(counted()))), parallel(concat, counted(), counted())));
    const made = net.init(key, [4, 4, 1]);
    expect(calls).toBe(5);
    expect(() => conv(2, 3).init(key, E.getOrElseW(() => undefined)(relu().plan([4, 4, 1]))!)).toThrow(/conv 3x3\/1 was handed the plan of relu/);
    disposeTree(made.params);
  });
});

describe('summaries through combinators', () => {
  it('name the leaves under named scopes only, and give parallel branches the field of the input before them', () => {
    const net = seq(conv(4, 3), named('block', residual(seq(conv(4, 3), relu()))));
    const s = summarize(net, [8, 8, 2]);
    expect(E.isRight(s)).toBe(true);
    if (E.isRight(s)) {
      expect(s.right.rows.map((r) => [r.path, r.receptiveField])).toEqual([['conv 3x3/1', 3], ['block › conv 3x3/1', 5], ['block › relu', 5]]);
      expect(s.right.receptiveField).toBe(5);
    }
  });
});
