/**
 * KV clients: threads that hold no replica and are served by a node (NR's
 * `connect`). The client holds the key: it seals values into the arena and
 * encrypts its log records itself, and for a read the node answers only
 * the key's metadata (version, seal id, location, length, tag) and its
 * chain position, MAC'd under the response key together with the request's
 * random nonce. The client checks that MAC, that the node is not behind the
 * newest chain head it has learned, and opens the value from the arena with
 * its own key. Nothing readable passes through the client slots, and a
 * thread without the key gets nothing (plaintext reads refuse clients).
 *
 * Requests travel sealed too (keys are never in clear in a slot). Scans
 * come back as sealed pages of (key, metadata) that fit the client's slot,
 * each page one consistent state; batches and compare-and-set are records
 * like a replica holder's, verified the same way.
 *
 * Displaced blocks of a client's write are reclaimed by the node that
 * appended it.
 */
import { BackpressureError, type Client, connect, type ConnectOptions, declareClientDead, DetachedError, EncodeError, FailStopError, NodeGoneError, OpTooLargeError } from '../nr/index.js';
import { Arena } from './arena.js';
import { answerMac, META_BYTES, readMeta, REQUEST_NONCE_BYTES, sealRequest } from './answers.js';
import { ClientWindow } from './client-window.js';
import { randomWriterId, sameBytes, TAG_BYTES } from './crypto.js';
import { IntegrityError, KvConfigError, KvContentionError, KvSizeError, KvStaleError } from './errors.js';
import { Freshness } from './freshness.js';
import { type BatchOp, CAS_ATTEMPTS, checkBatchFields, type CasResult, deleteItem, keyIdOf, type KvKey, type KvValue, matches, newRecord, scanArgs, type ScanArgs, type ScanOptions, sealItems, sealPut, valueBytes, versionCond } from './issue.js';
import { checkAttachOptions, checkHandle, cipherFor, type KvAttachOptions, type KvHandle, MAX_KEY_BYTES, MAX_VALUE_BYTES } from './handle.js';
import { type ClientWriteAnswer, openScanAnswer, SCAN_LABEL, type ScanAnswer, getRequest, scanRequest, SEALED_FIELDS, SEALED_LABEL } from './client-answers.js';
import { displayKey } from './crypto.js';
import { type KvEntry, type Meta, type StoreContext } from './enclave.js';
import { kvStructure, type KvStructure } from './structure.js';
import { type LogItem, type LogRecord } from './record.js';
import { ClientBlockList, ClientBlocks } from './client-blocks.js';
import { threadId } from 'node:worker_threads';

export interface KvConnectOptions extends Omit<KvAttachOptions, 'replica'> {
  /** Options of the NR client (node, timeoutMs). */
  client?: ConnectOptions;
}

const CONNECT_OPTIONS = new Set(['key', 'passphrase', 'maxPwhash', 'peer', 'staleMs', 'announceMs', 'client']);
/** A read's answer: the node is behind a head this client learned. */
const STALE = 'stale';
/** A read's answer: the value of this version failed to open (its block may have been reused since the answer): ask again. */
class Retry {
  constructor(readonly what: string) {}
}
type Answer<T> = T | typeof STALE | Retry;

type KvNrClient = Client<ReturnType<KvStructure['create']>, KvStructure['reads'], KvStructure['writes']>;

/** Become a client of a node of the store (the store must be created with `log: { clients: n }`). */
export function connectKv(handle: KvHandle, options: KvConnectOptions = {}): KvClient {
  checkHandle(handle);
  const { staleMs, announceMs } = checkAttachOptions(options, CONNECT_OPTIONS);
  const cipher = cipherFor(handle, options);
  if (!cipher.secure) {
    cipher.zero();
    throw new KvConfigError('KV clients need an encrypted store: a plaintext store has no way to authenticate what the node answers');
  }
  let fresh: Freshness | null = null;
  let blocks: ClientBlockList | null = null;
  try {
    // The owner id first: a client whose blocks no sweep could find would strand them when killed.
    const writer = randomWriterId();
    blocks = handle.clientBlocks === null ? null : ownerFor(handle, handle.clientBlocks, writer);
    fresh = new Freshness(options.peer, cipher, announceMs, staleMs);
    const ctx: StoreContext = { cipher, arena: new Arena(handle.header, handle.arena), fresh, applied: { count: 0, head: '' } };
    const structure = kvStructure(ctx);
    const client = connect(handle.nr, structure, options.client ?? {});
    if (blocks === null) {
      client.close();
      throw new KvConfigError('KV clients need a store created with log.clients');
    }
    return new KvClient(client as unknown as KvNrClient, ctx, Math.min(MAX_KEY_BYTES, handle.maxKeyBytes), Math.min(MAX_VALUE_BYTES, handle.maxValueBytes), writer, blocks);
  } catch (e) {
    blocks?.detach();
    fresh?.release();
    cipher.zero();
    throw e;
  }
}

/**
 * For whoever manages a KV client's worker, after `worker.terminate()`:
 * NR's declareClientDead (the node answers what it had sent, then frees its
 * slot), and its owner ids in the client block table marked DEAD, so that a
 * replica's `releaseClients` (its `sync` runs it) frees the blocks of its
 * puts that no logged record names. Returns the owner ids marked.
 */
export function declareKvClientDead(handle: KvHandle, deadThreadId: number): number {
  checkHandle(handle);
  declareClientDead(handle.nr, deadThreadId);
  return handle.clientBlocks === null ? 0 : new ClientBlocks(handle.clientBlocks).markDead(deadThreadId);
}

/** This thread's owner id in the store's client block table (client-blocks.ts). */
function ownerFor(handle: KvHandle, sab: SharedArrayBuffer, writer: number): ClientBlockList {
  const table = new ClientBlocks(sab);
  const k = table.claim(threadId, writer);
  if (k < 0) throw new KvConfigError(`every one of the store's ${table.count} KV client owner ids is in use: a replica frees those of dead clients (KvStore.releaseClients, after declareKvClientDead)`);
  return new ClientBlockList(table, k);
}

/**
 * Errors after which the write surely never reached the log, so its block
 * is free to reuse: among them a node gone before it took the op
 * (`committed: false`; until session 17 those leaked, so a client retrying
 * against a gone node filled the arena). After any other (a node gone with
 * the op in flight, a timeout) the record may have been appended and
 * applied: the block leaks rather than be reused under a live reference.
 */
function neverSent(e: unknown): boolean {
  return e instanceof EncodeError || e instanceof OpTooLargeError || e instanceof BackpressureError || e instanceof DetachedError || (e instanceof NodeGoneError && e.committed === false);
}

export class KvClient {
  private seq = 0;
  private readonly sleep = new Int32Array(new SharedArrayBuffer(4));
  private closed = false;
  private lastAnswerCount = 0;
  private readonly limits: { maxKey: number; maxValue: number };
  /** Async ops made in this turn, sent together at its end (client-window.ts). */
  private readonly window: ClientWindow;

  /** @internal use connectKv */
  constructor(
    private readonly client: KvNrClient,
    private readonly ctx: StoreContext,
    maxKey: number,
    maxValue: number,
    private readonly writer: number,
    /** The blocks of this client's unsettled puts, noted where a sweep finds them if this thread dies (client-blocks.ts). */
    private readonly blocks: ClientBlockList,
  ) {
    this.limits = { maxKey, maxValue };
    const f = ctx.fresh!;
    this.window = new ClientWindow({
      cipher: ctx.cipher,
      maxPayloadBytes: client.maxPayloadBytes,
      sendGets: (req) => this.client.readAsync('sealedGets', req),
      sendRecord: (rec) => this.client.writeAsync('apply', rec) as unknown as Promise<ClientWriteAnswer>,
      record: (items) => this.record(items, null),
      checkWrite: (rec, ans, blocks) => this.check(rec, ans, blocks),
      afterFailedWrite: (e, blocks) => this.afterFailedWrite(e, blocks),
      fresh: (count, head) => this.fresh(count, head),
      open: (id, m) => this.open(id, m.sealId, m.tag, m.loc, m.len),
      getAlone: async (id, failed) => (await this.entryAsync(id, failed)).value,
      beforeFlush: () => f.poll(),
    });
  }

  // ---- reads ---------------------------------------------------------------------

  /** The value (decrypted and verified in this thread), or undefined. */
  get(key: KvKey): Buffer | undefined {
    return this.entry(keyIdOf(key, this.limits.maxKey)).value;
  }

  /** get, pipelined: many may be in flight on one client; those made in one turn share requests (client-window.ts). */
  getAsync(key: KvKey): Promise<Buffer | undefined> {
    // Not an async function: its promise would only wrap the window's (two more microtask hops per op).
    try {
      const id = keyIdOf(key, this.limits.maxKey);
      if (this.closed) throw new DetachedError('KV client is closed');
      return this.window.get(id);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  getString(key: KvKey): string | undefined {
    return this.get(key)?.toString('utf8');
  }

  /**
   * Entries in key (byte) order within the range or prefix, verified and
   * decrypted here. The node answers in pages that fit this client's slot
   * (clientSlotBytes): each page reflects one state of the store; a scan of
   * several pages is not one snapshot (a write between pages may show in
   * the later ones only).
   */
  scan(options: ScanOptions = {}): KvEntry[] {
    const args = scanArgs(options, this.limits.maxKey);
    this.window.flush(); // async ops made before it go first
    const out: KvEntry[] = [];
    while (out.length < args.limit) {
      const page = this.retrying((req, nonce) => this.client.read('sealedScan', req), (nonce, ans) => this.scanPage(nonce, ans), () => this.scanReq(args, out.length));
      if (this.takePage(args, page, out)) break;
    }
    return out;
  }

  async scanAsync(options: ScanOptions = {}): Promise<KvEntry[]> {
    const args = scanArgs(options, this.limits.maxKey);
    const out: KvEntry[] = [];
    while (out.length < args.limit) {
      const page = await this.retryingAsync((req) => this.window.defer(() => this.client.readAsync('sealedScan', req)), (nonce, ans) => this.scanPage(nonce, ans), () => this.scanReq(args, out.length));
      if (this.takePage(args, page, out)) break;
    }
    return out;
  }

  /** The key's version and value (for get and compare-and-set by value). */
  private entry(id: string): { version: number; value: Buffer | undefined } {
    this.window.flush(); // async ops made before it go first
    return this.retrying((req) => this.client.read('sealed', req), (nonce, ans) => this.getAnswer(id, nonce, ans), () => this.getReq(id));
  }

  /** The single-get path (compare-and-set by value, and a window's get asked again: `failed` names a version that failed to open). */
  private entryAsync(id: string, failed = ''): Promise<{ version: number; value: Buffer | undefined }> {
    return this.retryingAsync((req) => this.window.defer(() => this.client.readAsync('sealed', req)), (nonce, ans) => this.getAnswer(id, nonce, ans), () => this.getReq(id), failed);
  }

  /**
   * Ask until the answer is fresh and opens: a node behind what this client
   * learned is asked again (sleeping 1 ms) for at most staleMs, then
   * KvStaleError; a value that fails to open is asked for again (its
   * block may have been reused after the answer, which a newer version
   * then shows), until the node answers the same version again and it
   * still fails: that is reported.
   */
  private retrying<T>(send: (req: Buffer, nonce: string) => Buffer, check: (nonce: string, ans: Buffer) => Answer<T>, request: () => Buffer): T {
    const f = this.ctx.fresh!;
    f.poll();
    this.checkLive();
    const deadline = performance.now() + f.staleMs;
    for (let failed = ''; ; ) {
      const req = request();
      const nonce = req.toString('latin1', 0, REQUEST_NONCE_BYTES);
      const r = check(nonce, send(req, nonce));
      if (r === STALE) this.waitOrStale(deadline);
      else if (!(r instanceof Retry)) return r;
      else if (r.what === failed) throw this.lastOpenError!;
      else failed = r.what;
    }
  }

  private async retryingAsync<T>(send: (req: Buffer) => Promise<Buffer>, check: (nonce: string, ans: Buffer) => Answer<T>, request: () => Buffer, failed = ''): Promise<T> {
    const f = this.ctx.fresh!;
    f.poll();
    this.checkLive();
    const deadline = performance.now() + f.staleMs;
    for (;;) {
      const req = request();
      const r = check(req.toString('latin1', 0, REQUEST_NONCE_BYTES), await send(req));
      if (r === STALE) this.waitOrStale(deadline);
      else if (!(r instanceof Retry)) return r;
      else if (r.what === failed) throw this.lastOpenError!;
      else failed = r.what;
    }
  }

  private lastOpenError: IntegrityError | null = null;

  private getReq(id: string): Buffer {
    return sealRequest(this.ctx.cipher, SEALED_LABEL, getRequest(id));
  }

  private scanReq(args: ScanArgs, have: number): Buffer {
    // The slot's payload less the result codec's length prefix.
    return sealRequest(this.ctx.cipher, SCAN_LABEL, scanRequest(args.start, args.end, args.limit - have, this.client.maxPayloadBytes));
  }

  /** Verify a node's answer to a get for (key, nonce) and open the value. */
  private getAnswer(id: string, nonce: string, ans: Buffer): Answer<{ version: number; value: Buffer | undefined }> {
    if (!(ans instanceof Buffer) || ans.length !== SEALED_FIELDS + 16 || !sameBytes(ans.subarray(SEALED_FIELDS), answerMac(this.ctx.cipher, SEALED_LABEL, nonce, id, ans.subarray(0, SEALED_FIELDS)))) {
      throw new IntegrityError('the node\'s answer failed authentication (tampered in the client slot)', displayKey(id));
    }
    if (!this.fresh(ans.readDoubleLE(META_BYTES), ans.toString('latin1', META_BYTES + 8, META_BYTES + 8 + TAG_BYTES))) return STALE;
    const m: Meta | null = readMeta(ans, 0);
    if (m === null) return { version: 0, value: undefined };
    const value = this.open(id, m.sealId, m.tag, m.loc, m.len);
    return value === null ? new Retry(String(m.version)) : { version: m.version, value };
  }

  /** Verify a scan page for `nonce` and open its values. */
  private scanPage(nonce: string, ans: Buffer): Answer<{ more: boolean; entries: KvEntry[] }> {
    const page: ScanAnswer | null = ans instanceof Buffer ? openScanAnswer(this.ctx.cipher, nonce, ans) : null;
    if (page === null) throw new IntegrityError('the node\'s answer to a scan failed authentication (tampered in the client slot)');
    if (!this.fresh(page.count, page.head)) return STALE;
    const entries: KvEntry[] = [];
    for (const { key, meta } of page.entries) {
      const value = this.open(key, meta.sealId, meta.tag, meta.loc, meta.len);
      if (value === null) return new Retry(`${meta.version}`);
      entries.push({ key: Buffer.from(key, 'latin1'), value, version: meta.version });
    }
    return { more: page.more, entries };
  }

  /** Append a page; true when the scan is complete. */
  private takePage(args: ScanArgs, page: { more: boolean; entries: KvEntry[] }, out: KvEntry[]): boolean {
    for (const e of page.entries) out.push(e);
    if (!page.more) return true;
    if (page.entries.length === 0) {
      throw new KvSizeError(`a scan entry does not fit this client's slot (${this.client.maxPayloadBytes} bytes): create the store with a larger log.clientSlotBytes`);
    }
    // The next page starts right after the last key (ids are latin1: '\0' appended is the next key in byte order).
    args.start = page.entries[page.entries.length - 1]!.key.toString('latin1') + '\0';
    return false;
  }

  /**
   * Learn a verified chain position; false if it is behind what this client
   * learned (the node is stale). FailStopError if its head differs from
   * another authentic head this client knows for that count (a peer's
   * announcement, an earlier answer): the node's log was forked.
   */
  private fresh(count: number, head: string): boolean {
    this.witness(count, head);
    this.lastAnswerCount = count;
    this.learn(count, head);
    return count >= this.ctx.fresh!.learned;
  }

  /** Check a node's authentic (count, head) against every other head this client knows for that count. */
  private witness(count: number, head: string): void {
    this.ctx.fresh!.witness(count, head);
    this.checkLive();
  }

  /** FailStopError, for good, once this client has seen two authentic heads for one count (its own answers' or its peers'). */
  private checkLive(): void {
    const conflict = this.ctx.fresh!.conflict;
    if (conflict !== null) throw new FailStopError(`KV client fail-stopped: ${conflict}`);
  }

  /** The value, or null (and lastOpenError) if it fails verification. */
  private open(id: string, sealId: number, tag: string, loc: number, len: number): Buffer | null {
    try {
      return this.ctx.cipher.open(id, sealId, tag, this.ctx.arena.bytes, loc, len);
    } catch (e) {
      if (!(e instanceof IntegrityError)) throw e;
      this.lastOpenError = e;
      return null;
    }
  }

  private waitOrStale(deadline: number): void {
    const f = this.ctx.fresh!;
    if (performance.now() >= deadline) throw new KvStaleError(this.lastAnswerCount, f.learned, f.staleMs);
    Atomics.wait(this.sleep, 0, 0, 1);
    f.poll(true);
  }

  // ---- writes --------------------------------------------------------------------

  /** Store `value` under `key`; returns its new version. */
  put(key: KvKey, value: KvValue): number {
    return this.write([{ type: 'put', key, value }], null).versions[0]!;
  }

  /** put, pipelined; puts, deletes and gets made in one turn share one record (client-window.ts). */
  putAsync(key: KvKey, value: KvValue): Promise<number> {
    try {
      return this.windowWrite(key, value);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Remove `key`. */
  delete(key: KvKey): void {
    this.write([{ type: 'delete', key }], null);
  }

  async deleteAsync(key: KvKey): Promise<void> {
    await this.windowWrite(key, null);
  }

  /**
   * Seal one put (or a delete: `value` null) now; the window sends it with
   * the turn's other ops. The same checks, in the same order, as a batch of
   * one (seal), without a batch's arrays.
   */
  private windowWrite(key: KvKey, value: KvValue | null): Promise<number> {
    this.checkWritable();
    const id = keyIdOf(key, this.limits.maxKey);
    if (value === null) return this.window.write(deleteItem(id));
    const v = valueBytes(value, this.limits.maxValue);
    return this.window.write(sealPut(id, v, this.ctx.cipher, this.ctx.arena, this.alloc, this.release));
  }

  /** Blocks for this client's values, each noted in its block table (ArenaFullError: clients cannot reclaim; their nodes do). */
  private readonly alloc = (stored: number): number => this.blocks.allocate(stored, this.arenaAlloc);
  private readonly arenaAlloc = (stored: number): number => this.ctx.arena.alloc(stored);
  /** Give back a block nothing references: forgotten by the table first (a kill in between leaks it rather than have a sweep free it twice). */
  private readonly release = (loc: number, stored: number): void => {
    this.blocks.settle([loc, stored]);
    this.ctx.arena.free(loc, stored);
  };

  /** Nothing may be written (allocated, sealed, sent) by a closed or stopped client. */
  private checkWritable(): void {
    if (this.closed) throw new DetachedError('KV client is closed');
    this.checkLive(); // before allocating: a stopped client writes nothing
  }

  /** Apply puts and deletes atomically (one log record); returns each op's new version (0 for deletes). */
  batch(ops: readonly BatchOp[]): number[] {
    checkBatchFields(ops);
    return this.write(ops, null).versions;
  }

  async batchAsync(ops: readonly BatchOp[]): Promise<number[]> {
    checkBatchFields(ops);
    return (await this.writeAsync(ops, null)).versions;
  }

  /**
   * Write `value` only if the key's current state matches `expected`: a
   * version number, a value, or undefined (absent). By value, the current
   * entry is read (verified here) and the write logged on its version,
   * retried if another writer won (KvContentionError after 1000 lost races).
   */
  compareAndSet(key: KvKey, expected: number | KvValue | undefined, value: KvValue): CasResult {
    if (typeof expected === 'number') return casResult(this.write([{ type: 'put', key, value }], versionCond(key, expected, this.limits.maxKey)));
    const { id, want } = this.casArgs(key, expected, value);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const cur = this.entry(id);
      if (!matches(cur.value, want)) return { ok: false, version: cur.version, value: cur.value };
      const ans = this.write([{ type: 'put', key, value }], { key: id, version: cur.version });
      if (ans.ok) return casResult(ans);
    }
    throw new KvContentionError(displayKey(id), CAS_ATTEMPTS);
  }

  async compareAndSetAsync(key: KvKey, expected: number | KvValue | undefined, value: KvValue): Promise<CasResult> {
    if (typeof expected === 'number') return casResult(await this.writeAsync([{ type: 'put', key, value }], versionCond(key, expected, this.limits.maxKey)));
    const { id, want } = this.casArgs(key, expected, value);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const cur = await this.entryAsync(id);
      if (!matches(cur.value, want)) return { ok: false, version: cur.version, value: cur.value };
      const ans = await this.writeAsync([{ type: 'put', key, value }], { key: id, version: cur.version });
      if (ans.ok) return casResult(ans);
    }
    throw new KvContentionError(displayKey(id), CAS_ATTEMPTS);
  }

  private casArgs(key: KvKey, expected: KvValue | undefined, value: KvValue): { id: string; want: Uint8Array | undefined } {
    const id = keyIdOf(key, this.limits.maxKey);
    const want = expected === undefined ? undefined : valueBytes(expected, this.limits.maxValue);
    valueBytes(value, this.limits.maxValue);
    return { id, want };
  }

  private write(ops: readonly BatchOp[], cond: { key: string; version: number } | null): ClientWriteAnswer {
    const { items, blocks } = this.seal(ops);
    this.window.flush(); // async ops made before it go first (and take their sequence numbers first)
    const rec = this.record(items, cond);
    let ans: ClientWriteAnswer;
    try {
      ans = this.client.write('apply', rec) as unknown as ClientWriteAnswer;
    } catch (e) {
      this.afterFailedWrite(e, blocks);
      throw e;
    }
    return this.check(rec, ans, blocks);
  }

  private async writeAsync(ops: readonly BatchOp[], cond: { key: string; version: number } | null): Promise<ClientWriteAnswer> {
    const { items, blocks } = this.seal(ops);
    // The record (its sequence number) is made when it is sent, in order with the window's.
    let rec: LogRecord | null = null;
    let ans: ClientWriteAnswer;
    try {
      ans = (await this.window.defer(() => {
        rec = this.record(items, cond);
        return this.client.writeAsync('apply', rec);
      })) as unknown as ClientWriteAnswer;
    } catch (e) {
      this.afterFailedWrite(e, blocks);
      throw e;
    }
    return this.check(rec!, ans, blocks);
  }

  /** Validate and seal the values into fresh arena blocks (this thread's key). */
  private seal(ops: readonly BatchOp[]): { items: LogItem[]; blocks: number[] } {
    this.checkWritable();
    return sealItems(ops, this.limits, this.ctx.cipher, this.ctx.arena, this.alloc, this.release);
  }

  /** The record of `items`, with this client's next sequence number and its current known point (made when sent, so sequences follow the send order). */
  private record(items: LogItem[], cond: { key: string; version: number } | null): LogRecord {
    this.ctx.fresh!.poll();
    this.checkLive();
    const rec = newRecord(this.writer, ++this.seq, this.ctx.applied, items, cond);
    this.blocks.inRecord(items, rec.seq); // before it is sent: a sweep must not free what it may log
    return rec;
  }

  /** Not logged: nothing references the blocks. Otherwise they may be referenced and leak instead. */
  private afterFailedWrite(e: unknown, blocks: number[]): void {
    if (neverSent(e)) this.freeNow(blocks);
  }

  private freeNow(blocks: number[]): void {
    this.blocks.settle(blocks);
    for (let i = 0; i < blocks.length; i += 2) this.ctx.arena.free(blocks[i]!, blocks[i + 1]!);
  }

  /** The node's answer must be authentic and name this record (writer, sequence, one version per item). */
  private check(rec: LogRecord, ans: ClientWriteAnswer, blocks: number[]): ClientWriteAnswer {
    if (!ans.authentic || ans.writer !== this.writer || ans.seq !== rec.seq || (ans.ok && ans.versions.length !== rec.items.length)) {
      throw new IntegrityError('the node\'s answer to a write failed authentication (tampered in the client slot)', displayKey(rec.items[0]?.key ?? ''));
    }
    // A failed condition changed nothing on any replica: nothing references the new blocks. Else the log does.
    if (!ans.ok) this.freeNow(blocks);
    else this.blocks.settle(blocks);
    this.witness(ans.count, ans.head);
    this.learn(ans.count, ans.head);
    this.ctx.fresh!.announce(ans.count, ans.head);
    return ans;
  }

  /** A verified chain position: the newest one is this client's known point for its next record. */
  private learn(count: number, head: string): void {
    if (count > this.ctx.applied.count) this.ctx.applied = { count, head };
  }

  /** Give the client slot back, send a last head announcement and zero this thread's sub-keys. */
  close(): void {
    if (this.closed) return;
    this.window.flush(); // what was made before close is sent, and answered before the slot goes back
    this.closed = true;
    try {
      this.client.close();
    } finally {
      this.blocks.detach(); // puts still unsettled (in doubt) are left for a replica's sweep
      this.ctx.fresh!.close();
      this.ctx.cipher.zero();
    }
  }
}

function casResult(ans: ClientWriteAnswer): CasResult {
  return ans.ok ? { ok: true, version: ans.versions[0]! } : { ok: false, version: ans.current };
}
