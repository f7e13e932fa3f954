/** The one error type of checkpoint saving and loading. */

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
