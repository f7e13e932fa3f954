/**
 * pix2pix-ts: composable conditional-GAN image-to-image translation.
 *
 * This entry is isomorphic: layers, networks, losses, optimisers, the
 * training step and fold, data in memory and metrics, with no Node built-in
 * and no sharp, so it bundles for a browser (a test checks). Files, run
 * directories, checkpoints on disk, datasets in folders, downloads, the
 * native backend and backend selection are in pix2pix-ts/node
 * (lib/node.ts), which re-exports this one too.
 */
// Core: layers as values, shapes, keys, parameter trees, static analysis.
export * from './core/shape.ts';
export * from './core/key.ts';
export * from './core/tree.ts';
export * from './core/tape.ts';
export type { Ctx, Initialised, Layer, Mode, Plan } from './core/layer.ts';
export { leaf, normal, constant, zeros, ones, type LeafSpec, type TensorSpec, type Initializer, type Tensors } from './core/leaf.ts';
export { seq, skip, named, feature, parallel, residual, identity, concat, add, merge, type Merge } from './core/combinators.ts';
export { combinator, planFor, type CombinatorSpec, type Child } from './core/combinator.ts';
export { apiPhrasing, type Phrasing } from './core/options.ts';
export { receptiveField, footprint, paramCount, initialize, summarize, formatSummary, type Summary, type SummaryRow } from './core/analysis.ts';
export * from './geometry/geom.ts';
export { footprintOf, extent, period, receptiveFieldOf, type Positions } from './geometry/receptive-field.ts';
// Layers and the paper's networks.
export { conv, convT, type ConvOptions, type ConvTOptions } from './layers/conv.ts';
export { pad, type PadMode } from './layers/pad.ts';
export { avgPool, type PoolOptions } from './layers/pool.ts';
export { norm, normHasShift, type NormKind, type NormOptions } from './layers/norm.ts';
export { dropout } from './layers/dropout.ts';
export { relu, leakyRelu, tanh, sigmoid, expectChannels } from './layers/activations.ts';
export { convBnRelu, type ConvBnReluOptions } from './layers/blocks.ts';
export { unet, encoderDecoder, type UnetOptions } from './nets/unet.ts';
export { resnetGenerator, type ResnetOptions } from './nets/resnet.ts';
export { patchDiscriminator, validPatchSizes, stridedLayersFor, type DiscriminatorOptions } from './nets/patch-discriminator.ts';
export { multiscaleDiscriminator, type Discriminators } from './nets/multiscale.ts';
export { generator, discriminator, generatorPresets, discriminatorPresets, type NetOptions } from './nets/presets.ts';
// Objectives, optimiser, training.
export { ganLoss, generatorLoss, discriminatorLoss, GAN_MODES, type GanMode } from './losses/gan.ts';
export * from './losses/objective.ts';
export * from './optim/adam.ts';
export * from './optim/schedule.ts';
export * from './optim/transform.ts';
export { sumOfSquares, globalNorm } from './optim/global-norm.ts';
export {
  initTrainState, checkSpec, stateTensors, optTensors, disposeReplaced, disposeState, adamOf, discriminatorsOf, optimizersOf, dShapeOf,
  type Pix2PixSpec, type TrainState, type Batch,
} from './train/state.ts';
export { emptyPool, queryPool, type ImagePool } from './train/pool.ts';
export * from './train/step.ts';
export * from './train/fit.ts';
export { TrainConfig, defaultConfig, decodeConfig, networksOf, specOf } from './train/config.ts';
// Data in memory: images as arrays, augmentation, batch streams over any Dataset.
export * from './data/index.ts';
/** A batch as the data stream yields it (a train Batch with the example names). */
export type { Batch as ImageBatch } from './data/stream.ts';
// Checkpoints from their files' contents (a browser's file picker or fetch); on disk: pix2pix-ts/node.
export { decodeCheckpoint, encodeCheckpoint, type CheckpointFiles } from './io/checkpoint-bytes.ts';
export type { CheckpointContents } from './io/checkpoint-plan.ts';
export { CheckpointError } from './io/errors.ts';
// Runs as files: config.json's text, a run archive (.zip), a trained G from them.
export { encodeRunArchive, decodeRunArchive, RunArchiveError, type RunFiles } from './io/run-archive.ts';
export { parseRunConfig, runConfigText, RunError, RUN_FORMAT, RUN_FORMAT_VERSION } from './train/run-config.ts';
export { generatorFromRun, type TrainedGenerator } from './train/trained.ts';
export { trainCheckpoint, trainStateFrom, decodeTrainMeta, TrainMeta } from './train/state-checkpoint.ts';
// Models in: PyTorch state_dicts (torch.save files, zip or legacy) into parameter trees.
export { readTorchStateDict, TorchFileError, type TorchTensor } from './interop/torch-file.ts';
export { importTorchStateDict, TorchImportError, type TorchImportSpec } from './interop/torch-import.ts';
export { encodeNpy } from './io/npy.ts';
// Models out: a network as an ONNX model (opset 17), written with onnx-proto.
export { exportOnnx, ONNX_OPSET, type OnnxExportOptions } from './interop/onnx.ts';
export { float, type GraphBuilder, type AttrValue } from './core/graph.ts';
// Sweeps: a base config and axes as named run configs (the runners come with issue 14).
export { sweep, sweepOf, readSweep, runName, SweepFile, SweepEval, type Axes, type AxisValue, type Sweep, type SweepRun } from './sweep/sweep.ts';
export { VERSION } from './version.ts';
// Backend selection without Node (webgpu, webgl, wasm, cpu); pix2pix-ts/node's adds native and tfjs-node.
export { useBackend, type BrowserBackendChoice, type BrowserBackendInfo } from './backend/browser.ts';
// Metrics: L1 / L2 / PSNR / SSIM, Lab colour histograms, segmentation and FCN-style scores.
export * from './metrics/index.ts';
