/** `pix2pix download NAME`: fetch and unpack one of the standard pix2pix datasets. */
import * as t from 'io-ts';
import cliProgress from 'cli-progress';
import { DEFAULT_BASE_URL, downloadDataset, KNOWN_DATASETS } from '../data/download.ts';
import { decodeFlags, UsageError } from './flags.ts';

export const downloadHelp = `pix2pix download NAME [options]

  NAME             ${KNOWN_DATASETS.join(', ')}
  --dest DIR       where to unpack (default datasets; the data lands in DIR/NAME)
  --base-url URL   where the NAME.tar.gz files are (default ${DEFAULT_BASE_URL})
  --force          download again even if DIR/NAME already holds files`;

const Flags = t.exact(t.partial({ dest: t.string, baseUrl: t.string, force: t.boolean }));
const options = { dest: { type: 'string' }, 'base-url': { type: 'string' }, force: { type: 'boolean' } } as const;

export const downloadCommand = async (argv: readonly string[], out: (line: string) => void): Promise<void> => {
  const [name, ...rest] = argv;
  if (name === undefined || name.startsWith('-')) throw new UsageError(`which dataset? one of ${KNOWN_DATASETS.join(', ')}`);
  if (!(KNOWN_DATASETS as readonly string[]).includes(name))
    throw new UsageError(`unknown dataset '${name}'; choose one of ${KNOWN_DATASETS.join(', ')}`);
  const f = decodeFlags(rest, options, Flags);
  const bar = new cliProgress.SingleBar(
    { format: '{phase} |{bar}| {percentage}% {mb} MB', stream: process.stderr, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 5_000 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const result = await downloadDataset(name, f.dest ?? 'datasets', {
    ...(f.baseUrl !== undefined ? { baseUrl: f.baseUrl } : {}),
    ...(f.force ? { force: true } : {}),
    onProgress: (p) => {
      const total = p.total ?? 0;
      if (!started) {
        bar.start(total || 1, 0, { phase: p.phase, mb: '0' });
        started = true;
      }
      if (total) bar.setTotal(total);
      bar.update(total ? p.bytes : 0, { phase: p.phase, mb: (p.bytes / 1e6).toFixed(1) });
    },
  });
  if (started) bar.stop();
  out(result.downloaded ? `${name}: ${(result.bytes / 1e6).toFixed(1)} MB unpacked into ${result.dir}` : `${name}: ${result.dir} already holds it (pass --force to download again)`);
};
