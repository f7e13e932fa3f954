/** The `pix2pix` command line: dispatches to sub-commands, maps errors to exit codes. */
import { summaryCommand, summaryHelp, NetworkShapeError } from './summary.ts';
import { trainCommand, trainHelp, TrainingFailed } from './train.ts';
import { testCommand, testHelp } from './test.ts';
import { translateCommand, translateHelp } from './translate.ts';
import { downloadCommand, downloadHelp } from './download.ts';
import { evalCommand, evalHelp } from './eval.ts';
import { exportCommand, exportHelp } from './export.ts';
import { importCommand, importHelp } from './import.ts';
import { sweepCommand, sweepHelp } from './sweep.ts';
import { workerCommand, workerHelp } from './worker.ts';
import { UsageError } from './flags.ts';

/** A command returns its exit status, or nothing for 0. */
type Command = (argv: readonly string[], out: (line: string) => void) => Promise<void | number>;

const commands: Record<string, { run: Command; help: string }> = {
  summary: { run: summaryCommand, help: summaryHelp },
  train: { run: trainCommand, help: trainHelp },
  test: { run: testCommand, help: testHelp },
  translate: { run: translateCommand, help: translateHelp },
  download: { run: downloadCommand, help: downloadHelp },
  eval: { run: evalCommand, help: evalHelp },
  export: { run: exportCommand, help: exportHelp },
  import: { run: importCommand, help: importHelp },
  sweep: { run: sweepCommand, help: sweepHelp },
  worker: { run: workerCommand, help: workerHelp },
};

const usage = `usage: pix2pix <command> [options]

commands:
  train     train pix2pix on paired images (checkpoints, losses, samples, report)
  test      run a trained generator over a split: images and an HTML page
  translate run a trained generator on an image or a folder of images
  eval      score a trained run over a split: L1, L2, PSNR, SSIM, Lab colour, segmentation
  export    a run as one .zip file (for the web page, or to share)
  import    a generator (and D) trained by the PyTorch reference, from its .pth files, as a run
  sweep     a sweep of runs (a base config x axes): run on local workers or a queue, status, report
  worker    train sweep jobs from a BullMQ queue (redis://HOST:PORT), on any machine
  download  fetch and unpack a standard pix2pix dataset (facades, maps, ...)
  summary   per-layer shapes, parameters and receptive fields of G and D

Run 'pix2pix <command> --help' for a command's options.`;

/** Errors whose message already says what and where: no stack trace needed. */
const isDataOrRunError = (e: unknown): boolean =>
  e instanceof Error && ['DataError', 'DatasetError', 'RunError', 'CheckpointError', 'DownloadError', 'ShapeException', 'WriteError', 'LockedError', 'RunArchiveError', 'BackendError', 'TorchImportError', 'TorchFileError'].includes(e.name);

/** Runs one command; returns the exit status (0 ok, 1 failure, 2 bad usage). */
export const main = async (argv: readonly string[], out = (line: string) => console.log(line)): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(usage);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`pix2pix: unknown command '${name}' (the commands: ${Object.keys(commands).join(', ')}; see 'pix2pix --help')`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    out(command.help);
    return 0;
  }
  try {
    return (await command.run(rest, out)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`pix2pix ${name}: ${e.message}\nRun 'pix2pix ${name} --help' for its options.`);
      return 2;
    }
    if (e instanceof NetworkShapeError || e instanceof TrainingFailed || isDataOrRunError(e)) {
      console.error(`pix2pix ${name}: ${(e as Error).message}`);
      return 1;
    }
    console.error(`pix2pix ${name}: ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
};
