// The README's example is the file examples/quickstart.ts, and it runs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('shows examples/quickstart.ts verbatim, in at most 10 lines', () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = /## Ten lines: compose\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const example = readFileSync('examples/quickstart.ts', 'utf8');
    expect(block).toBe(example);
    expect(example.trim().split('\n').length).toBeLessThanOrEqual(10);
  });

  it('shows examples/train-quickstart.ts verbatim: ten lines after the import', () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = /## Ten lines: train[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const example = readFileSync('examples/train-quickstart.ts', 'utf8');
    expect(block).toBe(example);
    const code = example.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('import '));
    expect(code.length).toBeLessThanOrEqual(10);
    expect(example).toMatch(/fit\(/);
    expect(example).toMatch(/saveTrainState\(/);
  });

  it('its example prints what its comments say', () => {
    const out = execFileSync('node', ['--conditions=source', '--import', 'tsx', 'examples/quickstart.ts'], { encoding: 'utf8' });
    expect(out).toContain('G receptive field: 1278');
    expect(out).toContain('D receptive field: 70');
    expect(out).toContain("right: [ 30, 30, 1 ]");
    expect(out).toContain('G parameters: 54413955');
  });
});
