// Issue 9, item 9: a full disk and a folder that stops being writable, for real: a small tmpfs in a
// private mount namespace (unshare), and a run trained without the privilege to ignore file
// modes whose folder is then made read-only. Each must say which file could not be written and which checkpoint is
// intact, leave no temporary files, and resume once the problem is gone.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitOf, spawnChild, waitUntil } from './helpers/child.ts';
import { runCli } from './helpers/run-cli.ts';
import { checkpointStep, scratch, tinyTrain } from './helpers/tiny-run.ts';

const isRoot = process.getuid?.() === 0;
const can = (argv: string[]) => spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore' }).status === 0;
/** A private mount namespace: as root, or as a user where the kernel allows user namespaces. */
const unshare = isRoot ? ['unshare', '--mount', '--propagation', 'private'] : ['unshare', '--user', '--map-root-user', '--mount'];
const canMount = can([...unshare, 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs /tmp']);
const needed = (what: string, ok: boolean) => {
  // In CI a missing capability is a failure, never a skipped test.
  if (!ok && process.env['CI']) throw new Error(`CI needs ${what} for the disk-fault tests`);
  return ok;
};

const leftovers = (dir: string): string[] =>
  readdirSync(dir, { recursive: true }).map(String).filter((n) => /\.tmp-\d+-[0-9a-f]+/.test(n) || /\.stale-/.test(n));

describe('#9 disk full and permission denied', () => {
  it.runIf(needed('unshare and mount (root, or user namespaces)', canMount))(
    'ENOSPC: names the checkpoint it could not write and the intact one, removes its temporary files; after freeing space --resume finishes',
    () => {
      const root = scratch('nospc');
      const disk = join(root, 'disk');
      mkdirSync(disk);
      const bin = `${JSON.stringify(process.execPath)} lib/cli/bin.mjs`;
      const flags = tinyTrain().slice(1).map((a) => JSON.stringify(a)).join(' ');
      // In the namespace: a 16 MiB disk, a run on it, filled up once its first checkpoint exists.
      const script = `
        mount -t tmpfs -o size=16m tmpfs "$1" || exit 9
        ${bin} train ${flags} --out "$1/run" --checkpoint-every 5 --sample-every 1000 > "$2/out1" 2> "$2/err1" &
        pid=$!
        while [ ! -f "$1/run/checkpoint/manifest.json" ]; do sleep 0.02; done
        dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null
        wait $pid; echo "status $?" > "$2/status1"
        find "$1/run" > "$2/files"
        rm "$1/filler"
        ${bin} train --out "$1/run" --resume --steps 40 --quiet > "$2/out2" 2> "$2/err2"; echo "status $?" > "$2/status2"
        cp "$1/run/checkpoint/manifest.json" "$2/manifest.json"`;
      const r = spawnSync(unshare[0]!, [...unshare.slice(1), 'sh', '-c', script, 'sh', disk, root], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      const read = (f: string) => readFileSync(join(root, f), 'utf8');
      expect(read('status1').trim()).toBe('status 1');
      const err = read('err1');
      expect(err).toMatch(/cannot write .*: no space left on the device \(ENOSPC\)/);
      const intact = Number(/the last checkpoint \(step (\d+)\) is intact/.exec(err)?.[1]);
      expect(intact).toBeGreaterThanOrEqual(5);
      expect(err).toMatch(/continue with: pix2pix train --out .* --resume/);
      expect(read('files').split('\n').filter((n) => /\.tmp-/.test(n))).toEqual([]);
      expect(read('status2').trim(), read('err2')).toBe('status 0');
      expect(read('out2')).toMatch(new RegExp(`from step ${intact} to 40`));
      expect(JSON.parse(read('manifest.json')).meta.step).toBe(40);
    },
    180_000,
  );

  it(
    'EACCES: a run folder made read-only mid-run stops training with the file and the intact checkpoint named; --resume works once writable',
    async () => {
      const root = scratch('eacces');
      const out = join(root, 'run');
      // Root may write anywhere (CAP_DAC_OVERRIDE): train as root without capabilities instead,
      // whom the folder's mode binds like any owner.
      const as = isRoot ? ['setpriv', '--bounding-set=-all'] : [];
      const child = spawnChild([...tinyTrain(), '--checkpoint-every', '5', '--sample-every', '1000', '--out', resolve(out)], { command: as });
      await waitUntil(child, 'the first checkpoint', () => (checkpointStep(out) ?? 0) >= 5);
      chmodSync(out, 0o555);
      const exit = await exitOf(child);
      chmodSync(out, 0o755);
      expect(exit.code, child.stderr()).toBe(1);
      expect(child.stderr()).toMatch(/cannot write .*: permission denied \(EACCES\)/);
      const intact = Number(/the last checkpoint \(step (\d+)\) is intact/.exec(child.stderr())?.[1]);
      expect(intact).toBe(checkpointStep(out));
      expect(leftovers(out)).toEqual([]);
      const resumed = await runCli('train', '--out', out, '--resume', '--steps', String(intact + 5), '--quiet');
      expect(resumed.status, resumed.err).toBe(0);
      expect(checkpointStep(out)).toBe(intact + 5);
    },
    120_000,
  );
});
