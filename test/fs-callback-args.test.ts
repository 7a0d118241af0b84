/**
 * node:fs's callback forms called with no callback at all (nothing that is
 * a function among the arguments), against node:fs itself: each call must
 * throw at once the same error, code and message, as node's. This is where
 * node's per-call order shows: most calls check the callback first, but
 * copyFile checks its paths, fchown its ids, read its descriptor and
 * buffer... first, and the message names what node took as the callback
 * (`callback ||= options` in readFile, the last argument in symlink).
 * Random arguments from a fixed seed; FS_CB_SEED / FS_CB_CALLS explore others.
 */
import realFs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs } from '../src/fs/index.js';

const nr = nodeFs(attachFs(createFs({ capacityBytes: 1 << 20, maxReplicas: 1 }))) as unknown as Record<string, (...a: unknown[]) => unknown>;
const node = realFs as unknown as Record<string, (...a: unknown[]) => unknown>;
// These start work without a callback (a stream, a watcher, rm's lstat), so they are not called here.
const STARTS_WORK = new Set(['rm', 'watch', 'unwatchFile', 'openAsBlob', 'createReadStream', 'createWriteStream']);
const names = Object.keys(realFs).filter((n) => typeof node[n] === 'function' && !n.endsWith('Sync') && /^[a-z]/.test(n) && typeof nr[n] === 'function' && !STARTS_WORK.has(n));
const VALUES: unknown[] = [undefined, '/nonexist', '/nonexist2', 1, 3, 5, -1, 'zz', {}, Buffer.alloc(1), [], [Buffer.alloc(1)], null, 1.5];

function outcome(fs: Record<string, (...a: unknown[]) => unknown>, name: string, args: unknown[]): string {
  try {
    fs[name]!(...args);
    return 'no throw';
  } catch (e) {
    return `${(e as { code?: string }).code ?? (e as Error).constructor.name} ${(e as Error).message}`;
  }
}

describe('callback forms without a callback throw what node throws', () => {
  it('random calls with no function among their arguments', () => {
    let seed = Number(process.env.FS_CB_SEED ?? 7);
    const calls = Number(process.env.FS_CB_CALLS ?? 4000);
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const differ: string[] = [];
    let made = 0;
    for (let i = 0; i < calls; i++) {
      const name = names[rnd(names.length)]!;
      const args = Array.from({ length: rnd(6) }, () => VALUES[rnd(VALUES.length)]);
      // A small integer first could be one of this process's own descriptors.
      if (typeof args[0] === 'number' && Number.isInteger(args[0]) && args[0] >= 0) continue;
      made++;
      const theirs = outcome(node, name, args);
      const ours = outcome(nr, name, args);
      if (theirs === 'no throw') continue; // nothing to compare without a callback to wait for
      if (ours !== theirs) differ.push(`${name}(${args.map((a) => (Buffer.isBuffer(a) ? 'Buffer' : JSON.stringify(a) ?? String(a))).join(', ')}): node ${theirs} | nrfs ${ours}`);
    }
    expect(made).toBeGreaterThan(calls / 2);
    expect(differ.slice(0, 10)).toEqual([]);
  });

  it('watchers and Dir: the path first, then the listener or callback, named as node names them', () => {
    const base = realFs.mkdtempSync('/dev/shm/nrfs-cbargs-');
    try {
      (nr.mkdirSync as (p: string, o: object) => void)(base, { recursive: true });
      const fn = (): void => {};
      const cases: Array<[string, (fs: Record<string, (...a: unknown[]) => unknown>) => unknown]> = [
        ['watch(5)', (fs) => fs.watch!(5)],
        ['watch(5, listener)', (fs) => fs.watch!(5, fn)],
        ['watch(dir, { recursive: "x" }, 5)', (fs) => fs.watch!(base, { recursive: 'x' }, 5)],
        ['watchFile(5, listener)', (fs) => fs.watchFile!(5, fn)],
        ['watchFile(path)', (fs) => fs.watchFile!(`${base}/f`)],
        ['watchFile(path, {})', (fs) => fs.watchFile!(`${base}/f`, {})],
        ['watchFile(path, "x")', (fs) => fs.watchFile!(`${base}/f`, 'x')],
        ['unwatchFile(5)', (fs) => fs.unwatchFile!(5)],
        ['opendir(path)', (fs) => fs.opendir!(base)],
        ['opendir(path, {})', (fs) => fs.opendir!(base, {})],
        ['Dir.read(5)', (fs) => (fs.opendirSync!(base) as { read(cb: unknown): void }).read(5)],
        ['Dir.close(5)', (fs) => (fs.opendirSync!(base) as { close(cb: unknown): void }).close(5)],
      ];
      for (const [name, call] of cases) {
        const run = (fs: Record<string, (...a: unknown[]) => unknown>): string => {
          try {
            call(fs);
            return 'no throw';
          } catch (e) {
            return `${(e as { code?: string }).code} ${(e as Error).message}`;
          }
        };
        const theirs = run(node);
        expect(theirs, name).not.toBe('no throw');
        expect(run(nr), name).toBe(theirs);
      }
    } finally {
      realFs.rmSync(base, { recursive: true, force: true });
    }
  });
});
