// The pix2pix-ts entry is isomorphic: it bundles for a browser with no Node
// built-in and no sharp anywhere in what it pulls in; pix2pix-ts/node does not.
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const bundle = (entry: string) =>
  build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });

describe('bundling for a browser (esbuild, platform browser)', () => {
  it('pix2pix-ts (lib/index.ts) bundles, and nothing it includes is sharp, a Node built-in, or a Node-only module of the library', async () => {
    const r = await bundle('lib/index.ts');
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs.filter((f) => /node_modules\/(sharp|@img)\//.test(f) || f.startsWith('node:'))).toEqual([]);
    // The library's files that touch the file system or native code stay out.
    const nodeOnly = /^lib\/cli\/|^lib\/backend\/(index\.ts|native\/)|^lib\/io\/(atomic|checkpoint|checkpoint-load|effects|file|lock|pid|recover|tmp)\.ts$|^lib\/data\/(image|dataset|files|download)\.ts$|^lib\/train\/(checkpoint|run-dir|run-model|samples)\.ts$/;
    expect(inputs.filter((f) => nodeOnly.test(f))).toEqual([]);
    // It carries the library itself: the networks, the step.
    expect(inputs).toEqual(expect.arrayContaining(['lib/nets/unet.ts', 'lib/train/step.ts', 'lib/losses/objective.ts', 'lib/io/checkpoint-bytes.ts']));
  });

  it('pix2pix-ts/node (lib/node.ts) does not: it reads files and loads native code', async () => {
    await expect(bundle('lib/node.ts')).rejects.toThrow(/Could not resolve "node:/);
  });
});
