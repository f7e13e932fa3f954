// The reference's ResNet generator: parameter counts against the PyTorch
// reference's, and the forward pass against PyTorch's on the same weights
// (test/fixtures/torch/make-resnet.py).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { formatShapeError, generator, isTensor, makeKey, mapTree, paramCount, resnetGenerator, type Tree } from '../lib/node.ts';

const count = (r: E.Either<unknown, number>) => (E.isRight(r) ? r.right : NaN);

describe('resnetGenerator parameter counts equal the PyTorch reference (RGB, ngf 64)', () => {
  it.each([
    ['resnet_9blocks, batch norm', { blocks: 9 }, 11_383_427],
    ['resnet_6blocks, batch norm', { blocks: 6 }, 7_841_411],
    ['resnet_9blocks, instance norm (no affine: convs keep their biases)', { blocks: 9, norm: 'instance' as const }, 11_378_179],
  ])('%s: %i', (_name, opts, want) => {
    expect(count(paramCount(resnetGenerator(opts), [256, 256, 3]))).toBe(want);
  });

  it('the presets resnet9 and resnet6 are those networks', () => {
    for (const [name, want] of [['resnet9', 11_383_427], ['resnet6', 7_841_411]] as const) {
      const g = generator(name);
      expect(E.isRight(g) && count(paramCount(g.right, [256, 256, 3]))).toBe(want);
    }
  });

  it('names a size its downsampling cannot give back', () => {
    const r = resnetGenerator().shape([66, 66, 3]);
    expect(E.isLeft(r) && formatShapeError(r.left)).toBe('resnet9 › input: 66x66 is not divisible by 4, so the two stride-2 convolutions and two transposed ones would not give it back');
  });
});

describe("resnetGenerator's forward pass", () => {
  it("equals PyTorch's on the same weights (2 blocks, ngf 4, batch statistics)", () => {
    const f = JSON.parse(readFileSync(new URL('./fixtures/torch/resnet.json', import.meta.url), 'utf8')) as {
      ngf: number; blocks: number; inChannels: number; outChannels: number;
      params: Array<{ shape: number[]; values: number[] }>; x: number[]; xShape: number[]; y: number[]; yShape: number[];
    };
    const G = resnetGenerator({ blocks: f.blocks, ngf: f.ngf, inChannels: f.inChannels, outChannels: f.outChannels, dropout: 0 });
    const made = G.init(makeKey(0), f.xShape.slice(1) as [number, number, number]);
    // Our tree in network order (arrays by index; a conv's w before b, a norm's gamma before beta) is PyTorch's module order.
    const order = ['w', 'b', 'gamma', 'beta'];
    const inOrder: tf.Tensor[] = [];
    const walk = (t: Tree): void => {
      if (isTensor(t)) inOrder.push(t);
      else if (Array.isArray(t)) (t as Tree[]).forEach(walk);
      else for (const k of order.filter((k) => k in (t as object))) walk((t as Record<string, Tree>)[k]!);
    };
    walk(made.params);
    expect(inOrder.map((t) => t.shape)).toEqual(f.params.map((p) => p.shape));
    const byTensor = new Map(inOrder.map((t, i) => [t, tf.tensor(f.params[i]!.values, f.params[i]!.shape)]));
    const params = mapTree(made.params, (t) => byTensor.get(t)!);
    const x = tf.tensor4d(f.x, f.xShape as [number, number, number, number]);
    const [y] = G.apply(params, made.state, x, { mode: 'train', key: makeKey(1) });
    expect(y.shape).toEqual(f.yShape);
    const diff = tf.max(tf.abs(tf.sub(y, tf.tensor(f.y, f.yShape)))).dataSync()[0]!;
    expect(diff).toBeLessThan(2e-5);
    tf.dispose([x, y, ...inOrder, ...byTensor.values()]);
  });
});
