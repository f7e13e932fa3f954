/**
 * TrainState <-> checkpoint directory: everything needed to continue bit
 * for bit (see ./state-checkpoint.ts for what a checkpoint of a state holds).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCheckpoint, saveCheckpoint, saveCheckpointSync } from '../io/checkpoint.ts';
import { disposeState, type TrainState } from './state.ts';
import { decodeTrainMeta, trainCheckpoint, trainStateFrom, type TrainMeta } from './state-checkpoint.ts';

export { TrainMeta } from './state-checkpoint.ts';

export const saveTrainState = (dir: string, s: TrainState): Promise<void> => saveCheckpoint(dir, trainCheckpoint(s));

/** For a SIGINT handler: no awaits between reading the tensors and the rename. */
export const saveTrainStateSync = (dir: string, s: TrainState): void => saveCheckpointSync(dir, trainCheckpoint(s));

/** The step a checkpoint was saved at, without loading its tensors. */
export const readTrainMeta = async (dir: string): Promise<TrainMeta> => {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { meta?: unknown };
  return decodeTrainMeta(dir, manifest.meta);
};

/**
 * Load a checkpoint into the structure of `template` (a freshly initialised
 * state of the same model), which is disposed. A checkpoint of another
 * model is a CheckpointError naming the first tensor that differs.
 */
export const loadTrainState = async (dir: string, template: TrainState): Promise<TrainState> => {
  let loaded;
  try {
    loaded = await loadCheckpoint(dir, trainCheckpoint(template).trees);
  } finally {
    disposeState(template);
  }
  return trainStateFrom(dir, loaded, template);
};
