/**
 * opendir's Dir against node:fs's on /dev/shm: the same script of mixed
 * sync and async reads and closes, with an async read in flight, inside
 * its callback, queued behind it, and after close, must log the same
 * outcomes (entry names, error codes, and the order callbacks ran in).
 * node keeps an operation queue while a read that fills its buffer is in
 * flight: sync calls throw ERR_DIR_CONCURRENT_OPERATION until the tick
 * after that read's callback, and async ones wait their turn.
 */
import * as realFs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, nodeFs } from '../src/fs/index.js';

type DirLike = {
  read(cb: (e: Error | null, d: { name: string } | null) => void): void;
  read(): Promise<{ name: string } | null>;
  readSync(): { name: string } | null;
  close(cb: (e: Error | null) => void): void;
  close(): Promise<void>;
  closeSync(): void;
  [Symbol.asyncIterator](): AsyncIterator<{ name: string }>;
};
type FsLike = { opendirSync(p: string, o?: { bufferSize?: number }): unknown; mkdirSync(p: string, o?: { recursive?: boolean }): unknown; writeFileSync(p: string, d: string): void };

const code = (e: unknown): string => (e as { code?: string }).code ?? String(e);
const attempt = (log: string[], tag: string, f: () => unknown): void => {
  try {
    const v = f();
    log.push(`${tag} ok ${v === null ? 'null' : v === undefined ? '' : typeof v === 'object' && v !== null && 'name' in v ? 'entry' : typeof v}`);
  } catch (e) {
    log.push(`${tag} ${code(e)}`);
  }
};

/** The script: every outcome is logged; names are not (readdir order is the file system's own). */
async function script(fs: FsLike, dir: string, bufferSize: number): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 5; i++) fs.writeFileSync(`${dir}/f${i}`, 'x');
  const log: string[] = [];
  const names: string[] = [];
  const done = new Promise<void>((resolve) => {
    const d = fs.opendirSync(dir, { bufferSize }) as DirLike;
    d.read((e, ent) => {
      log.push(`read1 ${e ? code(e) : ent === null ? 'null' : 'entry'}`);
      if (ent) names.push(ent.name);
      attempt(log, 'readSync in read1', () => d.readSync());
      attempt(log, 'closeSync in read1', () => d.closeSync());
    });
    attempt(log, 'readSync while read1 in flight', () => d.readSync());
    attempt(log, 'closeSync while read1 in flight', () => d.closeSync());
    d.read((e, ent) => {
      log.push(`read2 ${e ? code(e) : ent === null ? 'null' : 'entry'}`);
      if (ent) names.push(ent.name);
      attempt(log, 'readSync in read2', () => d.readSync());
    });
    d.read((e, ent) => {
      log.push(`read3 ${e ? code(e) : ent === null ? 'null' : 'entry'}`);
      if (ent) names.push(ent.name);
    });
    d.close((e) => {
      log.push(`close ${e ? code(e) : 'ok'}`);
      attempt(log, 'read(cb) after close', () => d.read(() => log.push('never')));
      attempt(log, 'read() after close', () => d.read());
      d.close((e2) => {
        log.push(`close again ${e2 ? code(e2) : 'ok'}`);
        d.close().then(
          () => log.push('close() again ok'),
          (e3: unknown) => {
            log.push(`close() again ${code(e3)}`);
            resolve();
          },
        );
      });
    });
  });
  await done;
  // The async iterator: reads to the end, then closes; closing it inside the loop makes its own close reject.
  const d2 = fs.opendirSync(dir, { bufferSize }) as DirLike;
  let n = 0;
  for await (const ent of d2) if (ent) n++;
  log.push(`iterated ${n}`);
  attempt(log, 'readSync after iteration', () => d2.readSync());
  const d3 = fs.opendirSync(dir, { bufferSize }) as DirLike;
  try {
    for await (const ent of d3) {
      if (ent) d3.closeSync();
    }
    log.push('iteration after closeSync ok');
  } catch (e) {
    log.push(`iteration after closeSync ${code(e)}`);
  }
  log.push(`distinct names ${new Set(names).size} of ${names.length}`);
  return log;
}

describe('opendir: the operation queue, as node:fs', () => {
  for (const bufferSize of [1, 2, 32]) {
    it(`bufferSize ${bufferSize}: sync calls during an async read, queued reads and closes, reads after close, the async iterator`, async () => {
      const realDir = realFs.mkdtempSync('/dev/shm/nrfs-dirq-');
      try {
        const expected = await script(realFs as unknown as FsLike, `${realDir}/d`, bufferSize);
        const nr = nodeFs(attachFs(createFs({ capacityBytes: 1 << 20, maxReplicas: 1 }))) as unknown as FsLike;
        const got = await script(nr, '/d', bufferSize);
        expect(got).toEqual(expected);
        // The run did reach the concurrent cases (a guard on the script itself).
        expect(expected).toContain('readSync while read1 in flight ERR_DIR_CONCURRENT_OPERATION');
      } finally {
        realFs.rmSync(realDir, { recursive: true, force: true });
      }
    });
  }
});
