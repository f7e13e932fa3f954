/**
 * The optional native accelerator: two N-API modules built at install time
 * by lib/backend/native/build.mjs when g++, OpenBLAS (OpenMP build) and
 * oneDNN are present — pix2pix_conv (convolutions on OpenBLAS / oneDNN) and
 * pix2pix_elementwise (OpenMP loops). Loading never throws: it returns the
 * modules or the reason they are unavailable.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

type Fn = (...args: never[]) => unknown;
export interface NativeAddon {
  readonly conv: Record<string, Fn> & { threads(): number };
  readonly elementwise: Record<string, Fn> & { threads(): number };
}

// Built by build.mjs next to binding.gyp, in lib/ also in the package: this
// file is three levels below the package root both as lib/backend/native/index.ts
// and compiled, as dist/backend/native/index.js.
const modulePath = (name: string) => fileURLToPath(new URL(`../../../lib/backend/native/build/Release/${name}.node`, import.meta.url));

let cached: { addon: NativeAddon } | { reason: string } | undefined;

export const loadNative = (): { addon: NativeAddon } | { reason: string } => {
  if (cached) return cached;
  if (process.env.PIX2PIX_NATIVE === '0') return (cached = { reason: 'disabled by PIX2PIX_NATIVE=0' });
  const paths = { conv: modulePath('pix2pix_conv'), elementwise: modulePath('pix2pix_elementwise') };
  if (!existsSync(paths.conv) || !existsSync(paths.elementwise))
    return (cached = { reason: 'not built (needs g++, libopenblas-openmp-dev and libdnnl-dev at install: npm run build:native)' });
  // OpenMP's default spin-waiting collapses when anything else wants a core
  // (a kernel went from 3 to 30 ms under load); passive waiting costs nothing
  // measurable on a quiet machine. Read when the runtime starts, so set it
  // before the modules load, unless the user chose.
  if (process.env['OMP_WAIT_POLICY'] === undefined && process.env['GOMP_SPINCOUNT'] === undefined) process.env['OMP_WAIT_POLICY'] = 'passive';
  try {
    const load = createRequire(import.meta.url);
    return (cached = { addon: { conv: load(paths.conv), elementwise: load(paths.elementwise) } as NativeAddon });
  } catch (e) {
    return (cached = { reason: `failed to load: ${(e as Error).message.split('\n')[0]}` });
  }
};
