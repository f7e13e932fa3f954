/**
 * The demo behind `npm start`: train pix2pix labels -> photo on the 40
 * facade pairs bundled in examples/data/facades-mini (CMP Facade Database,
 * Tylecek and Sara, GCPR 2013) at 64x64, on the best backend available,
 * for at most ~8 minutes, then show what it learned on the 8 held-out pairs.
 *
 *   npm start                      # or: npx tsx examples/demo.ts [--steps N] [--minutes M] [--out DIR]
 *
 * It writes runs/demo/index.html (loss curves and input / output / target
 * for the held-out pairs) and prints the held-out L1 before and after.
 */
import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { main } from '../lib/cli/main.ts';
import { inspectRunDir, readLosses, runPaths } from '../lib/train/run-dir.ts';

const { values } = parseArgs({
  options: { steps: { type: 'string', default: '1200' }, minutes: { type: 'string', default: '8' }, out: { type: 'string', default: 'runs/demo' } },
});
const out = values.out!;

// A demo starts from scratch: an earlier demo run is removed, a folder of anything else never.
const found = await inspectRunDir(out);
if (found.kind === 'foreign' || found.kind === 'file') {
  console.error(`demo: --out ${out} is not a pix2pix run directory; choose another --out (the demo removes an earlier run there)`);
  process.exit(2);
}
if (found.kind === 'run') await rm(out, { recursive: true, force: true });
const status = await main([
  'train',
  '--data', 'examples/data/facades-mini',
  '--direction', 'BtoA', // labels -> photo, as in the paper
  '--size', '64', '--load-size', '72',
  '--generator', 'unet64', '--ngf', '32',
  '--discriminator', 'patch70', '--ndf', '32',
  '--objective', 'l1+cgan', '--lambda', '100',
  '--epochs', '20', '--epochs-decay', '10',
  '--steps', values.steps!,
  '--time-limit', values.minutes!,
  '--sample-every', '100', '--checkpoint-every', '200',
  '--out', out,
]);
if (status !== 0) process.exit(status);

const held = (await readLosses(out)).filter((r) => typeof r['valL1'] === 'number');
const first = held[0];
const last = held[held.length - 1];
if (first && last) {
  console.log(`\nheld-out L1 (8 val pairs, [-1, 1] scale): step 0 ${first['valL1']!.toFixed(4)} -> step ${last['step']} ${last['valL1']!.toFixed(4)}`);
}
console.log(`open ${runPaths(out).report} to see the held-out pairs`);
