/**
 * `pix2pix worker`: trains sweep jobs. `--queue redis://HOST:PORT` pulls
 * them from a BullMQ queue until stopped; `--ipc` (what `sweep run` forks
 * on one machine) takes them from its parent process.
 */
import * as t from 'io-ts';
import { JobStopped, runJob } from '../sweep/job.ts';
import type { FromWorker, ToWorker } from '../sweep/local.ts';
import { connectionOf, DEFAULT_QUEUE, startWorker } from '../sweep/queue.ts';
import { backendFlag, decodeFlags, positiveIntFromString, UsageError } from './flags.ts';
import { exitCodeOf, STOP_SIGNALS, type StopSignal } from './signals.ts';

export const workerHelp = `pix2pix worker --queue redis://HOST:PORT [options]

Pulls sweep jobs ('pix2pix sweep run ... --queue URL') and trains them, one at
a time, into their run directories, which must be on storage every worker
sees at the same path (NFS, a mounted volume). Start any number, on any
machines. A job whose worker is lost is taken up again by another worker
after --lock-seconds, from its last checkpoint.

  --queue URL          the Redis server (redis://[:password@]host[:port][/db])
  --queue-name NAME    the BullMQ queue (default ${DEFAULT_QUEUE})
  --lock-seconds N     how long a job stays held without its worker renewing it (default 30)
  --backend NAME       auto (default), tensorflow, webgpu, native, wasm, cpu

SIGINT / SIGTERM: the job in hand finishes its step, writes a checkpoint and
goes back on the queue; the worker then exits (130 / 143).`;

const Flags = t.exact(t.partial({ queue: t.string, queueName: t.string, lockSeconds: positiveIntFromString, backend: backendFlag, ipc: t.boolean }));
const s = { type: 'string' } as const;
const options = { queue: s, 'queue-name': s, 'lock-seconds': s, backend: s, ipc: { type: 'boolean' } } as const;

/** Driven by a parent `sweep run` over IPC: a job at a time until told to exit or stopped. */
const ipcWorker = (backend: t.TypeOf<typeof backendFlag> | undefined): Promise<number> =>
  new Promise((resolve) => {
    const send = (m: FromWorker): void => {
      if (process.connected) process.send!(m);
    };
    // The parent gone (killed): stop as on SIGTERM — the run in hand checkpoints at its next step.
    process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
    process.on('message', (m: ToWorker) => {
      if (m.type === 'exit') {
        process.removeAllListeners('disconnect');
        process.disconnect();
        return resolve(0);
      }
      runJob(m.job, { ...(backend ? { backend } : {}), onProgress: (progress) => send({ type: 'progress', progress }) }).then(
        (done) => send({ type: 'done', done }),
        (e: Error) => {
          send({ type: 'failed', error: e.message, stopped: e instanceof JobStopped });
          // A stopped worker does not take another job.
          if (e instanceof JobStopped) {
            process.removeAllListeners('disconnect');
            if (process.connected) process.disconnect();
            resolve(143);
          }
        },
      );
    });
    send({ type: 'ready' });
  });

export const workerCommand = async (argv: readonly string[], out: (line: string) => void): Promise<number> => {
  const f = decodeFlags(argv, options, Flags);
  if (f.ipc === true) {
    if (process.send === undefined) throw new UsageError('--ipc is for the worker processes that sweep run starts itself');
    return ipcWorker(f.backend);
  }
  if (f.queue === undefined) throw new UsageError('--queue is required (redis://HOST:PORT, the server sweep run --queue enqueued on)');
  try {
    connectionOf(f.queue);
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^--queue /, ''));
  }
  const worker = startWorker({
    url: f.queue,
    ...(f.queueName ? { queueName: f.queueName } : {}),
    ...(f.backend ? { backend: f.backend } : {}),
    ...(f.lockSeconds ? { lockSeconds: f.lockSeconds } : {}),
    log: (l) => console.error(l),
  });
  out(`worker ${process.pid} on ${f.queue} (queue ${f.queueName ?? DEFAULT_QUEUE})`);
  const stopped = await new Promise<StopSignal>((resolve) => {
    const on = (signal: StopSignal) => () => resolve(signal);
    for (const signal of STOP_SIGNALS) process.once(signal, on(signal));
  });
  console.error(`${stopped}: the job in hand stops at its next step with a checkpoint and goes back on the queue`);
  await worker.close();
  return exitCodeOf(stopped);
};
