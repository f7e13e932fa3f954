/** Options objects: `undefined` means "use the default", as a reader expects. */
export const withDefaults = <T extends object>(defaults: T, options: Partial<T> = {}): T => {
  const out = { ...defaults };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
};

/**
 * How an error message names an option, so that it says what the reader
 * typed: the library's API by default (`skipBad: true`, `layout 'separate'`,
 * `loadSize`); the CLI passes one that names its flags (`--skip-bad`,
 * `--layout separate`, `--load-size`).
 */
export type Phrasing = (option: string, value?: string | number | boolean) => string;

export const apiPhrasing: Phrasing = (option, value) =>
  value === undefined ? option : typeof value === 'string' ? `${option} '${value}'` : `${option}: ${String(value)}`;
