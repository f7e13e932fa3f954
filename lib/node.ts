/**
 * pix2pix-ts/node: everything of pix2pix-ts, and what needs Node — image
 * files through sharp, folders of pairs, dataset downloads, checkpoints and
 * run directories on disk, evaluating a run, the backends (native, wasm,
 * tfjs-node) and their selection.
 */
export * from './index.ts';
export * from './data/node.ts';
export { saveTrainState, saveTrainStateSync, loadTrainState, readTrainMeta } from './train/checkpoint.ts';
export { loadGenerator } from './train/run-model.ts';
export { saveCheckpoint, saveCheckpointSync, loadCheckpoint, findCheckpoint, settleCheckpoint, CheckpointError, WriteError, type CheckpointContents, type CheckpointVersion } from './io/checkpoint.ts';
export { useBackend, registerTrainingKernels, checkBackend, BackendError, describeAdapter, type BackendChoice, type BackendInfo, type WebgpuAdapter } from './backend/index.ts';
export { loadSegmenter } from './metrics/load-segmenter.ts';
export { evaluateRun, type EvaluateOptions, type EvalReport, type ImageResult, type SegmentationSummary } from './metrics/evaluate.ts';
