/**
 * A PyTorch state_dict into this library's parameter and state trees.
 *
 * The reference (pytorch-CycleGAN-and-pix2pix) registers its modules in the
 * order the layers run — the U-Net's nested blocks as down conv, norm,
 * submodule, up conv, norm; the ResNet's Sequential; NLayerDiscriminator —
 * and this library's networks list their layers in the same order. So the
 * state_dict's modules (its keys grouped by prefix, in the file's order)
 * are paired with the network's layers with parameters (its leaves grouped
 * by layer, in plan order), and each pair is checked by kind and shape:
 * conv weights [out, in, kh, kw] and transposed-conv weights
 * [in, out, kh, kw] become [kh, kw, in, out] / [kh, kw, out, in]; batch
 * norm's weight / bias are gamma / beta, its running_mean / running_var go
 * to the layer's state (num_batches_tracked is dropped). A mismatch is an
 * error that lists the first keys on each side and suggests the flag to
 * change. No file system here.
 */
import * as tf from '@tensorflow/tfjs';
import type { Layer } from '../core/layer.ts';
import { makeKey } from '../core/key.ts';
import type { Shape } from '../core/shape.ts';
import { disposeTree, flatten, withLeaves, type Tree } from '../core/tree.ts';
import { readTorchStateDict, type TorchTensor } from './torch-file.ts';

export class TorchImportError extends Error {
  override readonly name = 'TorchImportError';
}

export interface TorchImportSpec {
  /** The network the state_dict is for, and its input shape (HWC). */
  readonly network: Layer;
  readonly input: Shape;
  /** What messages call the file. */
  readonly name?: string;
  /** How messages name the network's settings, e.g. { ngf: '--ngf', norm: '--norm' } (default: the option names). */
  readonly flags?: { readonly ngf?: string; readonly norm?: string; readonly generator?: string };
}

interface TorchModule {
  readonly prefix: string;
  readonly entries: Map<string, TorchTensor>;
}
interface OurLayer {
  readonly path: string;
  readonly params: Map<string, tf.Tensor>;
  readonly state: Map<string, tf.Tensor>;
}

const parent = (key: string, sep: string): [string, string] => {
  const i = key.lastIndexOf(sep);
  return i < 0 ? ['', key] : [key.slice(0, i), key.slice(i + 1)];
};

const groupTorch = (tensors: readonly TorchTensor[]): TorchModule[] => {
  const modules: TorchModule[] = [];
  for (const t of tensors) {
    const [prefix, leaf] = parent(t.key, '.');
    let m = modules[modules.length - 1];
    if (m === undefined || m.prefix !== prefix) modules.push((m = { prefix, entries: new Map() }));
    m.entries.set(leaf, t);
  }
  return modules.filter((m) => m.entries.has('weight') || m.entries.has('bias'));
};

const groupOurs = (params: Tree, state: Tree): OurLayer[] => {
  const layers: OurLayer[] = [];
  const byPath = new Map<string, OurLayer>();
  for (const [p, t] of flatten(params)) {
    const [path, leaf] = parent(p, '/');
    let l = byPath.get(path);
    if (l === undefined) {
      l = { path, params: new Map(), state: new Map() };
      byPath.set(path, l);
      layers.push(l);
    }
    l.params.set(leaf, t);
  }
  for (const [p, t] of flatten(state)) {
    const [path, leaf] = parent(p, '/');
    byPath.get(path)?.state.set(leaf, t);
  }
  return layers;
};

const shapeOf = (s: readonly number[]) => `[${s.join(', ')}]`;

/** [out, in, kh, kw] or [in, out, kh, kw] -> [kh, kw, in, out] or [kh, kw, out, in]: the same permutation. */
const fromTorchConv = (t: TorchTensor): { shape: number[]; data: Float32Array } => {
  const [a, b, kh, kw] = t.shape as [number, number, number, number];
  const data = new Float32Array(t.data.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) data[((y * kw + x) * b + j) * a + i] = t.data[((i * b + j) * kh + y) * kw + x]!;
  return { shape: [kh, kw, b, a], data };
};

/**
 * The network's parameter and state trees with the values of the
 * state_dict in `bytes` (a torch.save file, zip or legacy). The trees are
 * new tensors; the caller disposes them.
 */
export const importTorchStateDict = (bytes: Uint8Array, spec: TorchImportSpec): { readonly params: Tree; readonly state: Tree } => {
  const name = spec.name ?? 'the state_dict';
  const flag = { ngf: spec.flags?.ngf ?? 'ngf', norm: spec.flags?.norm ?? 'norm', generator: spec.flags?.generator ?? 'the network' };
  const modules = groupTorch(readTorchStateDict(bytes, name));
  const template = spec.network.init(makeKey(0), spec.input);
  try {
    const layers = groupOurs(template.params, template.state);
    const listing = () =>
      `${name} has ${modules.slice(0, 4).map((m) => `${m.prefix}.{${[...m.entries.keys()].join(',')}} ${shapeOf(m.entries.get('weight')?.shape ?? m.entries.get('bias')!.shape)}`).join('; ')}${modules.length > 4 ? '; ...' : ''}` +
      `, the network ${layers.slice(0, 4).map((l) => `${l.path}/{${[...l.params.keys()].join(',')}} ${shapeOf(l.params.get('w')?.shape ?? l.params.get('gamma')?.shape ?? [...l.params.values()][0]!.shape)}`).join('; ')}${layers.length > 4 ? '; ...' : ''}`;
    if (modules.length !== layers.length) {
      const normHint = modules.length > layers.length ? `${flag.norm} batch` : `${flag.norm} instance`;
      throw new TorchImportError(
        `${name}: it has ${modules.length} modules with parameters, the network ${layers.length} layers with parameters: another architecture (${flag.generator}? ${normHint}?). ${listing()}`,
      );
    }
    const values = new Map<tf.Tensor, { shape: number[]; data: Float32Array }>();
    const stateValues = new Map<tf.Tensor, { shape: number[]; data: Float32Array }>();
    modules.forEach((m, i) => {
      const l = layers[i]!;
      const at = `${name}: ${m.prefix} (module ${i + 1} of ${modules.length}) against the network's ${l.path}`;
      const weight = m.entries.get('weight');
      const bias = m.entries.get('bias');
      const put = (ours: tf.Tensor | undefined, theirs: { shape: number[]; data: Float32Array }, what: string, into = values) => {
        if (ours === undefined) throw new TorchImportError(`${at}: the network has no ${what} there (${flag.norm}? ${flag.generator}?). ${listing()}`);
        if (shapeOf(ours.shape) !== shapeOf(theirs.shape)) {
          const ratio = ours.shape.length > 0 && theirs.shape.length > 0 ? theirs.shape[theirs.shape.length - 1]! / ours.shape[ours.shape.length - 1]! : 1;
          const hint = Number.isFinite(ratio) && ratio !== 1 ? ` (a ${ratio > 1 ? 'wider' : 'narrower'} network: ${flag.ngf} ×${ratio}?)` : '';
          throw new TorchImportError(`${at}: ${what} is ${shapeOf(theirs.shape)} in the file (as this library lays it out) but ${shapeOf(ours.shape)} in the network${hint}`);
        }
        into.set(ours, theirs);
      };
      if (l.params.has('w')) {
        if (weight === undefined || weight.shape.length !== 4) throw new TorchImportError(`${at}: the network has a conv there, the file ${weight === undefined ? 'no weight' : `a ${weight.shape.length}-d weight ${shapeOf(weight.shape)} (a norm layer? ${flag.norm})`}`);
        put(l.params.get('w'), fromTorchConv(weight), 'the conv weight');
        if (bias !== undefined) put(l.params.get('b'), { shape: [...bias.shape], data: bias.data }, 'a conv bias (the reference uses one with instance norm only)');
        else if (l.params.has('b')) throw new TorchImportError(`${at}: the network's conv has a bias, the file's has none (${flag.norm} batch?)`);
      } else if (l.params.has('gamma') || l.params.has('beta')) {
        if (weight === undefined || weight.shape.length !== 1) throw new TorchImportError(`${at}: the network has a norm layer there, the file ${weight === undefined ? 'no weight' : `a ${weight.shape.length}-d weight ${shapeOf(weight.shape)}`} (${flag.norm}?)`);
        put(l.params.get('gamma'), { shape: [...weight.shape], data: weight.data }, 'the norm scale');
        if (bias !== undefined) put(l.params.get('beta'), { shape: [...bias.shape], data: bias.data }, 'the norm shift');
        const mean = m.entries.get('running_mean');
        const variance = m.entries.get('running_var');
        if (mean !== undefined && variance !== undefined && l.state.has('mean')) {
          put(l.state.get('mean'), { shape: [...mean.shape], data: mean.data }, 'the running mean', stateValues);
          put(l.state.get('variance'), { shape: [...variance.shape], data: variance.data }, 'the running variance', stateValues);
        }
      } else {
        throw new TorchImportError(`${at}: the network's leaves ${[...l.params.keys()].join(', ')} are not a conv's or a norm's`);
      }
    });
    const fill = (tree: Tree, from: Map<tf.Tensor, { shape: number[]; data: Float32Array }>, what: string): Tree =>
      withLeaves(
        tree,
        flatten(tree).map(([p, t]) => {
          const v = from.get(t);
          if (v === undefined) throw new TorchImportError(`${name}: nothing in the file for the network's ${what} ${p}`);
          return tf.tensor(v.data, v.shape);
        }),
      );
    const params = fill(template.params, values, 'parameter');
    try {
      return { params, state: fill(template.state, stateValues, 'running statistic (the file has none: use mode paper)') };
    } catch (e) {
      disposeTree(params);
      throw e;
    }
  } finally {
    disposeTree(template.params);
    disposeTree(template.state);
  }
};
