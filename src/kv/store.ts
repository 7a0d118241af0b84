/**
 * The store's API on a replica-holding thread.
 *
 * `createKv(options)` (any thread, usually main) allocates the shared header,
 * value arena and NR log and returns a structured-cloneable `KvHandle`.
 * Every thread that uses the store calls `attachKv(handle, secret)`: it
 * derives the keys privately, checks them against the header's key check
 * value, and attaches its own replica (its enclave index).
 *
 * A write seals the value into a fresh arena block (issuer side, before
 * logging), then logs one metadata record. Blocks a write displaces join
 * the replicated queue of displaced blocks (displaced.ts); each write's
 * record claims those this thread found every replica has passed, and the
 * writer frees what its claim took. A block whose write did not take effect
 * is freed at once.
 */
import { attach, clientRequestsPending, DetachedError, EncodeError, FencedError, OpTooLargeError, type Replica, type ReplicaStats } from '../nr/index.js';
import { Arena, ARENA_START } from './arena.js';
import { Cipher, displayKey, randomWriterId } from './crypto.js';
import { type BatchOp, CAS_ATTEMPTS, checkBatchFields, type CasResult, keyIdOf, type KvKey, type KvValue, matches, newRecord, scanArgs, type ScanOptions, sealItems, valueBytes, versionCond } from './issue.js';
import { ArenaFullError, IntegrityError, KvContentionError, KvStaleError } from './errors.js';
import { Freshness } from './freshness.js';
import { type ApplyResult, type KvEntry, type Meta, type StoreContext } from './enclave.js';
import { kvStructure, type KvStructure } from './structure.js';
import { BLOCKS_DEAD, BLOCKS_SWEEPING, ClientBlocks, sweepOwner } from './client-blocks.js';
import { type LogRecord } from './record.js';
import { checkAttachOptions, checkHandle, cipherFor, type KvHandle, type KvAttachOptions, MAX_KEY_BYTES, MAX_VALUE_BYTES } from './handle.js';

export type { KvEntry } from './enclave.js';


/** A writer looks for displaced blocks every replica has passed after this many writes (displaced blocks, for batches); a node claims for its clients once this many are ready. */
const RECLAIM_EVERY = 16;
/** How long a write waits for displaced blocks a lagging replica holds (fencing it after fenceAfterMs) before ArenaFullError. */
export const ARENA_WAIT_MS = 5_000;
/** How long a store with client slots holds a block every replica has passed before it may be claimed (displaced.ts): a client's answer-to-open gap, with room for a loaded machine. */
const CLIENT_READ_GRACE_MS = 50;

export interface KvStats {
  keys: number;
  /** Arena bytes the live values' blocks occupy. */
  liveBytes: number;
  /** Arena bytes handed out so far (its high-water mark). */
  arenaUsedBytes: number;
  arenaCapacity: number;
  /** Bytes on the shared free lists. */
  arenaFreeBytes: number;
  /** Bytes displaced store-wide and not yet claimed by a write, as this replica has applied (any writer may claim them). */
  pendingReclaimBytes: number;
  /** Bytes this thread's claims freed. */
  reclaimedBytes: number;
  /** Free-list links this thread found corrupted and dropped. */
  allocatorRepairs: number;
  encrypted: boolean;
  /** Why this replica fail-stopped, or null. */
  failure: string | null;
  /** Log records this replica has applied (its chain position). */
  chainCount: number;
  /** The highest chain position a peer has announced to this thread. */
  learnedCount: number;
  replica: ReplicaStats;
}


/** Become a node of the store: derive and check the keys, attach a replica. */
export function attachKv(handle: KvHandle, options: KvAttachOptions = {}): KvStore {
  checkHandle(handle);
  const { staleMs, announceMs } = checkAttachOptions(options);
  const cipher = cipherFor(handle, options);
  let fresh: Freshness;
  try {
    fresh = new Freshness(options.peer, cipher, announceMs, staleMs, true);
  } catch (e) {
    cipher.zero();
    throw e;
  }
  const ctx: StoreContext = { cipher, arena: new Arena(handle.header, handle.arena), fresh, applied: { count: 0, head: '' } };
  const structure = kvStructure(ctx);
  const limits = { maxKey: Math.min(MAX_KEY_BYTES, handle.maxKeyBytes), maxValue: Math.min(MAX_VALUE_BYTES, handle.maxValueBytes) };
  let replica: KvStructureReplica;
  try {
    replica = attach(handle.nr, structure, options.replica ?? {});
  } catch (e) {
    cipher.zero();
    fresh.release();
    throw e;
  }
  let store: KvStore;
  try {
    store = new KvStore(replica, ctx, { ...limits, clientReadGraceMs: handle.nr.context !== null ? CLIENT_READ_GRACE_MS : 0 }, handle);
  } catch (e) {
    replica.detach();
    cipher.zero();
    fresh.release();
    throw e;
  }
  return store;
}

/** A write prepared on the issuer: sealed blocks plus the record that will reference them. */
interface Prepared {
  rec: LogRecord;
  /** (offset, stored bytes) of blocks this write allocated. */
  blocks: number[];
}

/** One thread's view of the store, holding its replica. */
export class KvStore {
  readonly replica: Replica<unknown, never, never>;
  private readonly r: KvStructureReplica;
  private readonly ctx: StoreContext;
  private readonly cipher: Cipher;
  private readonly fresh: Freshness;
  private readonly arena: Arena;
  private readonly sleep = new Int32Array(new SharedArrayBuffer(4));
  private readonly maxKey: number;
  private readonly maxValue: number;
  private readonly limits: { maxKey: number; maxValue: number };
  private readonly writer = randomWriterId();
  private seq = 0;
  /** How long a block every replica has passed is held for clients still opening it (stores with client slots). */
  private readonly graceMs: number;
  private reclaimed = 0;
  /** Writes (or, for batches, displaced blocks) since readiness was last looked at: every RECLAIM_EVERY. */
  private sinceReclaim = 0;
  /** A node's claim for its clients' displaced blocks is in flight. */
  private claiming = false;
  /** The KV clients' block table (client-blocks.ts), null without client slots. */
  private readonly clientBlocks: ClientBlocks | null;

  /** @internal use attachKv */
  constructor(replica: KvStructureReplica, ctx: StoreContext, limits: { maxKey: number; maxValue: number; clientReadGraceMs: number }, private readonly handle: KvHandle) {
    this.clientBlocks = handle.clientBlocks === null ? null : new ClientBlocks(handle.clientBlocks);
    this.r = replica;
    this.replica = replica as unknown as Replica<unknown, never, never>;
    this.ctx = ctx;
    this.cipher = ctx.cipher;
    this.fresh = ctx.fresh!;
    this.arena = ctx.arena;
    this.graceMs = limits.clientReadGraceMs;
    // Stamping what an apply displaces: the end of the run being applied, not the log's tail (often far later).
    ctx.logMark = () => replica.applyingMark();
    // Clients cannot claim (they cannot tell when every replica has passed a block): their node does, for them.
    ctx.onClientDisplaced = () => {
      if (++this.sinceClientClaim < RECLAIM_EVERY || this.claiming || this.closed) return;
      this.sinceClientClaim = 0;
      this.claiming = true;
      queueMicrotask(() => void this.claimForClients());
    };
    this.maxKey = limits.maxKey;
    this.maxValue = limits.maxValue;
    this.limits = { maxKey: limits.maxKey, maxValue: limits.maxValue };
  }

  get encrypted(): boolean {
    return this.cipher.secure;
  }

  // ---- reads ---------------------------------------------------------------------

  /** The value (a private Buffer), or undefined. IntegrityError if its stored bytes fail verification. */
  get(key: KvKey): Buffer | undefined {
    const id = keyIdOf(key, this.maxKey);
    this.ensureFresh();
    try {
      return this.r.reads.get(id);
    } catch (e) {
      return this.afterReadFailure(e, () => this.r.reads.get(id));
    }
  }

  getString(key: KvKey): string | undefined {
    return this.get(key)?.toString('utf8');
  }

  has(key: KvKey): boolean {
    const id = keyIdOf(key, this.maxKey);
    this.ensureFresh();
    return this.r.reads.has(id);
  }

  /** The key's current version (0: absent). */
  version(key: KvKey): number {
    const id = keyIdOf(key, this.maxKey);
    this.ensureFresh();
    return this.r.reads.version(id);
  }

  size(): number {
    this.ensureFresh();
    return this.r.reads.size();
  }

  /** Entries in key (byte) order within the range or prefix. */
  scan(options: ScanOptions = {}): KvEntry[] {
    const { start, end, limit } = scanArgs(options, this.maxKey);
    this.ensureFresh();
    return this.retryRead(() => this.r.reads.scan(start, end, limit));
  }

  async getAsync(key: KvKey): Promise<Buffer | undefined> {
    const id = keyIdOf(key, this.maxKey);
    this.ensureFresh();
    return this.r.readAsync('get', id).catch((e: unknown) => this.afterReadFailure(e, () => this.r.reads.get(id)));
  }

  async hasAsync(key: KvKey): Promise<boolean> {
    const id = keyIdOf(key, this.maxKey);
    this.ensureFresh();
    return this.r.readAsync('has', id);
  }

  async sizeAsync(): Promise<number> {
    this.ensureFresh();
    return this.r.readAsync('size');
  }

  async scanAsync(options: ScanOptions = {}): Promise<KvEntry[]> {
    const { start, end, limit } = scanArgs(options, this.maxKey);
    this.ensureFresh();
    return this.r.readAsync('scan', start, end, limit).catch((e: unknown) => this.afterReadFailure(e, () => this.r.reads.scan(start, end, limit)));
  }

  stats(): KvStats {
    const info = this.r.reads.info();
    return {
      keys: info.keys,
      liveBytes: info.liveBytes,
      arenaUsedBytes: this.arena.usedBytes(),
      arenaCapacity: this.arena.capacity - ARENA_START,
      arenaFreeBytes: this.arena.freeListBytes(),
      pendingReclaimBytes: this.ctx.displaced!.bytes,
      reclaimedBytes: this.reclaimed,
      allocatorRepairs: this.arena.repairs,
      encrypted: this.cipher.secure,
      failure: info.failure,
      chainCount: info.count,
      learnedCount: this.fresh.learned,
      replica: this.r.stats(),
    };
  }

  /** @internal Where a key's value lives in the arena (tests tamper with it). */
  locate(key: KvKey): (Meta & { storedBytes: number }) | undefined {
    const m = this.r.reads.meta(keyIdOf(key, this.maxKey));
    return m === undefined ? undefined : { ...m, storedBytes: this.cipher.storedBytes(m.len) };
  }

  /** A digest of this replica's enclave index (equal on replicas that applied the same writes). */
  digest(): string {
    return this.r.digest();
  }

  // ---- writes --------------------------------------------------------------------

  /** Store `value` under `key`; returns its new version. */
  put(key: KvKey, value: KvValue): number {
    const p = this.prepare([{ type: 'put', key, value }], null);
    return this.commit(p).versions[0]!;
  }

  /**
   * Store `value` under `key` and return the value it replaced (undefined:
   * absent). The displaced block is still ours to reclaim, so opening it is safe.
   */
  exchange(key: KvKey, value: KvValue): Buffer | undefined {
    const p = this.prepare([{ type: 'put', key, value }], null);
    p.rec.openPrev = true;
    const slot: PrevSlot = { value: undefined, error: null };
    this.commit(p, slot);
    if (slot.error !== null) throw slot.error;
    return slot.value;
  }

  async exchangeAsync(key: KvKey, value: KvValue): Promise<Buffer | undefined> {
    const p = this.prepare([{ type: 'put', key, value }], null);
    p.rec.openPrev = true;
    const slot: PrevSlot = { value: undefined, error: null };
    await this.commitAsync(p, slot);
    if (slot.error !== null) throw slot.error;
    return slot.value;
  }

  /** Remove `key`; returns whether it existed. */
  delete(key: KvKey): boolean {
    const p = this.prepare([{ type: 'delete', key }], null);
    return this.commit(p).prev[0] !== null;
  }

  /**
   * Write `value` only if the key's current state matches `expected`: a
   * version number (0: absent), a value, or undefined (absent). A compare by
   * value (or absence) reads the current version and value, then logs a
   * compare by that version, retrying while other writers win the race; on
   * failure it returns the value it found (linearized at that read).
   */
  compareAndSet(key: KvKey, expected: number | KvValue | undefined, value: KvValue): CasResult {
    if (typeof expected === 'number') {
      const p = this.prepare([{ type: 'put', key, value }], versionCond(key, expected, this.maxKey));
      const res = this.commit(p);
      return res.ok ? { ok: true, version: res.versions[0]! } : { ok: false, version: res.current };
    }
    const id = keyIdOf(key, this.maxKey);
    const want = expected === undefined ? undefined : valueBytes(expected, this.maxValue);
    valueBytes(value, this.maxValue);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const cur = this.retryRead(() => this.r.reads.entry(id));
      if (!matches(cur.value, want)) return { ok: false, version: cur.version, value: cur.value };
      const p = this.prepare([{ type: 'put', key, value }], { key: id, version: cur.version });
      const res = this.commit(p);
      if (res.ok) return { ok: true, version: res.versions[0]! };
    }
    throw new KvContentionError(displayKey(id), CAS_ATTEMPTS);
  }

  /** Apply puts and deletes atomically (one log record); returns each op's new version (0 for deletes). */
  batch(ops: readonly BatchOp[]): number[] {
    checkBatchFields(ops);
    const p = this.prepare(ops, null);
    return this.commit(p).versions;
  }

  async putAsync(key: KvKey, value: KvValue): Promise<number> {
    const p = this.prepare([{ type: 'put', key, value }], null);
    return (await this.commitAsync(p)).versions[0]!;
  }

  async deleteAsync(key: KvKey): Promise<boolean> {
    const p = this.prepare([{ type: 'delete', key }], null);
    return (await this.commitAsync(p)).prev[0] !== null;
  }

  async compareAndSetAsync(key: KvKey, expected: number | KvValue | undefined, value: KvValue): Promise<CasResult> {
    if (typeof expected === 'number') {
      const p = this.prepare([{ type: 'put', key, value }], versionCond(key, expected, this.maxKey));
      const res = await this.commitAsync(p);
      return res.ok ? { ok: true, version: res.versions[0]! } : { ok: false, version: res.current };
    }
    const id = keyIdOf(key, this.maxKey);
    const want = expected === undefined ? undefined : valueBytes(expected, this.maxValue);
    valueBytes(value, this.maxValue);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const cur = await this.r.readAsync('entry', id).catch((e: unknown) => this.afterReadFailure(e, () => this.r.reads.entry(id)));
      if (!matches(cur.value, want)) return { ok: false, version: cur.version, value: cur.value };
      const p = this.prepare([{ type: 'put', key, value }], { key: id, version: cur.version });
      const res = await this.commitAsync(p);
      if (res.ok) return { ok: true, version: res.versions[0]! };
    }
    throw new KvContentionError(displayKey(id), CAS_ATTEMPTS);
  }

  async batchAsync(ops: readonly BatchOp[]): Promise<number[]> {
    checkBatchFields(ops);
    const p = this.prepare(ops, null);
    return (await this.commitAsync(p)).versions;
  }

  /**
   * Replay everything appended so far, and note which displaced blocks every
   * replica has passed (this thread's next write claims them; on a store
   * with client slots only once their grace has passed too: displaced.ts).
   */
  sync(): void {
    this.r.sync();
    this.noteReady();
    this.releaseClients();
  }

  /**
   * Free the blocks dead KV clients allocated for puts that no logged
   * record names (client-blocks.ts): for each owner id marked DEAD
   * (declareKvClientDead, or a client closed with puts in doubt) whose
   * thread has no request left that could reach the log, catch up, then
   * free each noted block no record of that client at or before its
   * last applied sequence names and this replica's state does not
   * reference. `sync` runs it. Returns the blocks freed.
   */
  releaseClients(): number {
    const t = this.clientBlocks;
    if (t === null) return 0;
    let freed = 0;
    for (const d of t.dead()) {
      if (clientRequestsPending(this.handle.nr, d.threadId) > 0) continue;
      if (!t.move(d.k, BLOCKS_DEAD, BLOCKS_SWEEPING)) continue; // another replica sweeps it
      try {
        this.r.sync(); // every record the dead client got logged is applied here before its entries are judged
        freed += sweepOwner(t, d.k, { state: (writer) => this.r.reads.clientSweep(writer), free: (loc, bytes) => this.arena.free(loc, bytes) }).freed;
      } catch (e) {
        t.move(d.k, BLOCKS_SWEEPING, BLOCKS_DEAD); // not swept (this replica cannot catch up, or failed): left for another
        throw e;
      }
      t.move(d.k, BLOCKS_SWEEPING, 0);
    }
    return freed;
  }

  /** Leave the store: detach the replica, send a last head announcement, zero this thread's sub-keys. */
  detach(): void {
    if (this.r.isDetached && this.closed) return;
    try {
      if (!this.r.isDetached) this.r.detach();
    } finally {
      if (!this.closed) {
        this.closed = true;
        this.fresh.announce(this.ctx.applied.count, this.ctx.applied.head);
        this.fresh.close();
        this.cipher.zero();
      }
    }
  }

  private closed = false;
  /** Client writes this node answered that displaced blocks, since its last claim for them. */
  private sinceClientClaim = 0;

  /**
   * Freshness: learn peers' chain heads (throttled) and, if this replica
   * has applied fewer records than the newest one announced, catch up to
   * the log's tail, waiting at most staleMs for the records to show up.
   */
  private ensureFresh(): void {
    const f = this.fresh;
    if (!f.enabled) return;
    f.poll();
    // Heads learned for records this replica already passed are compared now, before any wait (checkLive).
    if (f.unchecked.length !== 0 || f.conflict !== null) this.r.reads.verify();
    const target = f.learned;
    if (this.ctx.applied.count >= target) return;
    const deadline = performance.now() + f.staleMs;
    for (;;) {
      this.r.sync();
      if (this.ctx.applied.count >= target) return;
      if (performance.now() >= deadline) throw new KvStaleError(this.ctx.applied.count, target, f.staleMs);
      this.r.helpWhileWaiting();
      Atomics.wait(this.sleep, 0, 0, 1);
    }
  }

  // ---- internals ---------------------------------------------------------------

  /**
   * A value that fails verification right after a concurrent overwrite may be
   * a block reclaimed under a replica that was fenced meanwhile: catch up and
   * look once more. A value that fails again is reported.
   */
  private retryRead<T>(read: () => T): T {
    try {
      return read();
    } catch (e) {
      if (!(e instanceof IntegrityError) || e.failStop) throw e;
      this.r.sync();
      return read();
    }
  }

  private afterReadFailure<T>(e: unknown, read: () => T): T {
    if (!(e instanceof IntegrityError) || e.failStop) throw e;
    this.r.sync();
    return read();
  }

  private prepare(ops: readonly BatchOp[], cond: { key: string; version: number } | null): Prepared {
    if (this.closed) this.r.sync(); // throws the replica's DetachedError
    const { items, blocks } = sealItems(ops, this.limits, this.cipher, this.arena, (stored) => this.allocate(stored));
    if (this.sinceReclaim >= RECLAIM_EVERY) this.noteReady();
    return { rec: newRecord(this.writer, ++this.seq, this.ctx.applied, items, cond, this.ctx.displaced!.claimable(performance.now(), this.graceMs)), blocks };
  }

  private allocate(stored: number): number {
    try {
      return this.arena.alloc(stored);
    } catch (e) {
      if (!(e instanceof ArenaFullError)) throw e;
      // Full: claim what every replica has passed (without the clients' grace), then try once more. Blocks a
      // replica holds back are waited for as a full log waits: after fenceAfterMs that replica is fenced
      // (fenceHolding; it recovers by transfer), so one stuck thread cannot fill the arena for everyone.
      const since = performance.now();
      for (;;) {
        this.r.sync();
        this.noteReady();
        const upTo = this.ctx.displaced!.claimable(Infinity, 0);
        if (upTo !== 0) {
          this.commit({ rec: newRecord(this.writer, ++this.seq, this.ctx.applied, [], null, upTo), blocks: [] });
          return this.arena.alloc(stored);
        }
        const mark = this.ctx.displaced!.waitingMark();
        if (mark === undefined || performance.now() - since > ARENA_WAIT_MS) throw e; // full of live values, or the wait is over
        if (this.r.fenceHolding(mark, since)) continue;
        this.r.helpWhileWaiting();
        Atomics.wait(this.sleep, 0, 0, 1);
      }
    }
  }

  /** Note which displaced blocks every replica has passed (appliedEverywhere scans the replica slots: not per op). */
  private noteReady(): void {
    this.sinceReclaim = 0;
    this.ctx.displaced!.advance((mark) => this.r.appliedEverywhere(mark), () => this.r.logMark(), performance.now());
  }

  /** On a node whose clients' writes displaced blocks: a record with no items that claims the ready ones. */
  private async claimForClients(): Promise<void> {
    try {
      this.noteReady();
      const upTo = this.ctx.displaced!.claimable(performance.now(), this.graceMs);
      if (upTo !== 0 && !this.closed) await this.commitAsync({ rec: newRecord(this.writer, ++this.seq, this.ctx.applied, [], null, upTo), blocks: [] });
    } catch {
      // The claim is an optimization: a replica that cannot write (fenced, failed, detached) claims nothing.
    } finally {
      this.claiming = false;
    }
  }

  private commit(p: Prepared, slot: PrevSlot | null = null): ApplyResult {
    let res: ApplyResult;
    try {
      res = this.r.write('apply', p.rec);
    } catch (e) {
      this.afterFailedWrite(p, e);
      throw e;
    }
    checkResult(res, p);
    this.finish(p, res, slot);
    return res;
  }

  private async commitAsync(p: Prepared, slot: PrevSlot | null = null): Promise<ApplyResult> {
    let res: ApplyResult;
    try {
      res = await this.r.writeAsync('apply', p.rec);
    } catch (e) {
      this.afterFailedWrite(p, e);
      throw e;
    }
    checkResult(res, p);
    this.finish(p, res, slot);
    return res;
  }

  /** An exchange's displaced value was opened while applying (the block may be claimed right after). */
  private finish(p: Prepared, res: ApplyResult, slot: PrevSlot | null): void {
    if (slot !== null) {
      slot.value = res.prevValue;
      slot.error = res.prevError ?? null;
      // Applied from the log rather than from this thread's object (no open while applying): open it now.
      if (res.prevValue === undefined && res.prevError === undefined && res.prev[0] != null) {
        const m = res.prev[0];
        try {
          slot.value = this.cipher.open(p.rec.items[0]!.key, m.sealId, m.tag, this.arena.bytes, m.loc, m.len);
        } catch (e) {
          slot.error = e;
        }
      }
    }
    this.afterWrite(p, res);
  }

  private afterWrite(p: Prepared, res: ApplyResult): void {
    this.fresh.announce(this.ctx.applied.count, this.ctx.applied.head);
    // A failed condition changed nothing on any replica: nothing references the new blocks.
    if (!res.ok) this.freeNow(p.blocks);
    // What this record's claim took: every replica had passed it (and its grace) when the record was prepared.
    for (let i = 0; i < res.claimed.length; i += 2) {
      this.arena.free(res.claimed[i]!, res.claimed[i + 1]!);
      this.reclaimed += res.claimed[i + 1]!;
    }
    // Counted in displaced blocks, not records: a batch of 4096 overwrites must not wait 16 records more.
    this.sinceReclaim += Math.max(1, res.displaced);
  }

  private afterFailedWrite(p: Prepared, e: unknown): void {
    // Free the blocks only when the write surely never reached the log (refused before appending, or
    // fenced uncommitted). A fail-stop or integrity failure may come after the record was appended and
    // applied by other replicas, which then reference the blocks: those leak instead.
    const notLogged = e instanceof OpTooLargeError || e instanceof EncodeError || e instanceof DetachedError || (e instanceof FencedError && !e.committed);
    if (notLogged) this.freeNow(p.blocks);
  }

  private freeNow(blocks: number[]): void {
    for (let i = 0; i < blocks.length; i += 2) this.arena.free(blocks[i]!, blocks[i + 1]!);
  }

}

/**
 * The core hands back this replica's own apply result. Without one (seen
 * when the log was rewritten under a lagging replica: the core lost its own
 * entry's result), whether the write took effect is unknown: report it
 * typed, and leak its blocks rather than free a block something may use.
 */
function checkResult(res: ApplyResult | undefined, p: Prepared): asserts res is ApplyResult {
  if (res === null || typeof res !== 'object' || !Array.isArray(res.versions)) {
    throw new IntegrityError(`the replica lost the result of this write (writer ${p.rec.writer}, sequence ${p.rec.seq}): shared memory was tampered with; whether it took effect is unknown`);
  }
}

/** Where an exchange's displaced value (or the error opening it) lands. */
interface PrevSlot {
  value: Buffer | undefined;
  error: unknown;
}

type KvStructureReplica = Replica<ReturnType<KvStructure['create']>, KvStructure['reads'], KvStructure['writes']>;
