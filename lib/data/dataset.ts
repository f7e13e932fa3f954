/**
 * Paired datasets on disk, validated up front.
 *
 * Two layouts:
 *  - 'aligned' (the standard pix2pix one): ROOT/SPLIT/*.jpg, each image is A|B
 *    side by side, A on the left;
 *  - 'separate': ROOT/SPLIT/A/NAME.* and ROOT/SPLIT/B/NAME.*, paired by file
 *    name without extension.
 *
 * `openDataset` reads every file's header (cheap) so that a missing folder,
 * an odd width, mismatched sizes, an unpaired file or an undecodable header
 * fails before training starts rather than hours into it.
 */
import { basename, extname, join } from 'node:path';
import type { Key } from '../core/key.ts';
import { apiPhrasing, type Phrasing } from '../core/options.ts';
import { exampleLoader } from './example-loader.ts';
import { isDirectory, listImages, listSubdirs, mapLimit, naturalCompare } from './files.ts';
import { DataError, IMAGE_EXTENSIONS, readBytes, readHeader, type Channels } from './image.ts';
import { withDataWorker } from './offload.ts';
import type { PreprocessOptions } from './preprocess.ts';

export type Direction = 'AtoB' | 'BtoA';
export type Layout = 'aligned' | 'separate';

export interface DatasetOptions {
  /** The dataset folder (holding train/, val/, ...), or directly a folder of images. */
  readonly root: string;
  /** Default 'aligned'. */
  readonly layout?: Layout;
  /**
   * Subfolder of root, e.g. 'train', 'val', 'test'. Unset: ROOT/train if it
   * exists, else ROOT itself if it directly holds the data. '.' means ROOT.
   */
  readonly split?: string;
  /** 'AtoB': x = A (left / A/), y = B. 'BtoA' swaps them (facades labels -> photo). Default 'AtoB'. */
  readonly direction?: Direction;
  /** Channels of x (the generator's input). Default 3. */
  readonly inputChannels?: Channels;
  /** Channels of y (the target). Default 3. */
  readonly outputChannels?: Channels;
  /**
   * Take only files [start, end) of the naturally sorted list, with
   * Array.prototype.slice semantics: [-40] is the last 40, [0, -40] all but
   * those. Applied before validation and skipping, so the carved split does
   * not move when a file turns out bad.
   */
  readonly range?: readonly [start: number, end?: number];
  /** Skip bad files (listed in `dataset.skipped`) instead of failing. */
  readonly skipBad?: boolean;
  /**
   * 'header' (default) reads headers only; 'decode' decodes every image,
   * which also catches files truncated after their header (slower).
   */
  readonly verify?: 'header' | 'decode';
  /** Called as files are checked (done of total), e.g. for a progress line on a large set decoded in full. */
  readonly onProgress?: (done: number, total: number) => void;
  /** How messages name the options (default: as in this API; the CLI names its flags). */
  readonly phrasing?: Phrasing;
  /**
   * Decode and augment training batches on a worker thread (default true),
   * keeping decoded and resized pairs there up to `cacheMiB` (default 256:
   * all 400 facades at 64x64 take 50 MiB, at 128x128 196 MiB); the same
   * bits as on the main thread. false: everything on the calling thread.
   */
  readonly worker?: boolean;
  readonly cacheMiB?: number;
}

/** Examples to decode and resize ahead (Dataset.warmUp): the order a stream will ask for them in, and its preprocess. */
export interface WarmAhead {
  readonly order: readonly number[];
  readonly preprocess?: PreprocessOptions | undefined;
}

/** One training pair as listed on disk; height and width are those of one half / of A. */
export type Example =
  | { readonly layout: 'aligned'; readonly name: string; readonly file: string; readonly height: number; readonly width: number }
  | { readonly layout: 'separate'; readonly name: string; readonly a: string; readonly b: string; readonly height: number; readonly width: number };

export interface Skipped {
  readonly path: string;
  readonly reason: string;
}

/** A loaded pair: x and y are HWC in [-1, 1] of the same height and width. */
export interface Pair {
  readonly name: string;
  readonly height: number;
  readonly width: number;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly xChannels: Channels;
  readonly yChannels: Channels;
}

export interface Dataset {
  /** The folder the examples were listed from (ROOT/SPLIT, or ROOT). */
  readonly dir: string;
  readonly layout: Layout;
  readonly direction: Direction;
  readonly inputChannels: Channels;
  readonly outputChannels: Channels;
  /** Naturally sorted by file name. */
  readonly examples: readonly Example[];
  readonly size: number;
  /** Files left out under `skipBad` (empty otherwise). */
  readonly skipped: readonly Skipped[];
  /** Decode example i (no augmentation). A file that became unreadable throws a DataError naming it. */
  load(i: number): Promise<Pair>;
  /**
   * Example i decoded and augmented, bit for bit preprocessPair(load(i), key,
   * preprocess); batches() takes it when present. openDataset's runs on its
   * data worker (DatasetOptions.worker).
   */
  loadAugmented?(i: number, key: Key, preprocess?: PreprocessOptions): Promise<Pair>;
  /** Starts the data worker ahead of the first batch; given `ahead` (batches() passes its first epoch's order), it decodes and resizes those pairs there before they are asked for, while its cache has room (resolving with the pairs it holds). */
  warmUp?(ahead?: WarmAhead): Promise<number> | void;
  /** Stops what the dataset runs besides its files (openDataset's data worker, and its cache); a later load starts it again. */
  close?(): Promise<void>;
}

/** Several bad files at once; `path` is the first, `problems` lists all. */
export class DatasetError extends DataError {
  constructor(
    path: string,
    message: string,
    readonly problems: readonly Skipped[],
  ) {
    super(path, message);
    this.name = 'DatasetError';
  }
}

const HEADER_CONCURRENCY = 16;
const stem = (file: string): string => basename(file, extname(file));
const size = (h: number, w: number): string => `${w}x${h}`; // width x height, as image tools print it

/** Pick the folder to list, or fail naming what was looked for and what exists. */
const resolveDir = async (root: string, layout: Layout, split: string | undefined, say: Phrasing): Promise<string> => {
  if (!(await isDirectory(root))) throw new DataError(root, `dataset root ${root} does not exist or is not a folder`);
  const holdsData = async (dir: string): Promise<boolean> =>
    // Either of A/ or B/ counts, so that the missing one gets named later.
    layout === 'aligned' ? (await listImages(dir)).length > 0 : (await isDirectory(join(dir, 'A'))) || (await isDirectory(join(dir, 'B')));
  const splits = async (): Promise<string> => {
    const subs = (await listSubdirs(root)).filter((s) => layout === 'aligned' || (s !== 'A' && s !== 'B'));
    return subs.length > 0 ? `the splits that exist are: ${subs.join(', ')}` : `${root} has no split subfolders`;
  };
  if (split === undefined) {
    if (await isDirectory(join(root, 'train'))) return join(root, 'train');
    if (await holdsData(root)) return root;
    const want = layout === 'aligned' ? 'images' : 'A/ and B/ folders';
    throw new DataError(root, `${root} has no train/ split and no ${want} directly inside; ${await splits()}`);
  }
  const dir = join(root, split);
  if (await isDirectory(dir)) return dir;
  const why = (await holdsData(root)) ? `${root} holds the data directly: pass ${say('split', '.')}` : await splits();
  throw new DataError(dir, `split folder ${dir} not found; ${why}`);
};

const listOrFail = async (dir: string, say: Phrasing): Promise<string[]> => {
  const files = await listImages(dir);
  if (files.length === 0) {
    const separate = (await isDirectory(join(dir, 'A'))) && (await isDirectory(join(dir, 'B')));
    const hint = separate ? `; it has A/ and B/ folders: use ${say('layout', 'separate')}` : '';
    throw new DataError(dir, `no images in ${dir} (looked for ${IMAGE_EXTENSIONS.join(', ')})${hint}`);
  }
  return files;
};

const applyRange = <T>(items: readonly T[], range: DatasetOptions['range'], dir: string): T[] => {
  if (range === undefined) return [...items];
  const [start, end] = range;
  if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) {
    throw new RangeError(`range must be integers [start, end?], got [${range.join(', ')}]`);
  }
  const picked = items.slice(start, end);
  if (picked.length === 0) {
    throw new DataError(dir, `range [${start}, ${end ?? ''}) selects no files out of the ${items.length} in ${dir}`);
  }
  return picked;
};

/** `check` with each call counted as done when it settles, reported to onProgress. */
const counted = <T, R>(total: number, onProgress: DatasetOptions['onProgress'], check: (item: T) => Promise<R>) => {
  let done = 0;
  return async (item: T): Promise<R> => {
    try {
      return await check(item);
    } finally {
      onProgress?.(++done, total);
    }
  };
};

type Checked<E> = { ok: true; example: E } | { ok: false; problem: Skipped };

const reasonOf = (e: unknown, path: string): string => {
  const m = e instanceof Error ? e.message : String(e);
  return m.startsWith(`${path}: `) ? m.slice(path.length + 2) : m;
};

/** Header (or full decode) of one file: just its size. */
const probe = async (path: string, verify: 'header' | 'decode'): Promise<{ height: number; width: number }> => {
  if (verify === 'decode') {
    const img = await readBytes(path);
    return { height: img.height, width: img.width };
  }
  return readHeader(path);
};

const listAligned = async (dir: string, opts: DatasetOptions, verify: 'header' | 'decode'): Promise<Checked<Example>[]> => {
  const files = applyRange(await listOrFail(dir, opts.phrasing ?? apiPhrasing), opts.range, dir);
  const stems = new Map<string, number>();
  for (const f of files) stems.set(stem(f), (stems.get(stem(f)) ?? 0) + 1);
  return mapLimit(files, HEADER_CONCURRENCY, counted(files.length, opts.onProgress, async (f: string): Promise<Checked<Example>> => {
    const file = join(dir, f);
    try {
      const { height, width } = await probe(file, verify);
      if (width % 2 !== 0) {
        return { ok: false, problem: { path: file, reason: `width ${width} is odd, so it cannot be an A|B pair side by side (is this the ${(opts.phrasing ?? apiPhrasing)('layout', 'separate')} layout?)` } };
      }
      // Names feed output file names, so keep them unique.
      const name = stems.get(stem(f))! > 1 ? f : stem(f);
      return { ok: true, example: { layout: 'aligned', name, file, height, width: width / 2 } };
    } catch (e) {
      return { ok: false, problem: { path: file, reason: reasonOf(e, file) } };
    }
  }));
};

const listSeparate = async (dir: string, opts: DatasetOptions, verify: 'header' | 'decode'): Promise<Checked<Example>[]> => {
  const dirA = join(dir, 'A');
  const dirB = join(dir, 'B');
  for (const d of [dirA, dirB]) {
    if (!(await isDirectory(d))) throw new DataError(d, `folder ${d} not found (the 'separate' layout needs ${dir}/A and ${dir}/B)`);
  }
  const filesA = await listOrFail(dirA, opts.phrasing ?? apiPhrasing);
  const filesB = await listOrFail(dirB, opts.phrasing ?? apiPhrasing);
  const results: Checked<Example>[] = [];
  const byStem = (files: string[], d: string): Map<string, string> => {
    const m = new Map<string, string>();
    for (const f of files) {
      const prev = m.get(stem(f));
      if (prev !== undefined) {
        results.push({ ok: false, problem: { path: join(d, f), reason: `has the same name as ${join(d, prev)}, so its partner is ambiguous` } });
      } else m.set(stem(f), f);
    }
    return m;
  };
  const mapA = byStem(filesA, dirA);
  const mapB = byStem(filesB, dirB);
  for (const [s, f] of mapB) {
    if (!mapA.has(s)) results.push({ ok: false, problem: { path: join(dirB, f), reason: `has no partner in ${dirA} (looked for ${s}.*)` } });
  }
  const names = applyRange([...mapA.keys()].sort((x, y) => naturalCompare(mapA.get(x)!, mapA.get(y)!)), opts.range, dirA);
  const checked = await mapLimit(names, HEADER_CONCURRENCY, counted(names.length, opts.onProgress, async (s: string): Promise<Checked<Example>> => {
    const a = join(dirA, mapA.get(s)!);
    const fb = mapB.get(s);
    if (fb === undefined) return { ok: false, problem: { path: a, reason: `has no partner in ${dirB} (looked for ${s}.*)` } };
    const b = join(dirB, fb);
    let ha: { height: number; width: number };
    let hb: { height: number; width: number };
    try {
      ha = await probe(a, verify);
    } catch (e) {
      return { ok: false, problem: { path: a, reason: reasonOf(e, a) } };
    }
    try {
      hb = await probe(b, verify);
    } catch (e) {
      return { ok: false, problem: { path: b, reason: reasonOf(e, b) } };
    }
    if (ha.height !== hb.height || ha.width !== hb.width) {
      return { ok: false, problem: { path: a, reason: `is ${size(ha.height, ha.width)} but its partner ${b} is ${size(hb.height, hb.width)}; A and B must be the same size` } };
    }
    return { ok: true, example: { layout: 'separate', name: s, a, b, height: ha.height, width: ha.width } };
  }));
  return [...results, ...checked];
};

const MAX_LISTED = 10;

const describeProblems = (dir: string, problems: readonly Skipped[], say: Phrasing): string => {
  if (problems.length === 1) return `${problems[0]!.path}: ${problems[0]!.reason} (pass ${say('skipBad', true)} to skip bad files)`;
  const lines = problems.slice(0, MAX_LISTED).map((p) => `  - ${p.path}: ${p.reason}`);
  if (problems.length > MAX_LISTED) lines.push(`  ... and ${problems.length - MAX_LISTED} more`);
  return `${problems.length} bad files in ${dir} (pass ${say('skipBad', true)} to skip them):\n${lines.join('\n')}`;
};

/** Open and validate a dataset. Throws a DataError (DatasetError for bad files) naming what is wrong. */
export const openDataset = async (opts: DatasetOptions): Promise<Dataset> => {
  const layout = opts.layout ?? 'aligned';
  const direction = opts.direction ?? 'AtoB';
  const inputChannels = opts.inputChannels ?? 3;
  const outputChannels = opts.outputChannels ?? 3;
  const verify = opts.verify ?? 'header';
  if (layout !== 'aligned' && layout !== 'separate') throw new RangeError(`layout must be 'aligned' or 'separate', got '${String(layout)}'`);
  if (direction !== 'AtoB' && direction !== 'BtoA') throw new RangeError(`direction must be 'AtoB' or 'BtoA', got '${String(direction)}'`);
  for (const [k, c] of [['inputChannels', inputChannels], ['outputChannels', outputChannels]] as const) {
    if (c !== 1 && c !== 3) throw new RangeError(`${k} must be 1 or 3, got ${String(c)}`);
  }
  const say = opts.phrasing ?? apiPhrasing;
  const cacheMiB = opts.cacheMiB ?? 256;
  if (!(cacheMiB >= 0)) throw new RangeError(`${say('cacheMiB')} must be a number of MiB >= 0, got ${cacheMiB}`);
  const dir = await resolveDir(opts.root, layout, opts.split, say);
  const checked = layout === 'aligned' ? await listAligned(dir, opts, verify) : await listSeparate(dir, opts, verify);
  const problems = checked.flatMap((c) => (c.ok ? [] : [c.problem]));
  if (problems.length > 0 && opts.skipBad !== true) throw new DatasetError(problems[0]!.path, describeProblems(dir, problems, say), problems);
  const examples = checked.flatMap((c) => (c.ok ? [c.example] : []));
  if (examples.length === 0) throw new DatasetError(dir, `no usable images in ${dir}: ${describeProblems(dir, problems, say)}`, problems);

  const loaderOptions = { direction, inputChannels, outputChannels };
  const base = { dir, layout, direction, inputChannels, outputChannels, examples, size: examples.length, skipped: problems, load: exampleLoader(examples, loaderOptions) };
  return opts.worker === false ? base : withDataWorker(base, loaderOptions, cacheMiB * 2 ** 20);
};
