/** Digest, snapshot and restore of a replica's state. */
import { deserialize, serialize } from 'node:v8';
import { copyOut } from './data.js';
import { byName } from './reads.js';
import { FailStopError } from '../../nr/index.js';
import { indexOfRef } from '../pages/pool.js';
import { type ChangeObserver, type FsLimits, type FsState, type Inode, InodeTable, MAX_SLOTS, NO_PAGES, PAGE_BYTES, type PageStore, ROOT_INO } from './inode.js';
import { type PageTable, tableOf } from './page-table.js';


/**
 * A digest of names, kinds, modes, sizes, link counts, contents and the
 * number of orphans (not times, nor the open stamps: those depend on how
 * the threads' ops interleaved, and tests compare with sequential runs).
 */
export function digestState(s: FsState): string {
  let h = 0x811c9dc5;
  const mix = (x: number): void => {
    h ^= x & 0xffff;
    h = Math.imul(h, 0x01000193);
    h ^= x >>> 16;
    h = Math.imul(h, 0x01000193);
  };
  const mixStr = (t: string): void => {
    for (let i = 0; i < t.length; i++) mix(t.charCodeAt(i));
    mix(0xffff);
  };
  const walk = (node: Inode, path: string): void => {
    mixStr(path);
    mix(node.dir ? 1 : 0);
    mix(node.mode);
    mix(node.uid);
    mix(node.gid);
    mix(node.nlink);
    mix(node.size);
    mix(Math.floor(node.size / 2 ** 32));
    if (node.dir) {
      for (const name of [...node.entries!.keys()].sort(byName)) walk(node.entries!.get(name)!, `${path}/${name}`);
      return;
    }
    if (node.link !== null) {
      mixStr(node.link);
      return;
    }
    const buf = new Uint8Array(PAGE_BYTES);
    for (let pos = 0; pos < node.size; pos += PAGE_BYTES) {
      const n = copyOut(s, node, buf, 0, PAGE_BYTES, pos);
      for (let i = 0; i < n; i++) mix(buf[i]!);
    }
  };
  walk(s.root, '');
  mix(s.orphans.size);
  mix(s.usedPages);
  mix(s.inodes.size);
  return `${s.inodes.size}:${s.usedPages}:${(h >>> 0).toString(16).padStart(8, '0')}`;
}

export type InodeRecord = [
  ino: number,
  dir: boolean,
  mode: number,
  nlink: number,
  pinSeq: number,
  size: number,
  times: [number, number, number, number],
  parent: number,
  entries: [string, number][] | null,
  pages: [number, number][] | null,
  owner: [uid: number, gid: number],
  link: string | null,
];

export function snapshot(s: FsState): Uint8Array {
  const nodes: InodeRecord[] = [];
  for (const n of s.inodes.values()) {
    nodes.push([
      n.ino,
      n.dir,
      n.mode,
      n.nlink,
      n.pinSeq,
      n.size,
      [n.atimeMs, n.mtimeMs, n.ctimeMs, n.birthtimeMs],
      n.parent?.ino ?? 0,
      n.entries === null ? null : [...n.entries].map(([k, v]) => [k, v.ino]),
      n.pages === null ? null : n.pages.entries(),
      [n.uid, n.gid],
      n.link,
    ]);
  }
  return serialize({ nodes, nextIno: s.nextIno, usedPages: s.usedPages, pinSeq: s.pinSeq, lastOpen: s.lastOpen });
}

export function restore(bytes: Uint8Array, limits: FsLimits, store: PageStore, observer: ChangeObserver | null = null): FsState {
  const snap = deserialize(bytes) as { nodes: InodeRecord[]; nextIno: number; usedPages: number; pinSeq: number; lastOpen: number[] };
  const inodes = new InodeTable();
  // A snapshot names pages of the shared pool (a state transfer ships page tables, not data): check every ref.
  const table = (pages: [number, number][]): PageTable => {
    for (const [no, ref] of pages) {
      if (!Number.isSafeInteger(no) || no < 0 || !Number.isSafeInteger(ref) || ref < 0 || indexOfRef(ref) >= store.pool.pages) {
        throw new FailStopError(`NrFS restore: page ${no} names ref ${ref}, outside the ${store.pool.pages}-page pool`);
      }
    }
    return tableOf(pages);
  };
  const orphans = new Set<number>();
  for (const [ino, dir, mode, nlink, pinSeq, size, [a, m, c, b], , , pages, [uid, gid], link] of snap.nodes) {
    if (nlink === 0) orphans.add(ino);
    inodes.set(ino, {
      ino, dir, mode, uid, gid, link, nlink, pinSeq, size,
      pages: pages === null ? null : pages.length === 0 ? NO_PAGES : table(pages),
      entries: dir ? new Map() : null,
      parent: null,
      atimeMs: a, mtimeMs: m, ctimeMs: c, birthtimeMs: b,
    });
  }
  for (const [ino, , , , , , , parent, entries] of snap.nodes) {
    const node = inodes.get(ino)!;
    if (node.dir) node.parent = inodes.get(parent) ?? null;
    if (entries !== null) for (const [name, child] of entries) node.entries!.set(name, inodes.get(child)!);
  }
  if (!Array.isArray(snap.lastOpen) || snap.lastOpen.length !== 2 * MAX_SLOTS) throw new FailStopError('NrFS restore: the snapshot has no record of logged opens per slot');
  return { root: inodes.get(ROOT_INO)!, observer, inodes, nextIno: snap.nextIno, usedPages: snap.usedPages, pinSeq: snap.pinSeq, lastOpen: snap.lastOpen, orphans, limits, store };
}
