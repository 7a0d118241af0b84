/**
 * Opens and closes without log entries (the shared open table, opens.ts):
 * what is logged and what is not, unlink and rename over a file open on
 * another worker (POSIX: the fd keeps working, the name is gone at once,
 * fstat says nlink 0, the last close frees it), open racing unlink on
 * several workers, workers killed with files open, and untrusted table words.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { attachFs, createFs, type NrFs, type NrFsHandle } from '../src/fs/index.js';
import { OpenTable, keyOf } from '../src/fs/opens.js';
import { LIVE, stOf } from '../src/fs/pages/pool.js';
import { declareDead } from '../src/nr/index.js';
import { newControl } from './support/barrier.js';
import { runWorkers, workerPath } from './support/spawn.js';
import { FILE_BYTES, NAMES, type OpensCommand, type OpensWorkerInput, type StressOutput } from './support/fs-opens.js';

/** A worker in 'commands' mode: `call` runs one op there and resolves with its value, or rejects with its error code. */
interface Remote {
  slot: number;
  call(op: OpensCommand['op'], ...args: (string | number)[]): Promise<unknown>;
  worker: Worker;
}

const started: Worker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((w) => w.terminate()));
});

async function remote(handle: NrFsHandle): Promise<Remote> {
  const worker = new Worker(workerPath('fs-opens-worker'), {
    workerData: { mode: 'commands', handle, control: newControl(), index: 0, workers: 1, rounds: 0, seed: 0 } satisfies OpensWorkerInput,
  });
  started.push(worker);
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let next = 1;
  const slot = await new Promise<number>((resolve, reject) => {
    worker.on('message', (m: { id: number; value?: unknown; code?: string }) => {
      if (m.id === 0) return resolve(m.value as number);
      const w = waiting.get(m.id)!;
      waiting.delete(m.id);
      if (m.code !== undefined) w.reject(Object.assign(new Error(m.code), { code: m.code }));
      else w.resolve(m.value);
    });
    worker.once('error', reject);
  });
  return {
    slot,
    worker,
    call: (op, ...args) =>
      new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, op, args } satisfies OpensCommand);
      }),
  };
}

const orphans = (fs: NrFs): readonly number[] => {
  fs.replica.sync();
  return fs.replica.reads.orphans();
};

/** LIVE pages in the pool: with no page in flight, exactly the pages files hold. */
function livePages(h: NrFsHandle): number {
  const words = new Int32Array(h.pool.meta);
  const pages = h.pool.data.byteLength / 4096;
  let live = 0;
  for (let i = 0; i < pages; i++) if (stOf(Atomics.load(words, 64 + i)) === LIVE) live++;
  return live;
}

describe('NrFS opens and closes without log entries', () => {
  it('an open that changes nothing and every close append nothing; a create, a truncating open (of an empty file too), an unlink one entry each', () => {
    const h = createFs({ replicas: 1 });
    const fs = attachFs(h);
    const appends = (): number => fs.replica.stats().appends;
    fs.writeFile('/f', 'hello');
    fs.writeFile('/empty', '');
    fs.mkdir('/d');
    let before = appends();
    let mark = fs.replica.logMark();
    const fds = [fs.open('/f', 'r'), fs.open('/f', 'r+'), fs.open('/f', 'a'), fs.open('/empty', 'a+'), fs.open('/d', 'r'), fs.open('/f', 'r')];
    for (const fd of fds) fs.close(fd);
    expect(appends()).toBe(before);
    expect(fs.replica.logMark()).toBe(mark); // the log's tail did not move
    before = appends();
    const c = fs.open('/new', 'wx');
    expect(appends()).toBe(before + 1);
    fs.close(c);
    const t = fs.open('/f', 'w'); // O_TRUNC of a non-empty file
    expect(appends()).toBe(before + 2);
    expect(fs.fstat(t).size).toBe(0);
    fs.close(t);
    // O_TRUNC of an empty file is a truncate too, as on Linux (its mtime and ctime move): one entry.
    const emptyBefore = fs.stat('/empty').mtimeMs;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    fs.close(fs.open('/empty', 'w'));
    expect(appends()).toBe(before + 3);
    expect(fs.stat('/empty').mtimeMs).toBeGreaterThan(emptyBefore);
    fs.unlink('/new'); // open nowhere: freed by the unlink itself
    expect(appends()).toBe(before + 4);
    expect(orphans(fs)).toEqual([]);
    // An unlink of a file this thread holds: one entry, an orphan; the last close reaps it (one more).
    fs.writeFile('/held', Buffer.alloc(3 * 4096, 5));
    before = appends();
    const a = fs.open('/held', 'r');
    const b = fs.open('/held', 'r');
    fs.unlink('/held');
    expect(appends()).toBe(before + 1);
    expect(orphans(fs)).toHaveLength(1);
    expect(fs.usage().pages).toBe(3);
    fs.close(a);
    expect(appends()).toBe(before + 1); // b still holds it
    fs.close(b);
    expect(appends()).toBe(before + 2);
    expect(orphans(fs)).toEqual([]);
    expect(fs.usage().pages).toBe(0);
    // Errors of a local open are thrown as the logged op would, with nothing logged.
    before = appends();
    expect(() => fs.open('/missing', 'r')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'open', path: '/missing' }));
    expect(() => fs.open('/d', 'r+')).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    expect(() => fs.open('/f/x', 'r')).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    expect(() => fs.open('/f', 'wx')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(appends()).toBe(before);
    fs.detach();
  });

  it('unlink and rename over a file open on another worker: its fd keeps working (nlink 0), the name is gone at once, its last close frees it', async () => {
    const h = createFs({ replicas: 2 });
    const main = attachFs(h);
    main.writeFile('/u', 'unlinked data');
    main.writeFile('/v', 'old v');
    main.writeFile('/w', 'new v');
    const w = await remote(h);
    const fu = (await w.call('open', '/u', 'r')) as number;
    const fv = (await w.call('open', '/v', 'r')) as number;
    const ino = main.stat('/u').ino;
    main.unlink('/u');
    main.rename('/w', '/v');
    expect(main.exists('/u')).toBe(false);
    expect(orphans(main)).toHaveLength(2);
    expect(main.usage().pages).toBe(3);
    const mark = main.replica.logMark();
    // Open after the unlink returned, on the other replica: ENOENT, linearizably.
    await expect(w.call('open', '/u', 'r')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await w.call('pread', fu, 64)).toBe('unlinked data');
    expect(await w.call('fstat', fu)).toEqual({ nlink: 0, size: 13, ino });
    expect(await w.call('pread', fv, 64)).toBe('old v');
    const fv2 = (await w.call('open', '/v', 'r')) as number;
    expect(await w.call('pread', fv2, 64)).toBe('new v');
    expect(main.replica.logMark()).toBe(mark); // the worker's opens and reads logged nothing
    await w.call('close', fu);
    await w.call('close', fv);
    await w.call('close', fv2);
    expect(orphans(main)).toEqual([]);
    expect(main.usage()).toEqual({ pages: 1, inodes: 2, dataBytes: 4096 });
    expect(livePages(h)).toBe(1);
    expect(await w.call('digest')).toBe(main.replica.digest());
    await w.worker.terminate();
    declareDead(h.nr, w.slot);
    main.detach();
  });

  it('open racing unlink, rename and create on 4 workers: no fd op fails, no read shows bytes no write made, nothing leaks, one tree', async () => {
    const workers = 4;
    const rounds = 1500;
    const handle = createFs({ replicas: workers + 1, capacityBytes: 8 << 20, logBytes: 1 << 20 });
    const main = attachFs(handle);
    main.mkdir('/s');
    const inputs: OpensWorkerInput[] = Array.from({ length: workers }, (_, index) => ({
      mode: 'stress',
      handle,
      control: newControl(),
      index,
      workers,
      rounds,
      seed: 7000 + index,
    }));
    const control = newControl();
    for (const i of inputs) i.control = control;
    // This thread's replica keeps up meanwhile: pages the workers retire wait for every replica, this one too.
    const keepUp = setInterval(() => main.replica.sync(), 2);
    let outs: StressOutput[];
    try {
      outs = await runWorkers<OpensWorkerInput, StressOutput>('fs-opens-worker', inputs, 120_000);
    } finally {
      clearInterval(keepUp);
    }
    expect(outs.flatMap((o) => o.failures)).toEqual([]);
    main.replica.sync();
    expect(new Set([...outs.map((o) => o.digest), main.replica.digest()]).size).toBe(1);
    // It raced: opens, reads through fds and removals happened on every worker.
    for (const o of outs) {
      expect(o.opens).toBeGreaterThan(rounds / 20);
      expect(o.reads).toBeGreaterThan(rounds / 20);
      expect(o.unlinks).toBeGreaterThan(rounds / 40);
    }
    // Every fd is closed: no orphan is left, and the pool holds exactly the pages the named files hold.
    expect(orphans(main)).toEqual([]);
    let named = 0;
    for (const n of main.readdir('/s')) named += main.stat(`/s/${n}`).blocks / 8;
    expect(named).toBeLessThanOrEqual((NAMES * FILE_BYTES) / 4096);
    expect(main.usage().pages).toBe(named);
    expect(livePages(handle)).toBe(named);
    main.detach();
  }, 150_000);

  it('a worker killed with files open: its orphans are reaped by releaseSlot, or by the next thread that attaches into its slot', async () => {
    const h = createFs({ replicas: 1, maxReplicas: 2 });
    const main = attachFs(h);
    for (const round of ['releaseSlot', 'slot reuse'] as const) {
      main.writeFile('/k1', Buffer.alloc(2 * 4096, 1));
      main.writeFile('/k2', Buffer.alloc(4096, 2));
      const w = await remote(h);
      await w.call('open', '/k1', 'r');
      await w.call('open', '/k1', 'r+');
      await w.call('open', '/k2', 'r');
      main.unlink('/k1');
      main.unlink('/k2');
      expect(orphans(main)).toHaveLength(2);
      expect(main.usage().pages).toBe(3);
      await w.worker.terminate();
      declareDead(h.nr, w.slot);
      // Until the slot is released its fds still count: nothing is reaped by a sweep meanwhile.
      main.releaseSlot(main.replica.id);
      expect(orphans(main)).toHaveLength(2);
      if (round === 'releaseSlot') {
        expect(main.releaseSlot(w.slot)).toBe(3);
      } else {
        const next = await remote(h);
        expect(next.slot).toBe(w.slot);
        expect(await next.call('digest')).toBe(main.replica.digest());
        await next.worker.terminate();
        declareDead(h.nr, next.slot);
        expect(main.releaseSlot(next.slot)).toBe(0);
      }
      expect(orphans(main)).toEqual([]);
      expect(main.usage()).toEqual({ pages: 0, inodes: 1, dataBytes: 0 });
    }
    main.detach();
  });

  it('table words are untrusted: a wild HWM is clamped, a stray key or announcement only keeps a file longer, a released slot clears it', () => {
    const h = createFs({ replicas: 2 });
    const a = attachFs(h);
    const b = attachFs(h);
    const table = new OpenTable(h.opens);
    a.writeFile('/x', 'x');
    a.writeFile('/y', 'y');
    const x = a.stat('/x').ino;
    // b's region says HWM 2^31-1 and an fd on /x's key; a pending token nobody logged; an announcement on /y.
    table.poke(b.replica.id, 'hwm', 0x7fffffff);
    table.poke(b.replica.id, 9, keyOf(x));
    table.poke(b.replica.id, 'pending', 12345);
    table.poke(b.replica.id, 'announce', keyOf(a.stat('/y').ino));
    // /y can still be opened (the announcement sends the open through the log) and read.
    const before = a.replica.stats().appends;
    const fy = a.open('/y', 'r');
    expect(a.replica.stats().appends).toBe(before + 1);
    expect(a.readFile('/y', 'utf8')).toBe('y');
    a.close(fy);
    // /x looks open in b's region: the unlink keeps it as an orphan rather than free it under an fd.
    a.unlink('/x');
    expect(orphans(a)).toEqual([x]);
    // Releasing b's slot (as for a dead thread) clears the region and reaps it.
    b.releaseSlot(b.replica.id);
    expect(orphans(a)).toEqual([]);
    expect(a.usage().pages).toBe(1);
    a.detach();
    b.detach();
  });
});
