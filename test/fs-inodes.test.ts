/**
 * NrFS's inode table (chunks of 4096 inode numbers): lookups, size,
 * creation-order iteration, dropping emptied chunks, numbers past 2^32, and
 * a create/unlink churn on a file system that keeps its digest and snapshot.
 */
import { describe, expect, it } from 'vitest';
import { attachFs, createFs, fsStructure } from '../src/fs/index.js';
import { InodeTable, type Inode } from '../src/fs/state.js';

function node(ino: number): Inode {
  return { ino, dir: false, mode: 0o644, uid: 0, gid: 0, link: null, nlink: 1, pinSeq: 0, size: 0, pages: null, entries: null, parent: null, atimeMs: 0, mtimeMs: 0, ctimeMs: 0, birthtimeMs: 0 };
}

const chunks = (t: InodeTable): number => (t as unknown as { chunks: unknown[] }).chunks.filter((c) => c !== undefined).length;

describe('InodeTable', () => {
  it('gets, sets, deletes and counts like a Map, iterating by ascending number', () => {
    const t = new InodeTable();
    const m = new Map<number, Inode>();
    for (const ino of [1, 2, 3, 4095, 4096, 4097, 9000, 20000]) {
      t.set(ino, node(ino));
      m.set(ino, node(ino));
    }
    for (const ino of [2, 4096, 20000, 5]) {
      t.delete(ino);
      m.delete(ino);
    }
    expect(t.size).toBe(m.size);
    for (let ino = 0; ino < 21000; ino++) expect(t.get(ino)?.ino).toBe(m.get(ino)?.ino);
    expect([...t.values()].map((n) => n.ino)).toEqual([...m.keys()]);
  });

  it('drops a chunk once all its inodes are gone, but keeps the newest one for the next numbers', () => {
    const t = new InodeTable();
    for (let ino = 1; ino < 4096 * 3; ino++) t.set(ino, node(ino));
    expect(chunks(t)).toBe(3);
    for (let ino = 4096; ino < 8192; ino++) t.delete(ino);
    expect(chunks(t)).toBe(2);
    for (let ino = 8192; ino < 4096 * 3; ino++) t.delete(ino);
    expect(chunks(t)).toBe(2); // the newest chunk stays while empty
    t.set(4096 * 3, node(4096 * 3)); // a newer chunk starts: the empty one goes
    expect(chunks(t)).toBe(2);
    expect(t.size).toBe(4095 + 1);
    expect(t.get(8191)).toBeUndefined();
    expect(t.get(4096 * 3)?.ino).toBe(4096 * 3);
  });

  it('handles numbers past 2^32 and gaps (as after a restore)', () => {
    const t = new InodeTable();
    const big = 2 ** 32 + 5;
    t.set(big, node(big));
    t.set(big + 4000, node(big + 4000));
    expect(t.get(big)?.ino).toBe(big);
    expect(t.get(big + 1)).toBeUndefined();
    expect(t.get(5)).toBeUndefined();
    expect([...t.values()].map((n) => n.ino)).toEqual([big, big + 4000]);
    t.delete(big);
    t.delete(big + 4000);
    expect(t.size).toBe(0);
  });
});

describe('create/unlink churn', () => {
  it('two replicas agree, usage counts live inodes, and a snapshot round-trips', () => {
    const handle = createFs({ replicas: 2 });
    const a = attachFs(handle);
    const b = attachFs(handle);
    a.mkdir('/d');
    for (let i = 0; i < 10_000; i++) {
      const fs = i % 2 === 0 ? a : b;
      fs.close(fs.open(`/d/f${i}`, 'w'));
      if (i % 3 !== 0) fs.unlink(`/d/f${i}`);
    }
    const live = Math.ceil(10_000 / 3);
    expect(a.usage().inodes).toBe(live + 2);
    expect(b.usage().inodes).toBe(live + 2);
    expect(a.replica.digest()).toBe(b.replica.digest());
    expect(b.readdir('/d')).toHaveLength(live);
  });

  it('a snapshot with gaps in the numbers restores, and creating goes on from it', () => {
    const S = fsStructure({ maxPages: 1000, maxInodes: 100_000 });
    const st = S.create();
    S.writes.mkdir(st, '/d', 0o755, false, 1, 0, 0);
    for (let i = 0; i < 9000; i++) {
      const ino = S.writes.open(st, `/d/f${i}`, 0o101, 0o644, 2, 0, 0, 0, 1);
      // The issuer's decision: free (no fd anywhere, its replica saw the create's stamp).
      if (i % 7 !== 0) expect(S.writes.unlink(st, `/d/f${i}`, 3, 0, 0, ino, st.pinSeq)).toBe(0);
    }
    const copy = S.restore!(S.snapshot!(st));
    expect(S.digest!(copy)).toBe(S.digest!(st));
    for (const s of [st, copy]) S.writes.open(s, '/d/new', 0o101, 0o644, 4, 0, 0, 0, 3);
    expect(S.reads.stat(copy, '/d/new').ino).toBe(S.reads.stat(st, '/d/new').ino);
    expect(S.digest!(copy)).toBe(S.digest!(st));
    expect(S.reads.usage(copy)).toEqual(S.reads.usage(st));
  });
});
