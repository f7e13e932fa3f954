/**
 * `?selftest=1`: with no user input, translate a bundled label map with the
 * default model, train 3 steps at 32x32 (ngf 8), and report as one JSON
 * object (the browser tests read it from <pre id="selftest">).
 */
import * as tf from '@tensorflow/tfjs';
import { bytesToFloat, resizeImage, splitHalves } from 'pix2pix-ts';
import { bundledPairs, decodeImage, DEFAULT_MODEL } from './data.ts';
import { disposeModel, loadFromUrl, translateBytes } from './model.ts';
import { startTraining } from './train.ts';

const hex = async (bytes: Uint8Array): Promise<string> =>
  Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes))), (b) => b.toString(16).padStart(2, '0')).join('');

export const selftest = async (backend: string) => {
  const model = await loadFromUrl(DEFAULT_MODEL);
  const size = model.trained.config.size;
  const index = (await (await fetch('data/index.json')).json()) as { val: string[] };
  const [, labels] = splitHalves(await decodeImage(`data/val/${index.val[0]}`));
  // The label half at the model's size, resized as the library resizes (bilinear, in floats) and back to 8 bits.
  const input = resizeImage(bytesToFloat(labels), size, size);
  const bytes = Uint8Array.from(input.data, (v) => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))));
  await translateBytes(model, { height: size, width: size, channels: 3, data: bytes }, { seed: 0, mode: 'paper' }); // warm-up: shader compilation
  const t0 = performance.now();
  const out = await translateBytes(model, { height: size, width: size, channels: 3, data: bytes }, { seed: 0, mode: 'paper' });
  const translateMs = performance.now() - t0;
  disposeModel(model);

  const pairs = await bundledPairs('train', 'BtoA');
  const tensorsStart = tf.memory().numTensors;
  const counts: number[] = [];
  const losses: number[] = [];
  const trainer = startTraining(pairs.slice(0, 8), { size: 32, ngf: 8, steps: 3, sampleEvery: 1000, direction: 'BtoA', dataName: 'browser: selftest' }, {
    onProgress: ({ metrics }) => {
      counts.push(tf.memory().numTensors);
      losses.push(...Object.entries(metrics).filter(([k]) => k.startsWith('G/') || k.startsWith('D/')).map(([, v]) => v));
    },
  });
  await trainer.done;
  trainer.dispose();
  return {
    backend,
    translateMs: Math.round(translateMs * 10) / 10,
    losses,
    finite: losses.length > 0 && losses.every(Number.isFinite),
    // After the first (warm-up) step and after the last.
    tensorsBefore: counts[0],
    tensorsAfter: counts[counts.length - 1],
    tensorsStart,
    tensorsEnd: tf.memory().numTensors,
    outputChecksum: (await hex(out.data)).slice(0, 16),
  };
};
