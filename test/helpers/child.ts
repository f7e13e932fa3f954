// The `pix2pix` bin in a child process, for what needs a real process:
// signals, SIGKILL, a second process, exit statuses. Every wait is bounded,
// notices the child exiting early, and every child is killed when its test
// file ends, whatever happened.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll } from 'vitest';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the child has exited. */
  readonly exited: Promise<Exit>;
  /** The exit, once it has happened. */
  exit(): Exit | undefined;
}

const live = new Set<ChildProcess>();
afterAll(() => {
  for (const p of live) p.kill('SIGKILL');
});

/** `node <bin> ...args`, or another program when `command` is given (e.g. a wrapper like setpriv). */
export const spawnChild = (args: readonly string[], opts: { command?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): Child => {
  const argv = [...(opts.command ?? []), process.execPath, 'lib/cli/bin.mjs', ...args];
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  live.add(proc);
  let out = '';
  let err = '';
  let exit: Exit | undefined;
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<Exit>((resolve) =>
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      exit = { code, signal };
      resolve(exit);
    }),
  );
  return { proc, pid: proc.pid!, stdout: () => out, stderr: () => err, exited, exit: () => exit };
};

/**
 * Poll `ready` every 10 ms until it holds. Rejects (after killing the
 * child) when `timeoutMs` passes first, and rejects at once when the child
 * exits before it holds, with what it printed.
 */
export const waitUntil = async (child: Child, what: string, ready: () => boolean, timeoutMs = 30_000): Promise<void> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (ready()) return;
    const exit = child.exit();
    if (exit !== undefined) throw new Error(`the child exited (${JSON.stringify(exit)}) before ${what}; stderr:\n${child.stderr()}`);
    if (Date.now() > until) {
      child.proc.kill('SIGKILL');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the child was killed; stderr:\n${child.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** The child's exit, killing it (SIGKILL) if it takes longer than `timeoutMs`. */
export const exitOf = async (child: Child, timeoutMs = 60_000): Promise<Exit> => {
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), timeoutMs);
  try {
    return await child.exited;
  } finally {
    clearTimeout(timer);
  }
};
