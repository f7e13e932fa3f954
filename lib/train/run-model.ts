/**
 * Load a trained generator from a run directory: the model comes from the
 * run's own config. Below the CLI and the metrics, which both call it.
 */
import * as E from 'fp-ts/lib/Either.js';
import { makeKey } from '../core/key.ts';
import type { Layer } from '../core/layer.ts';
import type { Objective } from '../losses/objective.ts';
import type { Tree } from '../core/tree.ts';
import { loadCheckpoint } from '../io/checkpoint.ts';
import { networksOf, type TrainConfig } from './config.ts';
import { readConfig, runCheckpoint, RunError, runPaths } from './run-dir.ts';
import { disposeTree } from '../core/tree.ts';

export interface TrainedGenerator {
  readonly config: TrainConfig;
  readonly generator: Layer;
  /** The objective the run trained with (its config's). */
  readonly objective: Objective;
  readonly params: Tree;
  readonly state: Tree;
}

export const loadGenerator = async (runDir: string): Promise<TrainedGenerator> => {
  const config = await readConfig(runDir);
  if ((await runCheckpoint(runDir)) === undefined) throw new RunError(`${runDir} has no checkpoint yet: train it first (or, if it is training, wait for its first checkpoint)`);
  const nets = networksOf(config);
  if (E.isLeft(nets)) throw new RunError(`${runPaths(runDir).config}: ${nets.left}`);
  const G = nets.right.generator;
  // A fresh init gives the structure and shapes the checkpoint must match.
  const template = G.init(makeKey(0), [config.size, config.size, config.inChannels]);
  try {
    const { trees } = await loadCheckpoint(runPaths(runDir).checkpoint, { 'g.params': template.params, 'g.state': template.state });
    return { config, generator: G, objective: nets.right.objective, params: trees['g.params']!, state: trees['g.state']! };
  } finally {
    disposeTree(template.params);
    disposeTree(template.state);
  }
};
