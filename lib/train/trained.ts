/**
 * A trained generator from a run's files (a run archive, a browser's file
 * picker or fetches): the model comes from the run's own config, the
 * weights from its checkpoint. No file system here; from a run directory
 * on disk: loadGenerator (pix2pix-ts/node).
 */
import * as E from 'fp-ts/lib/Either.js';
import { makeKey } from '../core/key.ts';
import type { Layer } from '../core/layer.ts';
import { disposeTree, type Tree } from '../core/tree.ts';
import { decodeCheckpoint } from '../io/checkpoint-bytes.ts';
import type { RunFiles } from '../io/run-archive.ts';
import type { Objective } from '../losses/objective.ts';
import { networksOf, type TrainConfig } from './config.ts';
import { parseRunConfig, RunError } from './run-config.ts';

export interface TrainedGenerator {
  readonly config: TrainConfig;
  readonly generator: Layer;
  /** The objective the run trained with (its config's). */
  readonly objective: Objective;
  readonly params: Tree;
  readonly state: Tree;
}

/** The generator a run's config names, or a RunError naming `where`. */
export const generatorOf = (config: TrainConfig, where: string): { readonly generator: Layer; readonly objective: Objective } => {
  const nets = networksOf(config);
  if (E.isLeft(nets)) throw new RunError(`${where}: ${nets.left}`);
  return { generator: nets.right.generator, objective: nets.right.objective };
};

/**
 * Load G with `load(template)`, where a fresh init gives the structure and
 * shapes the checkpoint must match; the template is disposed either way.
 */
export const withTemplate = async (
  config: TrainConfig,
  where: string,
  load: (template: Readonly<Record<string, Tree>>) => Promise<Readonly<Record<string, Tree>>>,
): Promise<TrainedGenerator> => {
  const { generator, objective } = generatorOf(config, where);
  const template = generator.init(makeKey(0), [config.size, config.size, config.inChannels]);
  try {
    const trees = await load({ 'g.params': template.params, 'g.state': template.state });
    return { config, generator, objective, params: trees['g.params']!, state: trees['g.state']! };
  } finally {
    disposeTree(template.params);
    disposeTree(template.state);
  }
};

/** G of a run from its files; `name` (a file name, a URL) is what errors call it. */
export const generatorFromRun = (files: RunFiles, name = 'run'): Promise<TrainedGenerator> => {
  const config = parseRunConfig(files.config, `${name}: config.json`, name);
  return withTemplate(config, `${name}: config.json`, async (template) => (await decodeCheckpoint(files.checkpoint, template, name)).trees);
};
