/** Options objects: `undefined` means "use the default", as a reader expects. */
export const withDefaults = <T extends object>(defaults: T, options: Partial<T> = {}): T => {
  const out = { ...defaults };
  for (const [k, v] of Object.entries(options)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
};
