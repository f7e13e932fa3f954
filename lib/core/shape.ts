/**
 * Shapes and shape errors. A shape is the per-example [height, width,
 * channels] of an NHWC tensor; the batch dimension never matters for shape
 * inference, so it is left out.
 */
import * as E from 'fp-ts/lib/Either.js';

export type Shape = readonly [height: number, width: number, channels: number];

/** A shape error names where it happened (outermost first) and what is wrong. */
export interface ShapeError {
  readonly path: readonly string[];
  readonly message: string;
  /** The group of the scope at the head of the path (see `named`). */
  readonly group?: string;
}

export const shapeError = (message: string): ShapeError => ({ path: [], message });

/**
 * Prefix an error's path with the name of the layer that contains it. A
 * scope of a group nested directly in a scope of the same group replaces it
 * in paths (`unet › level 8 › conv`, not `level 1 › level 2 › ... › level 8`).
 */
export const within =
  (name: string, group?: string) =>
  (error: ShapeError): ShapeError => {
    if (group !== undefined && error.group === group) return error;
    const { group: _inner, ...rest } = error;
    return group === undefined ? { ...rest, path: [name, ...error.path] } : { ...rest, path: [name, ...error.path], group };
  };

/** `unet › level 8 › conv 4x4/2: input 1x1 is smaller than the kernel` */
export const formatShapeError = (error: ShapeError): string =>
  error.path.length === 0 ? error.message : `${error.path.join(' › ')}: ${error.message}`;

/** Thrown where a caller skipped the `Either` (e.g. `init` on a bad shape). */
export class ShapeException extends Error {
  constructor(readonly shapeError: ShapeError) {
    super(formatShapeError(shapeError));
    this.name = 'ShapeException';
  }
}

/** Unwrap a shape result, throwing a readable ShapeException on Left. */
export const orThrow = <A>(result: E.Either<ShapeError, A>): A => {
  if (E.isLeft(result)) throw new ShapeException(result.left);
  return result.right;
};

export const showSize = (s: Shape): string => `${s[0]}x${s[1]}`;
export const showShape = (s: Shape): string => `${s[0]}x${s[1]}x${s[2]}`;

export const isValidShape = (s: readonly number[]): s is Shape =>
  s.length === 3 && s.every((d) => Number.isInteger(d) && d > 0);
