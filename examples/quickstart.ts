import { patchDiscriminator, receptiveField, summarize, unet } from 'pix2pix-ts';

const G = unet({ depth: 8, ngf: 64 }); // the paper's unet_256: 54,413,955 parameters
const D = patchDiscriminator(70); // the 70x70 PatchGAN, on concat(x, y)
console.log('G receptive field:', receptiveField(G)); // 1278
console.log('D receptive field:', receptiveField(D)); // 70
console.log('D logits:', D.shape([256, 256, 6])); // Right [30, 30, 1]
const rows = summarize(G, [256, 256, 3]);
if (rows._tag === 'Right') console.log('G parameters:', rows.right.params);
