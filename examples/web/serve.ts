/**
 * `npm run web`: bundles the page (examples/web/src, the pix2pix-ts entry
 * alone) with esbuild into examples/web/dist/ with its files — the default
 * model and the bundled facades-mini pairs — and serves it on 127.0.0.1.
 *
 *   npm run web [-- --port N] [-- --build-only]
 *
 * Without --port, a free port. The browser tests call `serveWeb` directly.
 */
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
export const WEB_DIST = join(here, 'dist');
const MINI = join(root, 'examples', 'data', 'facades-mini');

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const buildOptions = (): esbuild.BuildOptions => ({
  entryPoints: [join(here, 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: join(WEB_DIST, 'main.js'),
  sourcemap: true,
  // The page is built from the library's sources (the package's "source" condition), as a user's bundler would take dist/.
  conditions: ['source'],
  logLevel: 'warning',
});

/** dist/: index.html, style.css, the model(s), data/{train,val}/ and data/index.json. */
export const prepareWeb = async (): Promise<void> => {
  await rm(WEB_DIST, { recursive: true, force: true });
  await mkdir(WEB_DIST, { recursive: true });
  for (const f of ['index.html', 'style.css']) await cp(join(here, f), join(WEB_DIST, f));
  await cp(join(here, 'model'), join(WEB_DIST, 'model'), { recursive: true });
  const index: Record<string, string[]> = {};
  for (const split of ['train', 'val']) {
    await cp(join(MINI, split), join(WEB_DIST, 'data', split), { recursive: true });
    index[split] = (await readdir(join(MINI, split))).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }
  await writeFile(join(WEB_DIST, 'data', 'index.json'), JSON.stringify(index));
};

export interface WebServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Build the page and serve it (esbuild rebuilds the bundle when a source changes). */
export const serveWeb = async (opts: { port?: number } = {}): Promise<WebServer> => {
  await prepareWeb();
  const ctx = await esbuild.context(buildOptions());
  await ctx.rebuild();
  const port = opts.port ?? (await freePort());
  const served = await ctx.serve({ servedir: WEB_DIST, host: '127.0.0.1', port });
  return { url: `http://127.0.0.1:${served.port}/`, stop: () => ctx.dispose() };
};

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, 'build-only': { type: 'boolean' } } });
  if (values.port !== undefined && !/^\d+$/.test(values.port)) {
    console.error(`npm run web: --port: expected a port number, got "${values.port}"`);
    process.exit(2);
  }
  if (values['build-only']) {
    await prepareWeb();
    await esbuild.build(buildOptions());
    console.log(`built ${WEB_DIST}`);
  } else {
    const server = await serveWeb(values.port === undefined ? {} : { port: Number(values.port) });
    console.log(`pix2pix-ts web page: ${server.url}  (self-test: ${server.url}?selftest=1; Ctrl-C stops)`);
  }
}
