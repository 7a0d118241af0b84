/**
 * The thread side of opens without log entries (see opens.ts for the
 * shared table, docs/fs.md "Opens without log entries" for the argument).
 *
 * - open of an existing file that changes nothing: catch up, resolve the
 *   name on this replica (a read), publish the fd's inode in this slot's
 *   region, then look for an unlink announced on that inode by another
 *   slot. None, and the log did not move since the resolution: done, no
 *   log entry. The log moved: resolve again (the publication stands; any
 *   later state is safe) until the same inode comes back. Announced: fall
 *   back to a logged open, which the unlink cannot overtake.
 * - a logged open (create, truncate, or the fallback): PENDING = an odd
 *   token, log `open` with the token (its apply stamps the inode and
 *   records the token as this slot's last logged open), publish the fd,
 *   PENDING even.
 * - close: unpublish, and if that was this thread's last fd on the inode,
 *   catch up and reap it when it is an orphan that no slot holds, unless
 *   the table's ORPHANINGS count is what it was before the inode's first
 *   open here: then no op made an orphan since, and the inode (named when
 *   it was opened) is none (for a client, this saves a round trip).
 * - an op that removes a last name: catch up, find the inode it would
 *   remove and this replica's open stamp, ANNOUNCE it, look in the table:
 *   held anywhere -> the op keeps it as an orphan, else frees it (only if
 *   the apply finds that very inode, stamped no later than this replica
 *   saw). After the op: clear ANNOUNCE, and reap an orphan it made that
 *   nobody holds any more.
 */
import { FsError } from './errors.js';
import type { FsReplica } from './handle.js';
import { keyOf, type OpenTable } from './opens.js';

/** Resolutions of one open that keep finding another inode at the name (renames racing it) before EAGAIN. */
const MAX_OPEN_ATTEMPTS = 1000;
const TOKEN_MASK = 0x3fffffff;

/** What the protocol needs of the replica: catching up and the log's tail. */
export interface ProtocolReplica {
  sync(): void;
  logMark(): number;
}

export class OpenProtocol {
  /** Fds of this thread open on each inode (the table has one entry per fd). */
  private readonly counts = new Map<number, number>();
  /** The table's ORPHANINGS before the open that took each inode first (while counts has it). */
  private readonly orphaningsAt = new Map<number, number>();
  /** This thread's owner token of its slot's region (0 until claimed). */
  private owner = 0;
  private token = 1;
  /** The decision of the removal in progress: free this inode (0: none), seen this open stamp. */
  private freeIno = 0;
  private seenPin = 0;

  constructor(
    private readonly table: OpenTable,
    private readonly slot: number,
    private readonly replica: ProtocolReplica,
    private readonly reads: FsReplica['reads'],
    private readonly writes: FsReplica['writes'],
    private readonly uid: number,
    private readonly gid: number,
    /** Opens that change nothing may skip the log (a replica's); a client logs every open. */
    private readonly localOpens = true,
  ) {}

  /** Regions in the table: the handle's replica slots. */
  get slots(): number {
    return this.table.slots;
  }

  /** Take this slot's region (cleared first; call after releasing what an earlier owner left). */
  claim(): void {
    this.owner = this.table.claim(this.slot);
    // Tokens differ from those of the slot's earlier owners (their last logged open is still on record).
    this.token = ((this.owner << 12) | 1) & TOKEN_MASK;
  }

  /** open(2) for fd `fd` (not yet in use): returns the inode it is open on. */
  open(path: string, flags: number, mode: number, now: number, fd: number): number {
    const table = this.table;
    const slot = this.slot;
    this.checkOwner();
    // Before the open is resolved or logged: an orphaning of the inode comes after it, so after this load.
    const seen = table.orphanings();
    if (!this.localOpens) return this.logged(path, flags, mode, now, fd, 0, seen);
    let mark = this.replica.logMark();
    this.replica.sync();
    let ino = this.reads.openable(path, flags, this.uid, this.gid);
    for (let attempt = 1; ino !== 0; attempt++) {
      const key = keyOf(ino);
      table.publish(slot, fd, key);
      if (table.announced(slot, key)) return this.logged(path, flags, mode, now, fd, ino, seen);
      if (this.replica.logMark() === mark) return this.took(ino, seen);
      // Entries came in since the resolution: resolve again, with the publication standing.
      mark = this.replica.logMark();
      this.replica.sync();
      let again: number;
      try {
        again = this.reads.openable(path, flags, this.uid, this.gid);
      } catch (e) {
        table.unpublish(slot, fd);
        this.released(ino);
        throw e;
      }
      if (again === ino) return this.took(ino, seen);
      table.unpublish(slot, fd);
      this.released(ino);
      if (attempt >= MAX_OPEN_ATTEMPTS) throw new FsError('EAGAIN', 'open', path, undefined, `the name kept changing under ${attempt} resolutions`);
      ino = again;
    }
    return this.logged(path, flags, mode, now, fd, 0, seen);
  }

  /** A logged open; `held` (0: none) is the inode fd `fd` is published on meanwhile, dropped after. */
  private logged(path: string, flags: number, mode: number, now: number, fd: number, held: number, seen: number): number {
    const table = this.table;
    const slot = this.slot;
    const token = (this.token = (this.token + 2) & TOKEN_MASK) | 1;
    table.setPending(slot, token);
    let ino: number;
    try {
      ino = this.writes.open(path, flags, mode, now, slot, this.uid, this.gid, token);
    } catch (e) {
      table.unpublish(slot, fd);
      table.setPending(slot, token + 1);
      if (held !== 0) this.released(held);
      throw e;
    }
    table.publish(slot, fd, keyOf(ino));
    table.setPending(slot, token + 1);
    if (held !== 0 && held !== ino) this.released(held);
    return this.took(ino, seen);
  }

  private took(ino: number, seen: number): number {
    const n = this.counts.get(ino) ?? 0;
    this.counts.set(ino, n + 1);
    if (n === 0) this.orphaningsAt.set(ino, seen);
    return ino;
  }

  /** fd `fd`, open on `ino`, is closed. */
  closed(fd: number, ino: number): void {
    const n = (this.counts.get(ino) ?? 1) - 1;
    const seen = this.orphaningsAt.get(ino);
    if (n > 0) this.counts.set(ino, n);
    else {
      this.counts.delete(ino);
      this.orphaningsAt.delete(ino);
    }
    // A slot taken over by a live thread (this one was presumed dead): its region is not ours to write.
    if (!this.table.owns(this.slot, this.owner)) return;
    this.table.unpublish(this.slot, fd);
    if (n > 0) return;
    // After the unpublish: an orphaning whose holder look missed it bumped the count before that look.
    if (seen !== undefined && this.table.orphanings() === seen) return;
    this.released(ino);
  }

  /**
   * This thread no longer holds `ino` (or never got it): after catching up,
   * reap it if it is an orphan no slot holds (and any orphan sharing its
   * key, which this thread's entry may have kept alive).
   */
  private released(ino: number): void {
    this.replica.sync();
    const list = this.reads.orphansKeyed(ino);
    for (let i = 0; i < list.length; i++) if (!this.holds(list[i]!)) this.writes.reap(list[i]!);
  }

  /**
   * Does any slot hold `ino` open, or have a logged open in flight that
   * took it? A PENDING token counts only if this replica has applied that
   * very open and it returned `ino`: an open not applied here yet comes
   * after this replica's stamp and cannot be overtaken (see docs/fs.md).
   */
  holds(ino: number): boolean {
    const table = this.table;
    const key = keyOf(ino);
    const last = this.reads.lastOpens();
    for (let s = 0; s < table.slots; s++) {
      // PENDING before the fds: an open publishes its fd before it clears PENDING.
      const p = table.pending(s);
      if ((p & 1) !== 0 && last[2 * s] === p && last[2 * s + 1] === ino) return true;
      if (table.hasKey(s, key)) return true;
    }
    return false;
  }

  /**
   * Run `op`, which may remove the last name at `path` (unlink, rmdir,
   * rename onto it), with this thread's decision for the inode there; it
   * returns the orphan it made (0: none).
   */
  remove(path: string, op: (freeIno: number, seenPin: number) => number): void {
    this.removing(path);
    let orphan = 0;
    let threw = true;
    try {
      orphan = op(this.freeIno, this.seenPin);
      threw = false;
    } finally {
      // An op that threw may still stand (its outcome unknown): it counts as one that may have made an orphan.
      if (orphan !== 0 || threw) this.table.orphaned();
      this.removed(orphan);
    }
  }

  /** Before an op that may remove the last name at `path`: decide (freeIno, seenPin) and announce it. */
  private removing(path: string): void {
    this.replica.sync();
    const r = this.reads.removal(path);
    const ino = r[0];
    this.seenPin = r[1];
    this.freeIno = 0;
    if (ino === 0) return;
    this.table.announce(this.slot, keyOf(ino));
    this.freeIno = this.holds(ino) ? 0 : ino;
  }

  /** After it (applied or failed): withdraw the announcement; reap the orphan it made (0: none) if nobody holds it. */
  private removed(orphan: number): void {
    this.table.announce(this.slot, 0);
    if (orphan !== 0) this.released(orphan);
  }

  /**
   * The slot `slot`'s thread is gone (or this thread is taking the slot
   * over): clear its region, then reap every orphan nobody holds. Returns
   * the fds it still had published.
   */
  discard(slot: number): number {
    const open = this.table.discard(slot);
    // The dead thread may have made an orphan it never counted: holders that outlive this sweep ask at their close.
    this.table.orphaned();
    this.replica.sync();
    this.sweep();
    return open;
  }

  /** This thread leaves: its fds are gone; reap the orphans that no slot holds. */
  leave(): void {
    this.counts.clear();
    this.orphaningsAt.clear();
    if (this.owner !== 0 && this.table.owns(this.slot, this.owner)) this.table.discard(this.slot);
    this.owner = 0;
    this.replica.sync();
    this.sweep();
  }

  private sweep(): void {
    for (const v of this.reads.orphans()) if (!this.holds(v)) this.writes.reap(v);
  }

  private checkOwner(): void {
    if (!this.table.owns(this.slot, this.owner)) {
      throw new FsError('EBADF', 'open', undefined, undefined, 'this thread\'s replica slot was released for another thread (it was presumed dead)');
    }
  }
}
