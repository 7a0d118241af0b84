/** Inodes, the inode table and the replica's state record. */
import type { PageHolder } from '../pages/holder.js';
import type { SharedPages } from '../pages/pool.js';
import { PageTable } from './page-table.js';

export const PAGE_SHIFT = 12;
export const PAGE_BYTES = 1 << PAGE_SHIFT;
/** Largest file size (1 TiB): beyond it writes and truncates fail with EFBIG. */
export const MAX_FILE_BYTES = 2 ** 40;
export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;
/** Symbolic links followed in one path resolution before ELOOP (Linux's MAXSYMLINKS). */
export const MAX_SYMLINKS = 40;
/** tmpfs's directory size: 20 bytes (BOGO_DIRENT_SIZE) per entry, '.' and '..' included; a directory has no blocks. */
export const DIRENT_BYTES = 20;
/** tmpfs keeps a symbolic link's target inline below 128 bytes (no blocks), in a page of its own from there. */
export const SHORT_SYMLINK_BYTES = 128;

/** Linux open(2) flags, as in node:fs `constants`. */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;

export interface Inode {
  readonly ino: number;
  readonly dir: boolean;
  /** Permission bits (no file-type bits). */
  mode: number;
  /** Owner and group (the creating thread's `uid`/`gid`, see attachFs). */
  uid: number;
  gid: number;
  /** The target of a symbolic link (null for files and directories). */
  readonly link: string | null;
  nlink: number;
  /**
   * The stamp (`FsState.pinSeq`) of the last logged op that handed out an
   * fd on this inode (its create, or a logged open): an unlink whose issuer
   * looked at the open table before that op cannot free it (see opens.ts).
   */
  pinSeq: number;
  size: number;
  /** File pages by page number: refs into the shared page pool (see pages/pool.ts; files only). */
  pages: PageTable | null;
  /** Directory entries by name, in insertion order (directories only). */
  entries: Map<string, Inode> | null;
  /** Containing directory (directories only; the root is its own parent). */
  parent: Inode | null;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;
}

export interface FsLimits {
  /** Most 4 KiB pages of file data, over all files. */
  maxPages: number;
  /** Most inodes (files and directories, the root included). */
  maxInodes: number;
}

const CHUNK = 4096;

/**
 * The inode table: inodes by number, in chunks of 4096 numbers. Inode
 * numbers come from a counter, so a create appends to the newest chunk (no
 * hash, no random bucket to touch: a Map of 10^5-10^6 inodes missed the
 * cache on every insert and lookup of a create) and a lookup is two indexed
 * loads. A chunk whose inodes are all gone is dropped (the newest one once
 * a newer one starts), so memory follows the live inodes, not every number
 * ever handed out. Iteration is by ascending number, which is creation
 * order, the same on every replica.
 */
export class InodeTable {
  private readonly chunks: ((Inode | undefined)[] | undefined)[] = [];
  private readonly live: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(ino: number): Inode | undefined {
    const k = Math.floor(ino / CHUNK);
    const c = this.chunks[k];
    return c === undefined ? undefined : c[ino - k * CHUNK];
  }

  set(ino: number, node: Inode): void {
    const k = Math.floor(ino / CHUNK);
    const at = ino - k * CHUNK;
    while (this.chunks.length <= k) {
      // The newest chunk is kept while empty (the next numbers go there); drop it once it is not the newest.
      const last = this.chunks.length - 1;
      if (last >= 0 && this.live[last] === 0) this.chunks[last] = undefined;
      this.chunks.push(undefined);
      this.live.push(0);
    }
    let c = this.chunks[k];
    if (c === undefined) this.chunks[k] = c = [];
    // Numbers come in order within a chunk, so this only pads after a restore or a reused number.
    while (c.length < at) c.push(undefined);
    if (c[at] === undefined) {
      this.live[k]!++;
      this.count++;
    }
    c[at] = node;
  }

  delete(ino: number): void {
    const k = Math.floor(ino / CHUNK);
    const c = this.chunks[k];
    const at = ino - k * CHUNK;
    if (c === undefined || c[at] === undefined) return;
    c[at] = undefined;
    this.count--;
    if (--this.live[k]! === 0 && k < this.chunks.length - 1) this.chunks[k] = undefined;
  }

  *values(): IterableIterator<Inode> {
    for (const c of this.chunks) {
      if (c === undefined) continue;
      for (const node of c) if (node !== undefined) yield node;
    }
  }
}

/**
 * Told of every change an apply makes, on this replica only (the fs.watch
 * of this thread): never part of the replicated state, never read by an
 * apply, so it cannot make replicas differ.
 */
export interface ChangeObserver {
  /** False while nobody watches: applies then skip the call. */
  readonly active: boolean;
  /**
   * `ino` changed: 'rename' (a name in it appeared or went, `name` that entry; or, with `name` '', its own name
   * went) or 'change' (data or attributes, `name` ''; or, on a directory, the data of its entry `name`, a file
   * the same op created and no watcher could listen to yet).
   */
  changed(ino: number, event: 'rename' | 'change', name: string): void;
}

export interface FsState {
  root: Inode;
  /** This replica's watchers' hook (see ChangeObserver), or null. */
  observer: ChangeObserver | null;
  /** Every live inode by number, unlinked-but-open ones included. */
  inodes: InodeTable;
  nextIno: number;
  usedPages: number;
  /** Stamps logged opens (and creates): +1 each, see `Inode.pinSeq`. */
  pinSeq: number;
  /**
   * The last logged open of each replica slot: [token, ino] at 2·slot (ino
   * 0 if it failed): how a thread deciding whether an inode is open tells
   * an in-flight open of another slot (its PENDING token in the open table)
   * that already took this inode from one that did not (see opens.ts).
   */
  lastOpen: number[];
  /** Inodes without a name that some thread may still hold open: kept, with their pages, until a `reap`. */
  orphans: Set<number>;
  readonly limits: FsLimits;
  /** The shared page pool and this thread's share of it (not part of the state proper). */
  readonly store: PageStore;
}

/** Where file data lives: the same pool for every replica, one holder per thread. */
export interface PageStore {
  readonly pool: SharedPages;
  readonly holder: PageHolder;
  /**
   * False once this replica may have been fenced (its slot no longer holds
   * the log): a page word that does not match an entry's ref is then a page
   * reused under a stale replica, not a forged entry.
   */
  current(): boolean;
}

/**
 * The page table of every file that has no page yet (never mutated): most
 * created files in create-heavy workloads stay empty, and a table each costs
 * allocation and GC time. `installRun` swaps in a real one on the first page.
 */
export const NO_PAGES: PageTable = new PageTable();

export function newInode(ino: number, dir: boolean, mode: number, now: number, parent: Inode | null, uid = 0, gid = 0, link: string | null = null): Inode {
  return {
    ino,
    dir,
    mode,
    uid,
    gid,
    link,
    nlink: dir ? 2 : 1,
    pinSeq: 0,
    size: dir ? PAGE_BYTES : link !== null ? Buffer.byteLength(link) : 0,
    pages: dir ? null : NO_PAGES,
    entries: dir ? new Map() : null,
    parent,
    atimeMs: now,
    mtimeMs: now,
    ctimeMs: now,
    birthtimeMs: now,
  };
}

export const ROOT_INO = 1;
/** Replica slots a state records logged opens for (NR's most replicas). */
export const MAX_SLOTS = 64;

export function emptyState(limits: FsLimits, store: PageStore, observer: ChangeObserver | null = null): FsState {
  const root = newInode(ROOT_INO, true, 0o755, 0, null);
  root.parent = root;
  const inodes = new InodeTable();
  inodes.set(ROOT_INO, root);
  return { root, observer, inodes, nextIno: ROOT_INO + 1, usedPages: 0, pinSeq: 0, lastOpen: new Array<number>(2 * MAX_SLOTS).fill(0), orphans: new Set(), limits, store };
}

/** The `name` of a 'change' that only the inode's own watchers see, not its directory's (no entry is named '/'). */
export const SELF_ONLY = '/';

/** Tell the observer, if anyone watches, that `node` changed ('change') or a name went or came ('rename'). */
export function changed(s: FsState, node: Inode, event: 'rename' | 'change', name = ''): void {
  const o = s.observer;
  if (o !== null && o.active) o.changed(node.ino, event, name);
}
