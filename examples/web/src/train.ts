/**
 * Training in the page: the library's config, spec, step and fold, as
 * `pix2pix train` uses them, over pairs decoded in the browser. The fold's
 * hook yields to the event loop after every step (the page stays
 * responsive), waits while paused, and samples every N steps; "save
 * checkpoint" writes a run archive that `pix2pix translate --run` reads.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import {
  batches,
  defaultConfig,
  disposeState,
  disposeTree,
  mapTree,
  encodeCheckpoint,
  encodeRunArchive,
  fit,
  floatToBytes,
  foldIn,
  initTrainState,
  makeKey,
  makeStep,
  memoryDataset,
  networksOf,
  runConfigText,
  specOf,
  trainCheckpoint,
  type Pair,
  type StepMetrics,
  type TrainConfig,
  type TrainState,
} from 'pix2pix-ts';

export interface TrainSettings {
  readonly size: 32 | 64;
  readonly ngf: number;
  readonly steps: number;
  readonly sampleEvery: number;
  readonly seed?: number;
  readonly direction: 'AtoB' | 'BtoA';
  /** What config.json says the data was. */
  readonly dataName: string;
}

export interface Progress {
  readonly step: number;
  readonly metrics: StepMetrics;
  readonly msPerStep: number;
}

export interface TrainHooks {
  readonly onProgress?: (p: Progress) => void;
  /** Input, output and target of a fixed pair, as 8-bit images. */
  readonly onSample?: (step: number, images: { x: Uint8Array; out: Uint8Array; y: Uint8Array; size: number }) => void;
}

/** The run's config: the paper's defaults at the page's size (the same fields `pix2pix train` writes). */
export const configFor = (s: TrainSettings, pairs: number): TrainConfig => {
  const epochs = Math.max(1, Math.ceil(s.steps / pairs));
  return {
    ...defaultConfig,
    data: s.dataName,
    direction: s.direction,
    size: s.size,
    loadSize: Math.round((s.size * 286) / 256),
    generator: `unet${s.size}`,
    ngf: s.ngf,
    ndf: s.ngf,
    // Half the steps at the full rate, then linear decay, as the paper's 100 + 100 epochs.
    epochs: Math.ceil(epochs / 2),
    epochsDecay: Math.floor(epochs / 2),
    steps: s.steps,
    seed: s.seed ?? 0,
    sampleEvery: s.sampleEvery,
  };
};

export interface Trainer {
  readonly config: TrainConfig;
  /** Resolves when training ends (all steps, or stop()); the final state stays alive for save(). */
  readonly done: Promise<TrainState>;
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  stop(): void;
  /** The current state as a run archive (config.json + checkpoint). */
  save(): Promise<Uint8Array>;
  /** The current state's G (params, state), valid until the next step. */
  current(): TrainState;
  dispose(): void;
}

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export const startTraining = (pairs: readonly Pair[], settings: TrainSettings, hooks: TrainHooks = {}): Trainer => {
  const config = configFor(settings, pairs.length);
  const nets = networksOf(config);
  if (E.isLeft(nets)) throw new Error(nets.left);
  const spec = specOf(config, nets.right);
  const init = initTrainState(spec, makeKey(config.seed));
  if (E.isLeft(init)) throw new Error(`the networks do not fit ${config.size}x${config.size}`);
  const dataset = memoryDataset(pairs, { name: settings.dataName, direction: settings.direction });
  const stream = batches(dataset, {
    batchSize: 1,
    key: foldIn(makeKey(config.seed), 'data'),
    epochs: config.epochs + config.epochsDecay,
    preprocess: { mode: config.preprocess, loadSize: config.loadSize, cropSize: config.size, noFlip: !config.flip },
  });
  const sample = pairs[0]!;
  let state: TrainState = init.right;
  let paused = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  let last = performance.now();
  const sampleNow = async (s: TrainState) => {
    if (hooks.onSample === undefined) return;
    const n = config.size;
    // The sample pair resized to the network's size (no crop, no flip).
    const resize = (data: Float32Array) => tf.image.resizeBilinear(tf.tensor4d(data, [1, sample.height, sample.width, 3]), [n, n]);
    const [x, y] = tf.tidy(() => [resize(sample.x), resize(sample.y)]);
    const out = tf.tidy(() => spec.generator.apply(s.g.params, s.g.state, x!, { mode: 'paper', key: makeKey(0) })[0]);
    const bytes = async (t: tf.Tensor) => floatToBytes({ height: n, width: n, channels: 3, data: (await t.data()) as Float32Array }).data;
    const images = { x: await bytes(x!), out: await bytes(out), y: await bytes(y!), size: n };
    tf.dispose([x!, y!, out]);
    hooks.onSample(s.step, images);
  };
  const done = (async () => {
    await sampleNow(state);
    state = await fit(state, stream, makeStep(spec), {
      maxSteps: config.steps,
      shouldStop: () => stopped,
      onStep: async (s, metrics) => {
        state = s;
        const now = performance.now();
        hooks.onProgress?.({ step: s.step, metrics, msPerStep: now - last });
        if (s.step % config.sampleEvery === 0 || s.step === config.steps) await sampleNow(s);
        await nextTask();
        while (paused && !stopped) await new Promise<void>((resolve) => (wake = resolve));
        last = performance.now();
      },
    });
    return state;
  })();
  return {
    config,
    done,
    pause: () => void (paused = true),
    resume: () => {
      paused = false;
      wake?.();
    },
    get paused() {
      return paused;
    },
    stop: () => {
      stopped = true;
      wake?.();
    },
    save: async () => {
      // Clones (they share the data) taken now: the fold may step on, and dispose this state, while the bytes are read.
      const { trees, meta } = trainCheckpoint(state);
      const copies = Object.fromEntries(Object.entries(trees).map(([k, t]) => [k, mapTree(t, (x) => tf.clone(x))]));
      try {
        return encodeRunArchive({ config: runConfigText(config), checkpoint: await encodeCheckpoint({ trees: copies, meta }, 'page') });
      } finally {
        Object.values(copies).forEach(disposeTree);
      }
    },
    current: () => state,
    dispose: () => disposeState(state),
  };
};
