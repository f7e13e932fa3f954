/**
 * Augmentation as in the reference implementation's --preprocess options.
 *
 * Random parameters (crop window, flip) are drawn once per pair from a Key
 * and then applied to x and y alike: pix2pix needs the input and the target
 * to stay pixel-aligned, so they must never get independent crops or flips.
 *
 * Resizing is PIL-style bicubic (Keys cubic, a = -0.5; when shrinking the
 * kernel is widened by the scale factor, i.e. antialiased), which is what
 * the reference gets from PIL's Image.BICUBIC. It runs here in float32 on
 * [-1, 1] values (PIL works in 8 bits and rounds between its two passes),
 * and the result is clamped to [-1, 1] since cubic kernels overshoot.
 */
import { foldIn, type Key } from '../core/key.ts';
import { apiPhrasing, type Phrasing } from '../core/options.ts';
import { cropImage, type ByteImage, type FloatImage } from './pixels.ts';
import type { Pair } from './dataset.ts';
import { floatPair, type BytePair } from './memory.ts';

export type PreprocessMode = 'resize_and_crop' | 'crop' | 'scale_width' | 'scale_width_and_crop' | 'none';

export interface PreprocessOptions {
  /** Default 'resize_and_crop' (the paper's 286 -> random 256 jitter). */
  readonly mode?: PreprocessMode;
  /** Size to resize to before cropping. Default 286. */
  readonly loadSize?: number;
  /** Size of the (square) crop. Default 256. */
  readonly cropSize?: number;
  /** Turn off the random horizontal flip. Default false. */
  readonly noFlip?: boolean;
  /** true (default): random crop + flip. false: centre crop, no flip (deterministic, for val/test). */
  readonly train?: boolean;
  /** How messages name these options (default: as in this API; the CLI names its flags). */
  readonly phrasing?: Phrasing;
}

/** The concrete transform for one pair: resize, then crop, then flip. */
export interface AugmentParams {
  readonly resize: readonly [height: number, width: number] | null;
  readonly crop: { readonly top: number; readonly left: number; readonly height: number; readonly width: number } | null;
  readonly flip: boolean;
}

interface Resolved {
  readonly say: Phrasing;
  readonly mode: PreprocessMode;
  readonly loadSize: number;
  readonly cropSize: number;
  readonly flip: boolean;
  readonly train: boolean;
}

const MODES: readonly PreprocessMode[] = ['resize_and_crop', 'crop', 'scale_width', 'scale_width_and_crop', 'none'];

const resolve = (opts: PreprocessOptions = {}): Resolved => {
  const mode = opts.mode ?? 'resize_and_crop';
  const loadSize = opts.loadSize ?? 286;
  const cropSize = opts.cropSize ?? 256;
  const train = opts.train ?? true;
  const say = opts.phrasing ?? apiPhrasing;
  if (!MODES.includes(mode)) throw new RangeError(`${say('preprocess')} mode must be one of ${MODES.join(', ')}, got '${String(mode)}'`);
  for (const [k, v] of [['loadSize', loadSize], ['cropSize', cropSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${say(k)} must be a positive integer, got ${v}`);
  }
  if ((mode === 'resize_and_crop' || mode === 'scale_width_and_crop') && loadSize < cropSize) {
    throw new RangeError(`${say('preprocess', mode)} needs ${say('loadSize')} >= ${say('cropSize')}, got ${say('loadSize')} ${loadSize} < ${say('cropSize')} ${cropSize}`);
  }
  return { say, mode, loadSize, cropSize, flip: train && opts.noFlip !== true, train };
};

/** A uniform integer in [0, n] (inclusive, like Python's random.randint(0, n)). */
const uniformInt = (key: Key, n: number): number => Math.min(n, Math.floor((key[0] / 2 ** 32) * (n + 1)));

/** Size after the resize step, as the reference computes it. */
const resizedSize = (o: Resolved, height: number, width: number): readonly [number, number] => {
  switch (o.mode) {
    case 'resize_and_crop':
      return [o.loadSize, o.loadSize];
    case 'scale_width':
    case 'scale_width_and_crop':
      // __scale_width: keep aspect, but never shorter than the crop.
      if (width === o.loadSize && height >= o.cropSize) return [height, width];
      return [Math.floor(Math.max((o.loadSize * height) / width, o.cropSize)), o.loadSize];
    default:
      return [height, width];
  }
};

const crops = (mode: PreprocessMode): boolean => mode === 'resize_and_crop' || mode === 'crop' || mode === 'scale_width_and_crop';

/**
 * Draw the transform for an image of the given size. Deterministic in `key`;
 * with train: false it ignores the key (centre crop, no flip).
 */
export const augmentParams = (key: Key, height: number, width: number, opts?: PreprocessOptions): AugmentParams => {
  const o = resolve(opts);
  const [rh, rw] = resizedSize(o, height, width);
  const resize = rh === height && rw === width ? null : ([rh, rw] as const);
  let crop: AugmentParams['crop'] = null;
  if (crops(o.mode)) {
    const c = o.cropSize;
    if (rh < c || rw < c) {
      throw new RangeError(`cannot crop ${c}x${c} from a ${rw}x${rh} image (${o.say('preprocess', o.mode)}); use a smaller ${o.say('cropSize')} or a resizing mode`);
    }
    const top = o.train ? uniformInt(foldIn(key, 'crop-top'), rh - c) : Math.floor((rh - c) / 2);
    const left = o.train ? uniformInt(foldIn(key, 'crop-left'), rw - c) : Math.floor((rw - c) / 2);
    crop = rh === c && rw === c ? null : { top, left, height: c, width: c };
  }
  const flip = o.flip && foldIn(key, 'flip')[0] >= 2 ** 31;
  return { resize, crop, flip };
};

/** [height, width] that preprocessing gives for an input of this size (to check against the network). */
export const outputSize = (height: number, width: number, opts?: PreprocessOptions): readonly [number, number] => {
  const p = augmentParams([0, 0], height, width, { ...opts, train: false });
  return p.crop ? [p.crop.height, p.crop.width] : p.resize ?? [height, width];
};

/** Horizontal mirror (reverses each row's pixels). */
export const flipImage = (img: FloatImage): FloatImage => {
  const { height: h, width: w, channels: c } = img;
  const out = new Float32Array(img.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = (y * w + x) * c;
      const to = (y * w + (w - 1 - x)) * c;
      for (let k = 0; k < c; k++) out[to + k] = img.data[from + k]!;
    }
  }
  return { ...img, data: out };
};

const cubic = (x: number): number => {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
};

/** Per output index: first input index, tap count and normalised weights (PIL's precompute_coeffs). */
const coefficients = (inSize: number, outSize: number): { starts: Int32Array; counts: Int32Array; taps: number; weights: Float64Array } => {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const starts = new Int32Array(outSize);
  const counts = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const w = cubic((j - center + 0.5) / filterScale);
      weights[i * taps + (j - lo)] = w;
      total += w;
    }
    if (total !== 0) for (let j = 0; j < hi - lo; j++) weights[i * taps + j]! /= total;
    starts[i] = lo;
    counts[i] = hi - lo;
  }
  return { starts, counts, taps, weights };
};

/**
 * resizeImage's arithmetic bit for bit, written into `out` (Node: the
 * native accelerator's, see ./native.ts). It also takes 8-bit
 * pixels, read as bytesToFloat's floats: the bits of resizing those floats
 * without making them (resizeBytePair).
 */
export type ResizeKernel = (src: Float32Array | Uint8Array, height: number, width: number, channels: number, outHeight: number, outWidth: number, out: Float32Array) => void;
let resizeKernel: ResizeKernel | undefined;

/** Installs (or, with undefined, removes) a faster resizeImage kernel for this thread; returns the one before. */
export const setResizeKernel = (kernel: ResizeKernel | undefined): ResizeKernel | undefined => {
  const before = resizeKernel;
  resizeKernel = kernel;
  return before;
};

/** Separable PIL-style bicubic resize of an HWC float image (see the module comment). */
export const resizeImage = (img: FloatImage, height: number, width: number): FloatImage => {
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new RangeError(`cannot resize to ${width}x${height}`);
  }
  if (height === img.height && width === img.width) return img;
  const c = img.channels;
  if (resizeKernel !== undefined) {
    const out = new Float32Array(height * width * c);
    resizeKernel(img.data, img.height, img.width, c, height, width, out);
    return { height, width, channels: c, data: out };
  }
  const src = img.data;
  // Horizontal pass: img.height x width. Loops run over contiguous memory
  // innermost (taps, then channels), which matters at 286x286. RGB sums in
  // three locals: the same additions in the same order as through memory,
  // so the same bits (test/data.test.ts holds both passes to a plain
  // one-value-at-a-time oracle), at about half the time; the data worker
  // resizes every pair of a run's first epoch.
  const h = coefficients(img.width, width);
  const tmp = new Float64Array(img.height * width * c);
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width * c;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * c;
      const base = row + h.starts[x]! * c;
      const n = h.counts[x]!;
      const wx = x * h.taps;
      if (c === 3) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let t = 0, at = base; t < n; t++, at += 3) {
          const w = h.weights[wx + t]!;
          r += w * src[at]!;
          g += w * src[at + 1]!;
          b += w * src[at + 2]!;
        }
        tmp[o] = r;
        tmp[o + 1] = g;
        tmp[o + 2] = b;
        continue;
      }
      for (let t = 0; t < n; t++) {
        const w = h.weights[wx + t]!;
        const at = base + t * c;
        for (let k = 0; k < c; k++) tmp[o + k]! += w * src[at + k]!;
      }
    }
  }
  // Vertical pass: height x width, each value summed over its taps (rows
  // `stride` apart) in a register, in tap order as the horizontal pass.
  const v = coefficients(img.height, height);
  const out = new Float32Array(height * width * c);
  const stride = width * c;
  for (let y = 0; y < height; y++) {
    const from = v.starts[y]! * stride;
    const n = v.counts[y]!;
    const wy = y * v.taps;
    const o = y * stride;
    for (let i = 0; i < stride; i++) {
      let a = 0;
      for (let t = 0, at = from + i; t < n; t++, at += stride) a += v.weights[wy + t]! * tmp[at]!;
      out[o + i] = a < -1 ? -1 : a > 1 ? 1 : a;
    }
  }
  return { height, width, channels: c, data: out };
};

/** Apply drawn parameters to one image: resize, crop, flip (the reference's order). */
export const applyAugment = (img: FloatImage, p: AugmentParams): FloatImage => {
  let out = p.resize ? resizeImage(img, p.resize[0], p.resize[1]) : img;
  if (p.crop) out = cropImage(out, p.crop.top, p.crop.left, p.crop.height, p.crop.width);
  if (p.flip) out = flipImage(out);
  return out;
};

/**
 * The resize step alone. Its size comes from the options and the pair's
 * size, never from a key, so the result can be kept across epochs (the data
 * worker caches it; ./offload.ts).
 */
export const resizePair = (pair: Pair, opts?: PreprocessOptions): Pair => {
  const p = augmentParams([0, 0], pair.height, pair.width, opts);
  if (p.resize === null) return pair;
  const [height, width] = p.resize;
  const x = resizeImage({ height: pair.height, width: pair.width, channels: pair.xChannels, data: pair.x }, height, width);
  const y = resizeImage({ height: pair.height, width: pair.width, channels: pair.yChannels, data: pair.y }, height, width);
  return { ...pair, height, width, x: x.data, y: y.data };
};

/**
 * resizePair of floatPair(pair), bit for bit; with a kernel installed (the
 * native accelerator's) the full-size floats are never made: the data
 * worker's first epoch, ~1.8 ms less an example at 256x256 -> 72x72.
 */
export const resizeBytePair = (pair: BytePair, opts?: PreprocessOptions): Pair => {
  const { x, y } = pair;
  const p = augmentParams([0, 0], x.height, x.width, opts);
  const kernel = resizeKernel;
  if (p.resize === null || kernel === undefined || (p.resize[0] === x.height && p.resize[1] === x.width)) return resizePair(floatPair(pair), opts);
  const [height, width] = p.resize;
  const resized = (img: ByteImage): Float32Array => {
    const out = new Float32Array(height * width * img.channels);
    kernel(img.data, img.height, img.width, img.channels, height, width, out);
    return out;
  };
  return { name: pair.name, height, width, x: resized(x), y: resized(y), xChannels: x.channels, yChannels: y.channels };
};

/**
 * The rest of preprocessPair on a pair already resized by resizePair: the
 * crop and flip drawn from `key` for the original size (height, width).
 */
export const cropFlipResized = (original: { readonly height: number; readonly width: number }, resized: Pair, key: Key, opts?: PreprocessOptions): Pair => {
  const p: AugmentParams = { ...augmentParams(key, original.height, original.width, opts), resize: null };
  const x = applyAugment({ height: resized.height, width: resized.width, channels: resized.xChannels, data: resized.x }, p);
  const y = applyAugment({ height: resized.height, width: resized.width, channels: resized.yChannels, data: resized.y }, p);
  return { ...resized, height: x.height, width: x.width, x: x.data, y: y.data };
};

/** Preprocess a pair: one draw of the parameters from `key`, applied to x and y alike. */
export const preprocessPair = (pair: Pair, key: Key, opts?: PreprocessOptions): Pair => cropFlipResized(pair, resizePair(pair, opts), key, opts);
