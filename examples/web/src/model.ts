/**
 * Models in the page: a run trained in Node, from a run archive (.zip), its
 * three files, or a URL of either; translation of 8-bit pixels. Everything
 * through the isomorphic pix2pix-ts entry, the same checkpoint format as on
 * disk.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import {
  bytesToFloat,
  decodeRunArchive,
  disposeTree,
  floatToBytes,
  formatSummary,
  generatorFromRun,
  leaves,
  makeKey,
  networksOf,
  receptiveField,
  summarize,
  type ByteImage,
  type Mode,
  type RunFiles,
  type TrainedGenerator,
} from 'pix2pix-ts';

export interface PageModel {
  readonly name: string;
  readonly trained: TrainedGenerator;
  /** `pix2pix summary`'s table for G on the model's input. */
  readonly summary: string;
}

export const modelOf = async (files: RunFiles, name: string): Promise<PageModel> => {
  const trained = await generatorFromRun(files, name);
  const { config, generator } = trained;
  const s = summarize(generator, [config.size, config.size, config.inChannels]);
  const table = E.isRight(s) ? formatSummary(`Generator ${config.generator} (ngf ${config.ngf}, ${config.norm} norm) on ${config.size}x${config.size}x${config.inChannels}`, s.right) : String(s.left);
  const nets = networksOf(config);
  const ds = E.isRight(nets) ? (Array.isArray(nets.right.discriminator) ? nets.right.discriminator : [nets.right.discriminator]) : [];
  const fields = [
    `receptive field of G: ${receptiveField(generator)}x${receptiveField(generator)} (one output pixel sees this much of the input)`,
    ...ds.map((d, i) => `receptive field of D${ds.length > 1 ? ` scale ${i + 1}` : ''} (${config.discriminator}): ${receptiveField(d)}x${receptiveField(d)}`),
  ].join('\n');
  const about = `${fields}\ntrained with ${config.objective} (lambda ${config.lambda}), ${config.discriminator} discriminator, ${config.direction} on ${config.data}`;
  return { name, trained, summary: `${about}\n\n${table}` };
};

/** Whether eval mode works: batch norm's running statistics are in G's state (or there is no batch norm). */
export const hasRunningStats = (m: PageModel): boolean => m.trained.config.norm !== 'batch' || leaves(m.trained.state).length > 0;

export const disposeModel = (m: PageModel | undefined): void => {
  if (m === undefined) return;
  disposeTree(m.trained.params);
  disposeTree(m.trained.state);
};

const fetchBytes = async (url: string): Promise<Uint8Array> => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
};
const fetchText = async (url: string): Promise<string> => new TextDecoder().decode(await fetchBytes(url));

/** A run archive's bytes (`pix2pix export`, or the page's "save checkpoint"). */
export const loadFromArchive = (bytes: Uint8Array, name: string): Promise<PageModel> => modelOf(decodeRunArchive(bytes, name), name);

/** A run archive's URL (ends in .zip), or a run directory's (its config.json and checkpoint/ are fetched). */
export const loadFromUrl = async (url: string): Promise<PageModel> => {
  if (/\.zip(\?|$)/i.test(url)) return loadFromArchive(await fetchBytes(url), url);
  const base = url.endsWith('/') ? url : `${url}/`;
  const [config, manifest, weights] = await Promise.all([fetchText(`${base}config.json`), fetchText(`${base}checkpoint/manifest.json`), fetchBytes(`${base}checkpoint/weights.bin`)]);
  return modelOf({ config, checkpoint: { manifest, weights } }, url);
};

/** Files from a picker: one .zip, or config.json + manifest.json + weights.bin. */
export const loadFromFiles = async (files: readonly File[]): Promise<PageModel> => {
  const zip = files.find((f) => f.name.toLowerCase().endsWith('.zip'));
  if (zip !== undefined) return loadFromArchive(new Uint8Array(await zip.arrayBuffer()), zip.name);
  const named = (n: string) => files.find((f) => f.name === n);
  const [config, manifest, weights] = [named('config.json'), named('manifest.json'), named('weights.bin')];
  const missing = [['config.json', config], ['manifest.json', manifest], ['weights.bin', weights]].filter(([, f]) => f === undefined).map(([n]) => n);
  if (missing.length > 0) throw new Error(`pick a run archive (.zip), or a run's config.json, checkpoint/manifest.json and checkpoint/weights.bin together: ${missing.join(', ')} missing`);
  return modelOf({ config: await config!.text(), checkpoint: { manifest: await manifest!.text(), weights: new Uint8Array(await weights!.arrayBuffer()) } }, config!.name);
};

/** G's output for `input` (the model's size) as floats in [-1, 1], HWC. */
export const translateFloat = async (m: PageModel, input: Float32Array, opts: { seed: number; mode: Mode }): Promise<Float32Array> => {
  const { config, generator, params, state } = m.trained;
  const x = tf.tensor4d(input, [1, config.size, config.size, config.inChannels]);
  const y = tf.tidy(() => generator.apply(params, state, x, { mode: opts.mode, key: makeKey(opts.seed) })[0]);
  try {
    return (await y.data()) as Float32Array;
  } finally {
    tf.dispose([x, y]);
  }
};

export const translateBytes = async (m: PageModel, input: ByteImage, opts: { seed: number; mode: Mode }): Promise<ByteImage> => {
  const { config } = m.trained;
  const out = await translateFloat(m, bytesToFloat(input).data, opts);
  return floatToBytes({ height: config.size, width: config.size, channels: config.outChannels, data: out });
};

/** 8-bit pixels (1 or 3 channels) onto a canvas, scaled to fill it. */
export const paint = (canvas: HTMLCanvasElement, img: ByteImage, x = 0, width = canvas.width): void => {
  const rgba = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) rgba[4 * i + c] = img.data[img.channels === 3 ? 3 * i + c : i]!;
    rgba[4 * i + 3] = 255;
  }
  const tmp = document.createElement('canvas');
  tmp.width = img.width;
  tmp.height = img.height;
  tmp.getContext('2d')!.putImageData(new ImageData(rgba, img.width, img.height), 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tmp, x, 0, width, canvas.height);
};
