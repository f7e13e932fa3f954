// Runs a pix2pix command in process, capturing its stdout lines and its stderr.
import { main } from '../../lib/cli/main.ts';

export const runCli = async (...argv: string[]): Promise<{ status: number; out: string; err: string }> => {
  const lines: string[] = [];
  const errors: string[] = [];
  const original = console.error;
  console.error = (...m: unknown[]) => void errors.push(m.join(' '));
  try {
    const status = await main(argv, (l) => lines.push(l));
    return { status, out: lines.join('\n'), err: errors.join('\n') };
  } finally {
    console.error = original;
  }
};
