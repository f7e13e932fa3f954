#!/usr/bin/env node
// Builds the optional native accelerator at install time. It needs g++,
// Node's headers and Debian's libopenblas-openmp-dev and libdnnl-dev; without them
// (or with PIX2PIX_NATIVE=0) it says why and exits 0: the library then runs
// on wasm. Never fails an install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const say = (m) => console.error(`pix2pix-ts native accelerator: ${m}`);

if (process.env.PIX2PIX_NATIVE === '0') {
  say('skipped (PIX2PIX_NATIVE=0)');
  process.exit(0);
}
const missing = [
  ['/usr/include/x86_64-linux-gnu/openblas-openmp/cblas.h', 'libopenblas-openmp-dev'],
  ['/usr/include/dnnl.h', 'libdnnl-dev'],
].filter(([file]) => !existsSync(file));
if (missing.length > 0) {
  say(`not built: ${missing.map(([, pkg]) => pkg).join(' and ')} not installed (apt-get install -y ${missing.map(([, pkg]) => pkg).join(' ')}); using wasm`);
  process.exit(0);
}
// npm passes its own node-gyp to install scripts; fall back to a resolvable one.
let gyp = process.env.npm_config_node_gyp;
if (!gyp || !existsSync(gyp)) {
  try {
    gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const npmDir = dirname(dirname(process.execPath));
    const candidate = join(npmDir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    gyp = existsSync(candidate) ? candidate : undefined;
  }
}
if (!gyp) {
  say('not built: node-gyp not found; using wasm');
  process.exit(0);
}
const nodedir = existsSync('/usr/include/node/node_api.h') ? ['--nodedir=/usr'] : [];
// The data pipeline's JPEG decoder (src/jpeg.cc) where libjpeg-turbo's headers are (libjpeg62-turbo-dev); sharp decodes otherwise.
const jpeg = existsSync('/usr/include/jpeglib.h');
if (!jpeg) say('no jpeglib.h (libjpeg62-turbo-dev): JPEGs will be decoded by sharp alone');
const r = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedir, '--jobs=2'], { cwd: here, env: { ...process.env, GYP_DEFINES: `${process.env.GYP_DEFINES ?? ''} jpeg=${jpeg ? 1 : 0}`.trim() }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => /error/i.test(l)).slice(0, 8).join('\n');
  say(`build failed; using wasm.\n${log}`);
  process.exit(0);
}
say('built');
