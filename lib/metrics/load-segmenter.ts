/** Loading a segmenter from a run directory (Node: reads the run's files). */
import { disposeTree } from '../core/tree.ts';
import { RunError } from '../train/run-dir.ts';
import { loadGenerator, type TrainedGenerator } from '../train/run-model.ts';

/**
 * Load a photo -> labels run (its generator, from the run's config and
 * checkpoint) as a segmenter; it must map RGB to RGB. Free it with
 * `disposeTree(seg.params)` and `disposeTree(seg.state)`.
 */
export const loadSegmenter = async (runDir: string): Promise<TrainedGenerator> => {
  const seg = await loadGenerator(runDir);
  if (seg.config.inChannels !== 3 || seg.config.outChannels !== 3) {
    disposeTree(seg.params);
    disposeTree(seg.state);
    throw new RunError(`segmenter ${runDir} must map RGB photos to RGB label maps, but it maps ${seg.config.inChannels} to ${seg.config.outChannels} channel(s)`);
  }
  return seg;
};
