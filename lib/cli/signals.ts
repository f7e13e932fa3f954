/**
 * Ctrl-C, `kill`, systemd, Docker and CI stop a process with SIGINT, SIGTERM
 * or SIGHUP: a command that has work to save traps all three alike. The
 * first signal asks it to stop at the next safe point; a second one ends
 * the process at once. The exit status is the shell's 128 + signal number
 * (130, 143, 129), so `train && test` does not carry on after one.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export const exitCodeOf = (signal: StopSignal): number => ({ SIGHUP: 129, SIGINT: 130, SIGTERM: 143 })[signal];

export interface Trap {
  /** The first signal received, if any. */
  readonly signal: StopSignal | undefined;
  /** Stop listening (the signals' default behaviour returns). */
  release(): void;
}

/**
 * Listen for the stop signals. `onFirst` is called with the first; on a
 * second, `onSecond` runs (synchronously: release locks, say what is lost)
 * and the process exits with that signal's status.
 */
export const trapStopSignals = (onFirst: (signal: StopSignal) => void, onSecond: (signal: StopSignal) => void): Trap => {
  let first: StopSignal | undefined;
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = () => {
      if (first !== undefined) {
        onSecond(signal);
        process.exit(exitCodeOf(first));
      }
      first = signal;
      onFirst(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return {
    get signal() {
      return first;
    },
    release: () => handlers.forEach(([signal, handler]) => process.off(signal, handler)),
  };
};
