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
export { runJob, JobFailed, JobStopped, type JobSpec, type JobProgress, type RunJobOptions } from './sweep/job.ts';
export { runLocal, defaultWorkers, type LocalOptions, type SweepOutcome } from './sweep/local.ts';
export { enqueueSweep, startWorker, sweepJobs, waitForJobs, connectionOf, DEFAULT_QUEUE, type JobData, type JobStatus, type WorkerOptions } from './sweep/queue.ts';
export { sweepReport, meanStd, groupVariants, markdownOf, REPORT_METRICS, type ReportOptions, type SweepReport, type VariantRow, type Stat } from './sweep/report.ts';
export { sweepPaths, runState, prepareRun, readDone, type RunDone, type RunState } from './sweep/runs.ts';
