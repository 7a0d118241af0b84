/**
 * The write path's cheaper shape (issue 17, session 16): pwrite and
 * writeFile take one record argument each, and retired pages are stamped
 * with one log mark per STAMP_EVERY flushes. Reclamation stays exact: a
 * page is never reused while a lagging replica could still read it.
 */
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, type NrFsHandle } from '../src/fs/index.js';
import { PageHolder, STAMP_EVERY } from '../src/fs/pages/holder.js';
import { createPool, genOfRef, indexOfRef, LAG_SLEEPS, LIVE, RETIRING, SharedPages, stOf, TAKEN, word } from '../src/fs/pages/pool.js';
import { fsStructure } from '../src/fs/index.js';
import { WHOLE } from '../src/fs/state.js';
import { PwriteTarget } from '../src/fs/write-targets.js';
import { DataWriter } from '../src/fs/writer.js';
import { bare, twoReplicasOneFile, writeFileOp } from './support/fs-pages.js';
import { EncodeError } from '../src/nr/index.js';

/** Pages of the pool in each state, read straight from the shared words. */
function states(h: NrFsHandle): { live: number; retiring: number; taken: number } {
  const words = new Int32Array(h.pool.meta);
  const out = { live: 0, retiring: 0, taken: 0 };
  for (let i = 0; i < h.pool.data.byteLength / 4096; i++) {
    const st = stOf(Atomics.load(words, 64 + i));
    if (st === LIVE) out.live++;
    else if (st === RETIRING) out.retiring++;
    else if (st === TAKEN) out.taken++;
  }
  return out;
}

/** The one LIVE page's index and word. */
function livePage(h: NrFsHandle): { index: number; word: number } {
  const words = new Int32Array(h.pool.meta);
  for (let i = 0; i < h.pool.data.byteLength / 4096; i++) {
    const w = Atomics.load(words, 64 + i);
    if (stOf(w) === LIVE) return { index: i, word: w };
  }
  throw new Error('no live page');
}

describe('retired pages: one log mark per STAMP_EVERY flushes, reclamation exact', () => {
  it('a holder stamps once per STAMP_EVERY flushes with a mark past every retiring entry, and frees a page only once every replica applied past it', () => {
    const pool = new SharedPages(createPool(128));
    const holder = new PageHolder(pool);
    // A log as positions: `tail` past the last entry appended, `applied` what the slowest replica applied.
    let tail = 0;
    let applied = 0;
    let marks = 0;
    holder.bind(1, { logMark: () => (marks++, tail), appliedEverywhere: (m) => m <= applied }, () => {});
    const retiredAt = new Map<number, number>();
    const writes = 40;
    for (let k = 0; k < writes; k++) {
      // The entry that installs a fresh page and displaces the previous one is appended and applied here.
      tail++;
      const ref = holder.take();
      expect(ref).toBeGreaterThanOrEqual(0);
      expect(pool.cas(indexOfRef(ref), word(genOfRef(ref), 1, TAKEN), word(genOfRef(ref), 0, LIVE))).toBe(true);
      holder.retire(ref);
      retiredAt.set(ref, tail);
      holder.flush();
    }
    // 40 flushes, a stamp every 4th (the reclaim every 32nd found the pages stamped already): 10 marks, not 40.
    expect(marks).toBe(writes / STAMP_EVERY);
    // The slowest replica applied nothing: every displaced page is still RETIRING, of its generation, under slot 1.
    for (const ref of retiredAt.keys()) expect(pool.state(indexOfRef(ref))).toBe(word(genOfRef(ref), 1, RETIRING));
    expect(holder.freed).toBe(0);
    // The slowest replica moves one entry at a time: a page comes back only once it applied the entry that retired it.
    for (applied = 1; applied <= tail; applied++) {
      holder.reclaim(true);
      for (const [ref, at] of retiredAt) {
        const gone = pool.state(indexOfRef(ref)) !== word(genOfRef(ref), 1, RETIRING);
        if (gone) expect(at).toBeLessThanOrEqual(applied);
      }
    }
    expect(holder.freed).toBe(writes);
    expect(holder.held().retiring).toBe(0);
  });

  it('with a replica stalled, overwrites never reuse a page it may read; once it catches up they all come back', () => {
    const { h, a, b, fd } = twoReplicasOneFile(1 << 20, 1 << 18);
    expect(b.readFile('/f')[0]).toBe(1);
    // The page b's table names now.
    const old = livePage(h);
    const words = new Int32Array(h.pool.meta);
    const data = new Uint8Array(h.pool.data);
    // b stalls (it reads nothing): 40 overwrites, 10 stamps, one reclaim on the way.
    const writes = 40;
    for (let i = 0; i < writes; i++) a.pwrite(fd, Buffer.alloc(4096, 2 + i), 0, 4096, 0);
    // Every displaced page waits for b: none was reused (41 pages touched, 40 retiring, 1 live).
    const s = states(h);
    expect(s.live).toBe(1);
    expect(s.retiring).toBe(writes);
    expect(a.pageStats().retiring).toBe(writes);
    expect(a.pageStats().touchedPages).toBeGreaterThanOrEqual(writes + 1);
    // The page b still names: same generation, retiring, its bytes untouched.
    expect(stOf(Atomics.load(words, 64 + old.index))).toBe(RETIRING);
    expect(Atomics.load(words, 64 + old.index) >>> 8).toBe(old.word >>> 8);
    expect(data.subarray(old.index * 4096, (old.index + 1) * 4096).every((x) => x === 1)).toBe(true);
    // b catches up: all 40 come back at a's next reclaim, and both read the last write.
    b.replica.sync();
    expect(a.pageStats().retiring).toBe(0);
    expect(a.pageStats().freed).toBe(writes);
    expect(states(h).retiring).toBe(0);
    expect(b.readFile('/f').every((x) => x === 1 + writes)).toBe(true);
    expect(a.readFile('/f').every((x) => x === 1 + writes)).toBe(true);
    a.close(fd);
    expect(a.replica.digest()).toBe(b.replica.digest());
    a.detach();
    b.detach();
  });
});

describe('a writer waits a little for a lagging replica (LAG_PAGES)', () => {
  it('with a replica idle, the waits back off (a handful for 1000 writes), every displaced page waits for it, and all come back once it catches up', () => {
    const { h, a, b, fd } = twoReplicasOneFile(4 << 20, 1 << 20);
    b.replica.sync();
    const writes = 1000;
    for (let i = 0; i < writes; i++) a.pwrite(fd, Buffer.alloc(4096, i & 0xff), 0, 4096, 0);
    const stalled = a.pageStats();
    // b never moved: every wait slept its LAG_SLEEPS and failed; each failure doubles the checks skipped.
    expect(stalled.lagWaits).toBeGreaterThanOrEqual(1);
    expect(stalled.lagWaits).toBeLessThanOrEqual(Math.ceil(Math.log2(writes)) + 1);
    expect(stalled.lagSleeps).toBe(LAG_SLEEPS * stalled.lagWaits);
    expect(stalled.retiring).toBe(writes);
    expect(states(h).retiring).toBe(writes);
    b.replica.sync();
    expect(a.pageStats().retiring).toBe(0);
    expect(a.pageStats().freed).toBe(writes);
    expect(b.readFile('/f').every((x) => x === ((writes - 1) & 0xff))).toBe(true);
    a.close(fd);
  });
});

describe('pwrite takes one record argument', () => {
  it('a bound pwrite takes one record; a second argument is an EncodeError and nothing is logged', () => {
    const h = createFs({ replicas: 2, maxReplicas: 2, capacityBytes: 1 << 20 });
    const a = attachFs(h);
    const b = attachFs(h);
    const fd = a.open('/f', 'w+');
    a.pwrite(fd, Buffer.from('hello world'), 0, 11, 0);
    const ino = a.inoOf(fd);
    const buf = Buffer.alloc(16, 0x2e);
    expect(b.replica.reads.pread(ino, buf, 2, 5, 6)).toBe(5);
    expect(buf.toString('latin1', 0, 9)).toBe('..world..');
    // An empty write needs no page: the apply answers where it would have ended.
    expect(a.replica.writes.pwrite({ ino, append: false, now: 1, at: 3, len: 0, expFirst: WHOLE, expLast: WHOLE, refs: [] })).toBe(3);
    const tail = a.replica.logMark();
    const call = a.replica.writes.pwrite as unknown as (...args: unknown[]) => unknown;
    expect(() => call({ ino, append: false, now: 1, at: 0, len: 0, expFirst: WHOLE, expLast: WHOLE, refs: [] }, 'extra')).toThrow(EncodeError);
    expect(a.replica.logMark()).toBe(tail);
    expect(b.readFile('/f').toString()).toBe('hello world');
    a.close(fd);
    expect(a.replica.digest()).toBe(b.replica.digest());
    a.detach();
    b.detach();
  });
});

describe('the writer checks that its replica holds the log only after a merge', () => {
  it('a whole-page write asks nothing; a partial one that merged a page of the file asks, and redoes its copy after catching up when the replica was fenced', () => {
    const S = fsStructure({ maxPages: 64, maxInodes: 64 });
    const st = S.create();
    writeFileOp(S, st, '/f', 0o1101, 0o644, 1, Buffer.alloc(8192, 0x61), 0, 0);
    const ino = S.reads.inode(st, 0, '/f')!.ino;
    // A replica that was fenced until its next sync.
    let holds = false;
    let checks = 0;
    let syncs = 0;
    const replica = { sync: () => { syncs++; holds = true; }, holdsLog: () => { checks++; return holds; } };
    const writer = new DataWriter(replica, st.store.holder);
    const target = new PwriteTarget(bare(S, st));
    expect(writer.write(Buffer.alloc(4096, 0x62), target.set(ino, 4096, false, 2, 4096))).toBe(8192);
    expect([checks, syncs]).toEqual([0, 0]);
    // 5 bytes into page 0: the rest of the page is merged from the file's page, read through the (fenced) replica's table.
    expect(writer.write(Buffer.from('HELLO'), target.set(ino, 10, false, 3, 5))).toBe(15);
    expect([checks, syncs]).toEqual([2, 1]);
    const buf = Buffer.alloc(8192);
    expect(S.reads.pread(st, ino, buf, 0, 8192, 0)).toBe(8192);
    const want = Buffer.alloc(8192, 0x61);
    want.write('HELLO', 10);
    want.fill(0x62, 4096);
    expect(buf.equals(want)).toBe(true);
  });
});
