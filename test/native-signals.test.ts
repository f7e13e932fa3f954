// Signals arriving while oneDNN's jit sgemm runs. oneDNN 2.x points rsp into
// the heap inside that kernel, so a signal's frame landed in heap memory and
// the process died later with "corrupted size vs. prev_size" (a stop by
// SIGINT/SIGTERM, a sweep worker's SIGCHLD, a profiler); the native module
// now blocks signals on every thread that runs it (src/conv_dnnl.cc).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { skipNative } from './helpers/native.ts';

interface Report {
  readonly n: number;
  readonly bad: number;
  readonly got: number;
  readonly impl: string;
}

const child = fileURLToPath(new URL('./helpers/signal-storm-child.ts', import.meta.url));

/** Runs the child (node flags `execArgv`), sending SIGUSR2 every tick while `storm`; resolves with its report and exit. */
const storm = (execArgv: readonly string[], signals: boolean) =>
  new Promise<{ report?: Report; code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    const proc = fork(child, [], { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let report: Report | undefined;
    let timer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => proc.kill('SIGKILL'), 60_000);
    proc.on('message', (m) => {
      if (m === 'ready' && signals) timer = setInterval(() => proc.kill('SIGUSR2'), 0);
      else if (typeof m === 'object') {
        clearInterval(timer);
        report = m as Report;
      }
    });
    proc.on('exit', (code, signal) => {
      clearInterval(timer);
      clearTimeout(deadline);
      resolve({ ...(report ? { report } : {}), code, signal });
    });
  });

describe.skipIf(skipNative)('signals during native oneDNN convolutions', () => {
  it('a storm of SIGUSR2 sent to the process (any thread may take it) kills nothing and changes no result bit', async () => {
    const r = await storm([], true);
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(r.report!.impl).toMatch(/^dnnl:/);
    expect(r.report!.n).toBeGreaterThan(5);
    expect(r.report!.got).toBeGreaterThan(100); // the signals did arrive, during the convolutions
    expect(r.report!.bad).toBe(0);
  }, 90_000);

  it('under --cpu-prof (SIGPROF to the main thread every 0.1 ms) the process ends normally with the same results', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pix2pix-cpu-prof-'));
    const r = await storm(['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', dir], false);
    rmSync(dir, { recursive: true, force: true });
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    expect(r.report!.n).toBeGreaterThan(5);
    expect(r.report!.bad).toBe(0);
  }, 90_000);
});
