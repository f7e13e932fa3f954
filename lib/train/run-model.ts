/**
 * Load a trained generator from a run directory, or from a run archive (a
 * .zip of one, as the web page saves): the model comes from the run's own
 * config. Below the CLI and the metrics, which both call it.
 */
import { readFile, stat } from 'node:fs/promises';
import { loadCheckpoint } from '../io/checkpoint.ts';
import { decodeRunArchive } from '../io/run-archive.ts';
import { readConfig, runCheckpoint, RunError, runPaths } from './run-dir.ts';
import { generatorFromRun, withTemplate, type TrainedGenerator } from './trained.ts';

export type { TrainedGenerator } from './trained.ts';

/** G of the run in `run`: a run directory, or a run archive (FILE.zip). */
export const loadGenerator = async (run: string): Promise<TrainedGenerator> => {
  const isFile = await stat(run).then((s) => s.isFile(), () => false);
  if (isFile) {
    if (!run.toLowerCase().endsWith('.zip')) throw new RunError(`${run} is a file, not a run directory or a run archive (.zip)`);
    return generatorFromRun(decodeRunArchive(new Uint8Array(await readFile(run)), run), run);
  }
  const config = await readConfig(run);
  if ((await runCheckpoint(run)) === undefined) throw new RunError(`${run} has no checkpoint yet: train it first (or, if it is training, wait for its first checkpoint)`);
  return withTemplate(config, runPaths(run).config, async (template) => (await loadCheckpoint(runPaths(run).checkpoint, template)).trees);
};
