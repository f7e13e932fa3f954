/**
 * The bench's end-to-end rows, our side: `pix2pix train` (its command, in
 * this process, with its defaults for checkpoints, samples and logging) on
 * real files, timed from the process's start to its first step and then
 * over `--steps` steps after `--warmup`. Prints one JSON line.
 *
 *   node --import tsx test/bench/e2e-ours.ts --data DIR --size 64 --load 72 --generator unet64 --ngf 32 --ndf 32 --steps 200 --warmup 20
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trainCommand } from '../../lib/cli/train.ts';

const { values: v } = parseArgs({
  options: {
    data: { type: 'string' },
    size: { type: 'string', default: '64' },
    load: { type: 'string', default: '72' },
    generator: { type: 'string', default: 'unet64' },
    ngf: { type: 'string', default: '32' },
    ndf: { type: 'string', default: '32' },
    steps: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '20' },
    backend: { type: 'string', default: 'auto' },
  },
});
const warmup = Number(v.warmup);
const steps = Number(v.steps);
const out = join(mkdtempSync(join(tmpdir(), 'pix2pix-e2e-')), 'run');
let first: number | undefined;
let from: number | undefined;
let to: number | undefined;
let backend = '';
try {
  const status = await trainCommand(
    ['--data', v.data!, '--direction', 'BtoA', '--size', v.size!, '--load-size', v.load!, '--generator', v.generator!, '--ngf', v.ngf!, '--ndf', v.ndf!, '--steps', String(warmup + steps), '--backend', v.backend!, '--quiet', '--out', out],
    (line) => {
      const m = /backend (\S+)$/.exec(line);
      if (line.startsWith('training ') && m) backend = m[1]!;
    },
    {
      onStep: ({ step }) => {
        const now = performance.now(); // ms since this process started
        if (step === 1) first = now;
        if (step === warmup) from = now;
        if (step === warmup + steps) to = now;
      },
    },
  );
  if (status !== 0 || first === undefined || from === undefined || to === undefined) throw new Error(`train exited ${status} before its steps were timed`);
  const s = (to - from) / 1000;
  console.log(JSON.stringify({ backend, steps, wall_s: s, s_per_step: s / steps, first_step_s: first / 1000, peak_rss_mib: process.resourceUsage().maxRSS / 1024 }));
} finally {
  rmSync(join(out, '..'), { recursive: true, force: true });
}
