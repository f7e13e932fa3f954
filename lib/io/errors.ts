/** The errors of the file layer: checkpoints that cannot be read, files that cannot be written. */

/**
 * A checkpoint that cannot be read, or a save that cannot go ahead.
 * `path` is the file or directory at fault (the manifest, the weights file,
 * or the checkpoint directory).
 */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
  }
}

const REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  EIO: 'an I/O error',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the name is too long',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder',
};

/** The code of a Node file-system error (ENOSPC, EACCES, ...), if it is one. */
export const errnoOf = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string' ? (e as { code: string }).code : undefined;

/** "no space left on the device (ENOSPC)" for a file-system error; its message otherwise. */
export const fsReason = (e: unknown): string => {
  const code = errnoOf(e);
  if (code !== undefined && REASONS[code] !== undefined) return `${REASONS[code]} (${code})`;
  const m = e instanceof Error ? e.message : String(e);
  return code !== undefined && !m.includes(code) ? `${m} (${code})` : m;
};

/**
 * A file or folder that could not be written: `path` is what the caller was
 * writing (a checkpoint folder, not its temporary twin), `code` the errno.
 * Whatever was being replaced is as it was; temporary files are removed.
 */
export class WriteError extends Error {
  override readonly name = 'WriteError';
  readonly path: string;
  readonly code: string | undefined;

  constructor(path: string, cause: unknown, what = path) {
    super(`cannot write ${what}: ${fsReason(cause)}`, { cause });
    this.path = path;
    this.code = errnoOf(cause);
  }
}
