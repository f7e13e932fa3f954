/**
 * TrainState <-> checkpoint directory. Everything needed to continue bit for
 * bit: both networks' parameters and state, both Adam states (moments and
 * step counts), the step / epoch / position counters and the run's key.
 */
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import type { Tree } from '../core/tree.ts';
import { CheckpointError, loadCheckpoint, saveCheckpoint, saveCheckpointSync } from '../io/checkpoint.ts';
import { disposeState, type TrainState } from './state.ts';
import { describeErrors } from './config.ts';

const NonNegativeInt = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
const Word = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32, 'a 32-bit word');

export const TrainMeta = t.type({
  step: NonNegativeInt,
  epoch: NonNegativeInt,
  position: NonNegativeInt,
  key: t.tuple([Word, Word]),
  gAdamCount: NonNegativeInt,
  dAdamCount: NonNegativeInt,
});
export type TrainMeta = t.TypeOf<typeof TrainMeta>;

const treesOf = (s: TrainState): Record<string, Tree> => ({
  'g.params': s.g.params,
  'g.state': s.g.state,
  'd.params': s.d.params,
  'd.state': s.d.state,
  'gOpt.m': s.gOpt.m,
  'gOpt.v': s.gOpt.v,
  'dOpt.m': s.dOpt.m,
  'dOpt.v': s.dOpt.v,
});

const metaOf = (s: TrainState): TrainMeta => ({
  step: s.step,
  epoch: s.epoch,
  position: s.position,
  key: [s.key[0], s.key[1]],
  gAdamCount: s.gOpt.count,
  dAdamCount: s.dOpt.count,
});

export const saveTrainState = (dir: string, s: TrainState): Promise<void> => saveCheckpoint(dir, { trees: treesOf(s), meta: metaOf(s) });

/** For a SIGINT handler: no awaits between reading the tensors and the rename. */
export const saveTrainStateSync = (dir: string, s: TrainState): void => saveCheckpointSync(dir, { trees: treesOf(s), meta: metaOf(s) });

/** The step a checkpoint was saved at, without loading its tensors. */
export const readTrainMeta = async (dir: string): Promise<TrainMeta> => {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { meta?: unknown };
  return decodeMeta(dir, manifest.meta);
};

const decodeMeta = (dir: string, meta: unknown): TrainMeta => {
  const decoded = TrainMeta.decode(meta);
  if (E.isLeft(decoded)) throw new CheckpointError(dir, `checkpoint ${dir}: bad training metadata: ${describeErrors(decoded.left)}`);
  return decoded.right;
};

/**
 * Load a checkpoint into the structure of `template` (a freshly initialised
 * state of the same model), which is disposed. A checkpoint of another
 * model is a CheckpointError naming the first tensor that differs.
 */
export const loadTrainState = async (dir: string, template: TrainState): Promise<TrainState> => {
  let loaded;
  try {
    loaded = await loadCheckpoint(dir, treesOf(template));
  } finally {
    disposeState(template);
  }
  const meta = decodeMeta(dir, loaded.meta);
  const tr = loaded.trees;
  return {
    g: { params: tr['g.params']!, state: tr['g.state']! },
    d: { params: tr['d.params']!, state: tr['d.state']! },
    gOpt: { m: tr['gOpt.m']!, v: tr['gOpt.v']!, count: meta.gAdamCount },
    dOpt: { m: tr['dOpt.m']!, v: tr['dOpt.v']!, count: meta.dAdamCount },
    step: meta.step,
    epoch: meta.epoch,
    position: meta.position,
    key: meta.key,
  };
};
