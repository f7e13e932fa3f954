// Dataset download against a local HTTP server (never the internet).
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadError, KNOWN_DATASETS, downloadDataset, openDataset, type DownloadProgress } from '../lib/node.ts';
import { main } from '../lib/cli/main.ts';

const FACADES = resolve(import.meta.dirname, 'fixtures', 'facades');

let tmp: string;
let server: Server;
let base: string;
let archive: Buffer;
const requests: string[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pix2pix-download-'));
  // A fake "facades" dataset: the fixture pairs under facades/{train,val}.
  const src = join(tmp, 'src');
  for (const split of ['train', 'val']) {
    await mkdir(join(src, 'facades', split), { recursive: true });
    for (const f of await readdir(join(FACADES, split))) await copyFile(join(FACADES, split, f), join(src, 'facades', split, f));
  }
  await tar.c({ gzip: true, file: join(tmp, 'facades.tar.gz'), cwd: src }, ['facades']);
  archive = await readFile(join(tmp, 'facades.tar.gz'));

  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/datasets/facades.tar.gz') {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': archive.length });
      // In pieces, so progress has something to report.
      const mid = Math.floor(archive.length / 2);
      res.write(archive.subarray(0, mid));
      setTimeout(() => res.end(archive.subarray(mid)), 20);
    } else if (req.url === '/broken/facades.tar.gz') {
      res.writeHead(200, { 'content-type': 'application/gzip' });
      res.end('this is not a gzip file');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((ok) => server.close(ok));
  await rm(tmp, { recursive: true, force: true });
});

describe('downloadDataset', () => {
  it('streams the archive, reports progress, unpacks to destDir/NAME and removes the temporary file', async () => {
    const dest = join(tmp, 'out1');
    const progress: DownloadProgress[] = [];
    const r = await downloadDataset('facades', dest, { baseUrl: `${base}/datasets/`, onProgress: (p) => progress.push(p) });
    expect(r).toEqual({ dir: join(dest, 'facades'), downloaded: true, bytes: archive.length });
    for (const split of ['train', 'val']) {
      for (const f of await readdir(join(FACADES, split))) {
        expect(await readFile(join(dest, 'facades', split, f))).toEqual(await readFile(join(FACADES, split, f)));
      }
    }
    expect(await readdir(dest)).toEqual(['facades']); // no leftover .part file
    const downloads = progress.filter((p) => p.phase === 'download');
    expect(downloads.length).toBeGreaterThanOrEqual(2);
    expect(downloads.every((p) => p.total === archive.length)).toBe(true);
    expect(downloads.at(-1)!.bytes).toBe(archive.length);
    expect(downloads.map((p) => p.bytes)).toEqual([...downloads.map((p) => p.bytes)].sort((a, b) => a - b));
    expect(progress.at(-1)!.phase).toBe('extract');
    // And it is a usable dataset.
    expect((await openDataset({ root: r.dir, split: 'val' })).size).toBe(2);

    // A second call finds it there and fetches nothing; force fetches again.
    const before = requests.length;
    expect((await downloadDataset('facades', dest, { baseUrl: `${base}/datasets/` })).downloaded).toBe(false);
    expect(requests.length).toBe(before);
    expect((await downloadDataset('facades', dest, { baseUrl: `${base}/datasets`, force: true })).downloaded).toBe(true);
    expect(requests.length).toBe(before + 1);
  });

  it('an HTTP error names the URL and the status, and leaves nothing behind', async () => {
    const dest = join(tmp, 'out404');
    const url = `${base}/missing/facades.tar.gz`;
    const e = await downloadDataset('facades', dest, { baseUrl: `${base}/missing/` }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DownloadError);
    expect((e as DownloadError).message).toContain(url);
    expect((e as DownloadError).message).toContain('404');
    expect((e as DownloadError).status).toBe(404);
    expect(await readdir(dest)).toEqual([]);
  });

  it('an archive that does not unpack is an error naming the URL', async () => {
    const dest = join(tmp, 'outbroken');
    await expect(downloadDataset('facades', dest, { baseUrl: `${base}/broken/` })).rejects.toThrow(`${base}/broken/facades.tar.gz`);
    expect(await readdir(dest)).toEqual([]);
  });

  it('a refused connection names the URL', async () => {
    const dest = join(tmp, 'outrefused');
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    await expect(downloadDataset('maps', dest, { baseUrl: `http://127.0.0.1:${port}/` })).rejects.toThrow(`http://127.0.0.1:${port}/maps.tar.gz`);
  });

  it('an unknown name lists the known ones, before any request', async () => {
    const before = requests.length;
    const dest = join(tmp, 'outunknown');
    await expect(downloadDataset('facade', dest, { baseUrl: `${base}/datasets/` })).rejects.toThrow(
      `unknown dataset 'facade'; the known ones are: ${KNOWN_DATASETS.join(', ')}`,
    );
    expect(requests.length).toBe(before);
    await expect(stat(dest)).rejects.toThrow();
  });
});

describe('pix2pix download', () => {
  it('fetches, unpacks and reports where; a second call says it is already there', async () => {
    const dest = join(tmp, 'cli');
    const lines: string[] = [];
    expect(await main(['download', 'facades', '--dest', dest, '--base-url', `${base}/datasets/`], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toMatch(/facades: .* MB unpacked into .*cli\/facades/);
    expect((await readdir(join(dest, 'facades', 'train'))).length).toBe(4);
    lines.length = 0;
    expect(await main(['download', 'facades', '--dest', dest, '--base-url', `${base}/datasets/`], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toMatch(/already holds it/);
  });

  it('an unknown dataset is a usage error listing the known ones', async () => {
    const original = console.error;
    const errors: string[] = [];
    console.error = (m: string) => void errors.push(m);
    try {
      expect(await main(['download', 'imagenet'], () => {})).toBe(2);
    } finally {
      console.error = original;
    }
    expect(errors.join('\n')).toMatch(/unknown dataset 'imagenet'; choose one of facades, cityscapes/);
  });
});
