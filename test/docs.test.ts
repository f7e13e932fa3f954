// Every `ts` code block of README.md and docs/*.md type-checks against the
// library (strict, as the project compiles), and the README's training
// example runs. A block may be preceded by `<!-- check: ... -->`: TypeScript
// placed before it (declarations of what the prose has in hand, e.g.
// `declare const x: tf.Tensor4D;`), so fragments are checked too.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

interface Block {
  readonly doc: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly code: string;
  readonly prelude: string;
}

const docs = ['README.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

const blocksOf = (doc: string): Block[] => {
  const lines = readFileSync(doc, 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```ts') continue;
    const end = lines.findIndex((l, j) => j > i && l.trim() === '```');
    const check = /^<!-- check: (.*) -->$/.exec(lines[i - 1]?.trim() ?? '');
    blocks.push({ doc, line: i + 1, code: lines.slice(i + 1, end).join('\n'), prelude: check?.[1] ?? '' });
    i = end;
  }
  return blocks;
};

const blocks = docs.flatMap(blocksOf);
const library = resolve('lib/index.ts');
const nodeEntry = resolve('lib/node.ts');

describe('the documentation', () => {
  it('has ts blocks in README.md and the guides', () => {
    expect(blocks.filter((b) => b.doc === 'README.md').length).toBeGreaterThanOrEqual(2);
    expect(blocks.filter((b) => b.doc === 'docs/guide.md').length).toBeGreaterThanOrEqual(6);
  });

  it('every ts block type-checks against the library', () => {
    // Inside the repository, so packages resolve and package.json's "type": "module" applies.
    const dir = resolve('node_modules/.cache/doc-blocks');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.map((b, i) => {
      const file = join(dir, `${b.doc.replace(/[/.]/g, '_')}_${b.line}_${i}.ts`);
      const code = b.code.replace(/from 'pix2pix-ts'/g, `from '${library}'`).replace(/from 'pix2pix-ts\/node'/g, `from '${nodeEntry}'`);
      writeFileSync(file, `export {};\n${b.prelude}\n${code}\n`);
      return { file, block: b };
    });
    const config = ts.parseJsonConfigFileContent(ts.readConfigFile('tsconfig.json', ts.sys.readFile).config, ts.sys, resolve('.'));
    const program = ts.createProgram(files.map((f) => f.file), { ...config.options, noEmit: true });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file && files.some((f) => f.file === d.file!.fileName))
      .map((d) => {
        const { block } = files.find((f) => f.file === d.file!.fileName)!;
        const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
        // Line 0 is `export {}`, line 1 the prelude: the block's own lines follow.
        return `${block.doc}:${block.line + line - 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    expect(problems).toEqual([]);
  });
});

describe("the README's ten-line examples", () => {
  it('the training example trains 20 steps and saves a checkpoint that loads', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'pix2pix-readme-'));
    try {
      cpSync('examples/data/facades-mini', join(cwd, 'examples/data/facades-mini'), { recursive: true });
      // tsx by its file (the temporary folder has no node_modules); 'pix2pix-ts' resolves from the example's own folder.
      const r = spawnSync('node', ['--conditions=source', '--import', import.meta.resolve('tsx'), resolve('examples/train-quickstart.ts')], { cwd, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      // One `step {metrics}` print per step, the metrics keyed by term name.
      const steps = r.stdout.split('\n').filter((l) => /^\d+ \{/.test(l)).map((l) => Number(l.split(' ')[0]));
      expect(steps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(r.stdout).toContain("'G/l1'");
      expect(existsSync(join(cwd, 'runs/quickstart/checkpoint/manifest.json'))).toBe(true);
      expect(JSON.parse(readFileSync(join(cwd, 'runs/quickstart/checkpoint/manifest.json'), 'utf8')).meta.step).toBe(20);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
