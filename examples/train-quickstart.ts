import { batches, cgan, fit, initTrainState, l1, makeAsyncStep, makeKey, openDataset, patchDiscriminator, plus, saveTrainState, unet, useBackend } from 'pix2pix-ts/node';

await useBackend(); // tfjs-node(-gpu) if installed, else webgpu on a GPU, else native, else wasm, else cpu
const data = await openDataset({ root: 'examples/data/facades-mini', direction: 'BtoA' }); // labels -> photo
const spec = { generator: unet({ depth: 6, ngf: 32 }), discriminator: patchDiscriminator(70, { ndf: 32 }), objective: plus(l1(100), cgan()), inputShape: [64, 64, 3] as const, outChannels: 3 };
const start = initTrainState(spec, makeKey(0)); // shapes are checked before anything is allocated
if (start._tag === 'Left') throw new Error(start.left.message);
const stream = batches(data, { batchSize: 1, epochs: 1, preprocess: { loadSize: 72, cropSize: 64 } });
const end = await fit(start.right, stream, makeAsyncStep(spec), { maxSteps: 20, onStep: (s, m) => console.log(s.step, m) });
await saveTrainState('runs/quickstart/checkpoint', end);
