/** `pix2pix translate`: run a trained G over an image or a folder of images. */
import { existsSync, statSync, type Stats } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import * as tf from '@tensorflow/tfjs';
import { makeKey } from '../core/key.ts';
import { formatShapeError } from '../core/shape.ts';
import { disposeTree, leaves } from '../core/tree.ts';
import { checkBackend, useBackend } from '../backend/index.ts';
import { DataError, isImageFile, readImage, writeImage, WRITABLE_EXTENSIONS } from '../data/image.ts';
import { listImages } from '../data/files.ts';
import { writeFileAtomic } from '../io/file.ts';
import { encodeNpy } from '../io/npy.ts';
import { resizeImage } from '../data/preprocess.ts';
import { loadGenerator } from '../train/run-model.ts';
import { decodeFlags, oneOf, UsageError, backendFlag } from './flags.ts';

export const translateHelp = `pix2pix translate --run DIR|FILE.zip --input FILE|DIR --output FILE|DIR [options]

  --run DIR|ZIP    a run directory written by 'pix2pix train' (the model comes from its config),
                   or a run archive: 'pix2pix export' or the web page's saved checkpoint
  --input PATH     an image, or a folder of images
  --output PATH    an image file (.png, .jpg or .webp) for one input, or a folder: each input
                   becomes NAME.png there (two inputs of one name, x.jpg and x.png, are an
                   error); an output never replaces an input file
  --seed N         the dropout noise (default 0): the same seed gives the same output
  --mode MODE      paper (default: dropout on, the image's own statistics) or eval
  --resize         resize inputs that do not fit the network to the training size
  --raw FILE.npy   also write the output's float values, before 8-bit rounding, as a NumPy
                   array [1, H, W, C] (one --input image only): to compare with another library
  --backend NAME   auto (default), tensorflow, webgpu, native, wasm, cpu`;

const Flags = t.exact(
  t.partial({
    run: t.string,
    input: t.string,
    output: t.string,
    seed: t.string,
    mode: oneOf(['paper', 'eval']),
    resize: t.boolean,
    raw: t.string,
    backend: backendFlag,
  }),
);
const options = { run: { type: 'string' }, input: { type: 'string' }, output: { type: 'string' }, seed: { type: 'string' }, mode: { type: 'string' }, resize: { type: 'boolean' }, raw: { type: 'string' }, backend: { type: 'string' } } as const;

/** The output name of an input written into a folder. */
const outputName = (file: string): string => `${basename(file, extname(file))}.png`;

const identity = (st: Stats): string => `${st.dev}:${st.ino}`;

/**
 * Where each input goes, checked before anything is translated: two inputs
 * must not share an output, and no output may be an input (compared as
 * files: the same device and inode, so links and case-insensitive names
 * count too).
 */
const plannedOutputs = (files: readonly string[], output: string, many: boolean): string[] => {
  const outIsFolder = many || (existsSync(output) && statSync(output).isDirectory());
  if (many && existsSync(output) && !statSync(output).isDirectory()) throw new UsageError(`--output ${output} is a file, but --input is a folder: give a folder`);
  if (!outIsFolder && !WRITABLE_EXTENSIONS.includes(extname(output).toLowerCase()))
    throw new UsageError(`--output ${output}: an image file ends in .png, .jpg or .webp (or give a folder)`);
  const targets = files.map((file) => (outIsFolder ? join(output, outputName(file)) : output));
  const first = new Map<string, string>();
  files.forEach((file, i) => {
    const key = resolve(targets[i]!);
    const other = first.get(key);
    if (other !== undefined)
      throw new UsageError(`--input: ${other} and ${file} would both be written to ${targets[i]} (outputs are NAME.png): rename one of them`);
    first.set(key, file);
  });
  const inputs = new Map(files.map((file) => [identity(statSync(file)), file]));
  targets.forEach((target) => {
    const replaced = existsSync(target) ? inputs.get(identity(statSync(target))) : undefined;
    if (replaced !== undefined) throw new UsageError(`--output: writing ${target} would replace the input ${replaced}: choose another --output`);
  });
  return targets;
};

export const translateCommand = async (argv: readonly string[], out: (line: string) => void): Promise<void> => {
  const f = decodeFlags(argv, options, Flags);
  for (const k of ['run', 'input', 'output'] as const) if (f[k] === undefined) throw new UsageError(`--${k} is required`);
  if (f.seed !== undefined && !/^\d+$/.test(f.seed)) throw new UsageError(`--seed: expected a non-negative integer, got "${f.seed}"`);
  const seed = Number(f.seed ?? 0);
  const input = f.input!;
  const output = f.output!;
  if (!existsSync(input)) throw new UsageError(`--input: ${input} does not exist`);
  const many = statSync(input).isDirectory();
  const files = many ? (await listImages(input)).map((name) => join(input, name)) : [input];
  if (files.length === 0) throw new UsageError(`--input: ${input} holds no images`);
  if (!many && !isImageFile(input)) throw new UsageError(`--input: ${input} is not an image file`);
  const targets = plannedOutputs(files, output, many);
  if (f.raw !== undefined) {
    if (many) throw new UsageError('--raw: give one --input image (it writes one array)');
    if (!f.raw.toLowerCase().endsWith('.npy')) throw new UsageError(`--raw ${f.raw}: a NumPy array file ends in .npy`);
    if (existsSync(f.raw) && resolve(f.raw) === resolve(input)) throw new UsageError(`--raw ${f.raw} is the input`);
  }
  await useBackend(f.backend ?? 'auto', { quiet: true });
  const { config, generator: G, params, state } = await loadGenerator(f.run!);
  try {
    if (f.mode === 'eval' && config.norm === 'batch' && leaves(state).length === 0)
      throw new UsageError(`--mode eval uses batch norm's running statistics, and ${f.run} has none (runs trained here normalise by each image's own statistics, as the paper does at test time): use --mode paper`);
    for (const [i, file] of files.entries()) {
      let img = await readImage(file, config.inChannels);
      const fits = G.shape([img.height, img.width, img.channels]);
      if (E.isLeft(fits) || fits.right[0] !== img.height || fits.right[1] !== img.width) {
        if (!f.resize) {
          const why = E.isLeft(fits) ? formatShapeError(fits.left) : `the output would be ${fits.right[0]}x${fits.right[1]}`;
          throw new DataError(file, `${file} is ${img.width}x${img.height}, which the network does not fit (${why}); pass --resize to resize it to ${config.size}x${config.size}`);
        }
        img = resizeImage(img, config.size, config.size);
      }
      const x = tf.tensor4d(img.data, [1, img.height, img.width, img.channels]);
      const y = tf.tidy(() => G.apply(params, state, x, { mode: f.mode ?? 'paper', key: makeKey(seed) })[0]);
      const target = targets[i]!;
      checkBackend(file); // before the image is written: a WebGPU failure makes wrong pixels, not an error
      await writeImage(target, y);
      if (f.raw !== undefined) await writeFileAtomic(f.raw, encodeNpy((await y.data()) as Float32Array, y.shape));
      tf.dispose([x, y]);
      out(`${file} -> ${target}`);
    }
  } finally {
    disposeTree(params);
    disposeTree(state);
  }
};
