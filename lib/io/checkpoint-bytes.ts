/**
 * A checkpoint to and from its two files' contents, with no file system:
 * what a browser saves for a download and has after a file picker or a
 * fetch. The same checks as
 * `loadCheckpoint` (the manifest, the layout, weights.bin's size and
 * SHA-256 — by Web Crypto, present in browsers and in Node — and a
 * template's shapes), the same trees.
 */
import type { Tree } from '../core/tree.ts';
import { checkLayout, checkWeights, parseManifest, treesOf, type Source } from './checkpoint-decode.ts';
import { manifestText, planCheckpoint, storedBytes, type CheckpointContents } from './checkpoint-plan.ts';
import { CheckpointError } from './errors.ts';
import { MANIFEST_FILE, WEIGHTS_FILE } from './manifest.ts';

export interface CheckpointFiles {
  /** manifest.json's text. */
  readonly manifest: string;
  /** weights.bin's bytes. */
  readonly weights: Uint8Array;
}

const hex = (digest: ArrayBuffer): string => Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');

/**
 * Trees and metadata from a checkpoint's files; `name` (a URL, a file name)
 * is what error messages call it. Every failure is a `CheckpointError`.
 * The tensors are new, and the caller disposes them.
 */
export const decodeCheckpoint = async (
  files: CheckpointFiles,
  template?: Readonly<Record<string, Tree>>,
  name = 'checkpoint',
): Promise<{ readonly trees: Readonly<Record<string, Tree>>; readonly meta: unknown }> => {
  const src: Source = {
    dir: name,
    manifestPath: `${name}/${MANIFEST_FILE}`,
    weightsPath: `${name}/${WEIGHTS_FILE}`,
    fail: (file, message, cause) => new CheckpointError(file, `checkpoint ${name}: ${message}`, cause === undefined ? undefined : { cause }),
  };
  const manifest = parseManifest(src, files.manifest);
  const groups = checkLayout(src, manifest);
  checkWeights(src, manifest, files.weights.byteLength);
  const bytes = new Uint8Array(files.weights); // a copy Web Crypto may read whatever the caller's buffer is
  checkWeights(src, manifest, bytes.byteLength, hex(await globalThis.crypto.subtle.digest('SHA-256', bytes)));
  return { trees: treesOf(src, manifest, groups, bytes, template), meta: manifest.meta };
};

/**
 * The two files of a checkpoint of `contents` (what saveCheckpoint writes,
 * byte for byte, but for the manifest's createdAt). Reads each tensor with
 * `await data()`; invalid contents are a CheckpointError naming `name`.
 */
export const encodeCheckpoint = async (contents: CheckpointContents, name = 'checkpoint'): Promise<CheckpointFiles> => {
  const plan = planCheckpoint(name, contents);
  const weights = new Uint8Array(plan.byteLength);
  for (const entry of plan.tensors) weights.set(storedBytes(name, entry, await entry.tensor.data()), entry.offset);
  return { manifest: manifestText(plan, hex(await globalThis.crypto.subtle.digest('SHA-256', weights))), weights };
};
