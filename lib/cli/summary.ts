/** `pix2pix summary`: per-layer shapes, parameters and receptive fields of G and D. */
import { readFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import { decodeRunArchive } from '../io/run-archive.ts';
import { parseRunConfig } from '../train/run-config.ts';
import { readConfig } from '../train/run-dir.ts';
import * as t from 'io-ts';
import { formatSummary, summarize, type Summary } from '../core/analysis.ts';
import type { Layer } from '../core/layer.ts';
import { formatShapeError, type Shape } from '../core/shape.ts';
import { multiscaleDiscriminator } from '../nets/multiscale.ts';
import { discriminator, generator } from '../nets/presets.ts';
import { useBackend } from '../backend/index.ts';
import { decodeFlags, oneOf, positiveIntFromString, UsageError, backendFlag } from './flags.ts';

export const summaryHelp = `pix2pix summary [options]

  --run DIR|ZIP         the networks of a run (a run directory, an export or an import): its config's
                        generator, discriminator, size, widths and norm (leave those flags out)
  --generator NAME      unet256 (default), unet128, encoderDecoder256, encoderDecoder128,
                        resnet9, resnet6 (or unetN, encoderDecoderN, resnetN)
  --discriminator NAME  patch70 (default), pixel, patch16, image286, or patchN (N = 9*2^k - 2)
  --scales N            pix2pixHD's multi-scale D: N copies at 1, 1/2, 1/4 ... of the size (default 1)
  --size N              input height and width (default 256)
  --ngf N, --ndf N      filters in the first layer of G and D (default 64)
  --norm KIND           batch (default), instance, none
  --in-channels N       channels of the input image (default 3)
  --out-channels N      channels of the output image (default 3)
  --backend NAME        auto (default), tensorflow, webgpu, native, wasm, cpu
  --json                print one JSON object instead of the tables`;

const Flags = t.exact(
  t.partial({
    run: t.string,
    generator: t.string,
    discriminator: t.string,
    scales: positiveIntFromString,
    size: positiveIntFromString,
    ngf: positiveIntFromString,
    ndf: positiveIntFromString,
    norm: oneOf(['batch', 'instance', 'none']),
    inChannels: positiveIntFromString,
    outChannels: positiveIntFromString,
    backend: backendFlag,
    json: t.boolean,
  }),
);

const options = {
  run: { type: 'string' },
  generator: { type: 'string' },
  discriminator: { type: 'string' },
  scales: { type: 'string' },
  size: { type: 'string' },
  ngf: { type: 'string' },
  ndf: { type: 'string' },
  norm: { type: 'string' },
  'in-channels': { type: 'string' },
  'out-channels': { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** A shape error in one of the networks: the CLI prints it and exits with status 1. */
export class NetworkShapeError extends Error {
  override readonly name = 'NetworkShapeError';
}

const orUsage = <A>(r: E.Either<string, A>, flag: string): A => {
  if (E.isLeft(r)) throw new UsageError(`--${flag}: ${r.left}`);
  return r.right;
};

const summaryOf = (which: string, layer: Layer, input: Shape): Summary => {
  const s = summarize(layer, input);
  if (E.isLeft(s)) throw new NetworkShapeError(`${which} on ${input.join('x')}: ${formatShapeError(s.left)}`);
  return s.right;
};

const group = (n: number) => n.toLocaleString('en-US');
/** The network flags a run's config stands for (`--run`); naming them as well is a usage error. */
const fromRun = async (f: t.TypeOf<typeof Flags>): Promise<t.TypeOf<typeof Flags>> => {
  const given = (['generator', 'discriminator', 'scales', 'size', 'ngf', 'ndf', 'norm', 'inChannels', 'outChannels'] as const).filter((k) => f[k] !== undefined);
  if (given.length > 0) throw new UsageError(`--run ${f.run} gives the networks (its config's); leave out ${given.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
  const run = f.run!;
  const c = run.toLowerCase().endsWith('.zip') ? parseRunConfig(decodeRunArchive(new Uint8Array(await readFile(run)), run).config, `${run}: config.json`, run) : await readConfig(run);
  return { generator: c.generator, discriminator: c.discriminator, scales: c.scales ?? 1, size: c.size, ngf: c.ngf, ndf: c.ndf, norm: c.norm, inChannels: c.inChannels, outChannels: c.outChannels };
};

export const summaryCommand = async (argv: readonly string[], out: (line: string) => void): Promise<void> => {
  const flags = decodeFlags(argv, options, Flags);
  const f = flags.run === undefined ? flags : { ...flags, ...(await fromRun(flags)) };
  const size = f.size ?? 256;
  const inChannels = f.inChannels ?? 3;
  const outChannels = f.outChannels ?? 3;
  const gName = f.generator ?? 'unet256';
  const dName = f.discriminator ?? 'patch70';
  const norm = f.norm ?? 'batch';
  const g = orUsage(generator(gName, { ngf: f.ngf ?? 64, norm, inChannels, outChannels }), 'generator');
  const scales = f.scales ?? 1;
  const ds = multiscaleDiscriminator(scales, orUsage(discriminator(dName, { ndf: f.ndf ?? 64, norm }), 'discriminator'));
  const gs = summaryOf(`generator ${gName}`, g, [size, size, inChannels]);
  // The conditional D sees concat(input, output); each scale takes it at full size.
  const dShape: Shape = [size, size, inChannels + outChannels];
  const dss = ds.map((d, i) => summaryOf(`discriminator ${dName}${scales > 1 ? ` scale ${i + 1}` : ''}`, d, dShape));
  const backend = await useBackend(f.backend ?? 'auto', { quiet: f.json === true });
  if (f.json) {
    const brief = (s: Summary) => ({ params: s.params, outputShape: s.output, receptiveField: s.receptiveField });
    // With --scales: the total parameters; outputShape and receptiveField are scale 1's, and each scale's is in `scales`.
    const discriminatorJson = scales === 1 ? brief(dss[0]!) : { ...brief(dss[0]!), params: dss.reduce((n, s) => n + s.params, 0), scales: dss.map(brief) };
    out(JSON.stringify({ generator: brief(gs), discriminator: discriminatorJson, backend: backend.name }));
    return;
  }
  out(formatSummary(`Generator ${gName} on ${size}x${size}x${inChannels}`, gs));
  out('');
  dss.forEach((d, i) => {
    const scale = scales > 1 ? `, scale ${i + 1} of ${scales} (the input average-pooled ${i} times; fields in input pixels)` : '';
    out(formatSummary(`Discriminator ${dName} on concat(input, output): ${dShape.join('x')}${scale}`, d));
    out('');
  });
  if (scales > 1) out(`discriminator total: ${group(dss.reduce((n, s) => n + s.params, 0))} parameters in ${scales} scales`);
  out(`backend: ${backend.name} (${backend.reason})`);
};
