/**
 * The FCN-score stand-in: a photo -> labels network trained with this
 * library on the real training photos (L1, the same split the examples
 * train on). It scores generated photos by how well it recovers the label
 * maps they were generated from. Trained once and cached under
 * runs/examples/segmenter, keyed by its settings.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { l1, loadCheckpoint, makeKey, patchDiscriminator, saveCheckpoint, unet, disposeTree, type Segmenter } from '../../lib/node.ts';
import { train, type DataSetup, type RunOptions } from './experiment.ts';

export const getSegmenter = async (labelsToPhoto: DataSetup, o: RunOptions, full: boolean): Promise<Segmenter> => {
  const d: DataSetup = { ...labelsToPhoto, direction: labelsToPhoto.direction === 'BtoA' ? 'AtoB' : 'BtoA' };
  const generator = unet({ depth: Math.log2(d.size), ngf: full ? 64 : 32 });
  const dir = join('runs', 'examples', 'segmenter');
  const key = JSON.stringify({ data: d.root, size: d.size, train: d.train, steps: o.steps, seed: o.seed, full });
  const template = generator.init(makeKey(0), [d.size, d.size, 3]);
  if (existsSync(join(dir, 'key.json')) && (await readFile(join(dir, 'key.json'), 'utf8')) === key) {
    const { trees } = await loadCheckpoint(join(dir, 'checkpoint'), { params: template.params, state: template.state });
    disposeTree(template.params);
    disposeTree(template.state);
    console.log(`segmenter: loaded from ${dir}`);
    return { generator, params: trees['params']!, state: trees['state']! };
  }
  disposeTree(template.params);
  disposeTree(template.state);
  console.log(`segmenter: training photo -> labels (L1) for ${o.steps} steps`);
  const t = await train(d, { name: 'segmenter', generator, discriminator: patchDiscriminator(70), objective: l1(100) }, o);
  await saveCheckpoint(join(dir, 'checkpoint'), { trees: { params: t.params, state: t.state }, meta: { key } });
  await writeFile(join(dir, 'key.json'), key);
  return { generator, params: t.params, state: t.state };
};
