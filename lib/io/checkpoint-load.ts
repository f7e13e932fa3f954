/**
 * Loading checkpoints from disk (the format: checkpoint.ts, docs/checkpoints.md;
 * the decoding: checkpoint-decode.ts), and finding the newest complete one
 * after a crash (recover.ts).
 */
import * as E from 'fp-ts/lib/Either.js';
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Tree } from '../core/tree.ts';
import { checkLayout, checkWeights, parseManifest, treesOf, type Source } from './checkpoint-decode.ts';
import { messageOf } from './common.ts';
import { CheckpointError, errnoOf } from './errors.ts';
import { decodeManifest, MANIFEST_FILE, WEIGHTS_FILE, type Manifest } from './manifest.ts';
import { settleDir, versionsOf, type Version } from './recover.ts';
import type { CheckpointContents } from './checkpoint.ts';

const sourceAt = (dir: string): Source => ({
  dir,
  manifestPath: path.join(dir, MANIFEST_FILE),
  weightsPath: path.join(dir, WEIGHTS_FILE),
  fail: (file, message, cause) =>
    new CheckpointError(file, `checkpoint ${dir}: ${message}`, cause === undefined ? undefined : { cause }),
});

const readWeights = async (src: Source, manifest: Manifest): Promise<Buffer> => {
  const fail = (message: string, cause?: unknown) => src.fail(src.weightsPath, message, cause);
  let size: number;
  try {
    size = (await fsp.stat(src.weightsPath)).size;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw fail('weights.bin is missing');
    throw fail(`cannot read weights.bin (${messageOf(e)})`, e);
  }
  checkWeights(src, manifest, size);
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(src.weightsPath);
  } catch (e) {
    throw fail(`cannot read weights.bin (${messageOf(e)})`, e);
  }
  checkWeights(src, manifest, bytes.length, createHash('sha256').update(bytes).digest('hex'));
  return bytes;
};

/**
 * Load a checkpoint saved by `saveCheckpoint`: the newest complete version
 * of `dir` (`findCheckpoint`), so after a crash in the middle of a save this
 * is the checkpoint that save completed, or else the one before it. A save
 * by another process that moves the version away while it is read makes
 * the load look again (twice at most).
 *
 * Everything is checked before any tensor is made: the manifest (decoded
 * with io-ts; errors name the field), weights.bin's size and SHA-256, each
 * tensor's offset and byteLength against its shape and dtype. With a
 * `template` (trees of the same structure, e.g. freshly initialised
 * params), each template tree must be in the checkpoint with exactly the
 * same tensor paths, shapes and dtypes, and the result has the template's
 * structure; checkpoint trees the template does not name are not loaded.
 * Without a template, every tree is rebuilt as it was saved.
 *
 * The returned tensors are new, and the caller owns (and disposes) them.
 * Every failure is a `CheckpointError` whose `path` is the file at fault.
 */
export async function loadCheckpoint(dir: string, template?: Readonly<Record<string, Tree>>): Promise<CheckpointContents> {
  const requested = path.resolve(dir);
  for (let attempt = 1; ; attempt++) {
    const version = await findCheckpoint(requested);
    if (version === undefined) throw new CheckpointError(requested, `checkpoint directory ${requested} does not exist`);
    const before = await signature(version);
    try {
      return await loadFrom(sourceAt(version.path), template);
    } catch (e) {
      const now = await findCheckpoint(requested).catch(() => undefined);
      const moved = now === undefined || now.path !== version.path || (await signature(now)) !== before;
      if (attempt < 3 && e instanceof CheckpointError && moved) continue;
      throw e;
    }
  }
}

/** Which version, and when its manifest was written: it changes when a save replaces it. */
const signature = async (v: CheckpointVersion): Promise<string> => {
  try {
    return `${v.path} ${(await fsp.stat(path.join(v.path, MANIFEST_FILE))).mtimeMs}`;
  } catch {
    return `${v.path} -`;
  }
};

const loadFrom = async (src: Source, template?: Readonly<Record<string, Tree>>): Promise<CheckpointContents> => {
  let text: string;
  try {
    text = await fsp.readFile(src.manifestPath, 'utf8');
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT')
      throw src.fail(src.manifestPath, 'manifest.json is missing: this is not a checkpoint, or its save never completed');
    if (code === 'ENOTDIR') throw src.fail(src.dir, `${src.dir} is not a directory`);
    throw src.fail(src.manifestPath, `cannot read manifest.json (${messageOf(e)})`, e);
  }
  const manifest = parseManifest(src, text);
  const groups = checkLayout(src, manifest);
  const bytes = await readWeights(src, manifest);
  return { trees: treesOf(src, manifest, groups, bytes, template), meta: manifest.meta };
};

/** A version of a checkpoint directory: where it is, and whether it is `dir` itself, its backup or a save's completed temporary copy. */
export type CheckpointVersion = Version;

/** Manifest decodes and weights.bin has its size: a save got as far as writing both (no checksum: loading checks that). */
const looksComplete = async (dir: string): Promise<boolean> => {
  try {
    const decoded = decodeManifest(JSON.parse(await fsp.readFile(path.join(dir, MANIFEST_FILE), 'utf8')));
    return E.isRight(decoded) && (await fsp.stat(path.join(dir, WEIGHTS_FILE))).size === decoded.right.byteLength;
  } catch {
    return false;
  }
};

/**
 * The newest complete version of checkpoint `dir` (see recover.ts): the
 * finished temporary copy of a save that crashed before its rename, else
 * `dir`, else its backup `dir.old`; undefined when there is none.
 */
export const findCheckpoint = async (dir: string): Promise<CheckpointVersion | undefined> => {
  try {
    return (await versionsOf(dir, looksComplete))[0];
  } catch (e) {
    throw new CheckpointError(path.resolve(dir), `cannot read checkpoint ${path.resolve(dir)} (${messageOf(e)})`, { cause: e });
  }
};

/**
 * Make `dir` the newest complete checkpoint again after a crash: finish
 * the interrupted swap or roll it back, and remove leftovers. Only for the
 * process that writes `dir` (the holder of the run's lock).
 */
export const settleCheckpoint = (dir: string): Promise<'finished' | 'rolled back' | 'cleaned' | undefined> => settleDir(dir, looksComplete);
