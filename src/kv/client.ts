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
 * Displaced blocks of a client's write are reclaimed by the node that
 * appended it. Clients offer get/put/delete; scans, batches and CAS are for
 * replica holders (attachKv).
 */
import sodium from 'sodium-native';
import { BackpressureError, type Client, connect, type ConnectOptions, DetachedError, EncodeError, OpTooLargeError } from '../nr/index.js';
import { Arena } from './arena.js';
import { randomWriterId, sameBytes, TAG_BYTES } from './crypto.js';
import { IntegrityError, KvConfigError, KvStaleError } from './errors.js';
import { Freshness } from './freshness.js';
import { checkAttachOptions, checkHandle, cipherFor, keyIdOf, type KvAttachOptions, type KvHandle, type KvKey, type KvValue, MAX_KEY_BYTES, MAX_VALUE_BYTES, valueBytes } from './store.js';
import { answerMac, type ClientWriteAnswer, DELETE, kvStructure, type KvStructure, type LogRecord, PUT, SEALED_FIELDS, SEALED_LABEL, type StoreContext, displayKey } from './structure.js';

export interface KvConnectOptions extends Omit<KvAttachOptions, 'replica'> {
  /** Options of the NR client (node, timeoutMs). */
  client?: ConnectOptions;
}

const CONNECT_OPTIONS = new Set(['key', 'passphrase', 'maxPwhash', 'peer', 'staleMs', 'announceMs', 'client']);
const NONCE_BYTES = 16;
/** answer(): the node is behind a head this client learned (versions are >= 4096, so -2 is no version). */
const STALE = -2;

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
  try {
    fresh = new Freshness(options.peer, cipher, announceMs, staleMs);
    const ctx: StoreContext = { cipher, arena: new Arena(handle.header, handle.arena), fresh, applied: { count: 0, head: '' } };
    const structure = kvStructure(ctx);
    const client = connect(handle.nr, structure, options.client ?? {});
    return new KvClient(client as unknown as KvNrClient, ctx, Math.min(MAX_KEY_BYTES, handle.maxKeyBytes), Math.min(MAX_VALUE_BYTES, handle.maxValueBytes));
  } catch (e) {
    fresh?.close();
    cipher.zero();
    throw e;
  }
}

/**
 * Errors after which the write surely never reached the log, so its block
 * is free to reuse. After any other (a node gone, a timeout) the record may
 * have been appended and applied: the block leaks rather than be reused
 * under a live reference.
 */
function neverSent(e: unknown): boolean {
  return e instanceof EncodeError || e instanceof OpTooLargeError || e instanceof BackpressureError || e instanceof DetachedError;
}

export class KvClient {
  private readonly writer = randomWriterId();
  private seq = 0;
  private readonly nonces = Buffer.alloc(NONCE_BYTES * 256);
  private nonceAt = this.nonces.length;
  private readonly sleep = new Int32Array(new SharedArrayBuffer(4));
  private closed = false;

  /** @internal use connectKv */
  constructor(
    private readonly client: KvNrClient,
    private readonly ctx: StoreContext,
    private readonly maxKey: number,
    private readonly maxValue: number,
  ) {}

  /** The value (decrypted and verified in this thread), or undefined. */
  get(key: KvKey): Buffer | undefined {
    const id = keyIdOf(key, this.maxKey);
    const f = this.ctx.fresh!;
    f.poll();
    const deadline = performance.now() + f.staleMs;
    for (let seen = -1; ; ) {
      const nonce = this.nonce();
      const r = this.answer(id, nonce, this.client.read('sealed', id, nonce), seen);
      if (typeof r !== 'number') return r;
      if (r === STALE) this.waitOrStale(deadline);
      else seen = r;
    }
  }

  /** get, pipelined: many may be in flight on one client. */
  async getAsync(key: KvKey): Promise<Buffer | undefined> {
    const id = keyIdOf(key, this.maxKey);
    const f = this.ctx.fresh!;
    f.poll();
    const deadline = performance.now() + f.staleMs;
    for (let seen = -1; ; ) {
      const nonce = this.nonce();
      const r = this.answer(id, nonce, await this.deferred(() => this.client.readAsync('sealed', id, nonce)), seen);
      if (typeof r !== 'number') return r;
      if (r === STALE) this.waitOrStale(deadline);
      else seen = r;
    }
  }

  /**
   * Send an async request once this turn's microtasks have run (setImmediate),
   * together with every other request made meanwhile: the sealing and
   * encoding work is done first, then the requests go out back to back, so
   * the node's first wake-up finds the whole window (not one op per round).
   * A microtask would be too early: answers consumed in one wake-up resolve
   * through several promise hops each, and the first op re-issued would
   * send before the others had been made, costing the node a round (and a
   * wake-up on each side) per few ops.
   */
  private deferred<T>(send: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.outbox.push(() => send().then(resolve, reject));
      if (this.outbox.length === 1) setImmediate(this.flushOutbox);
    });
  }

  private outbox: (() => void)[] = [];
  private readonly flushOutbox = (): void => {
    const q = this.outbox;
    this.outbox = [];
    for (const send of q) send();
  };

  private waitOrStale(deadline: number): void {
    const f = this.ctx.fresh!;
    if (performance.now() >= deadline) throw new KvStaleError(this.lastAnswerCount, f.learned, f.staleMs);
    Atomics.wait(this.sleep, 0, 0, 1);
    f.poll(true);
  }

  private lastAnswerCount = 0;

  /**
   * Verify a node's answer for (key, nonce) and open the value. STALE: the
   * node is behind what this client learned. A version number: the value
   * failed to open, which a block reclaimed (and reused) between the answer
   * and the open also causes: ask again; if the node answers the same
   * version again and it still fails, it is reported.
   */
  private answer(id: string, nonce: string, ans: Buffer, seen: number): Buffer | undefined | number {
    if (!(ans instanceof Buffer) || ans.length !== SEALED_FIELDS + 16 || !sameBytes(ans.subarray(SEALED_FIELDS), answerMac(this.ctx.cipher, SEALED_LABEL, nonce, id, ans.subarray(0, SEALED_FIELDS)))) {
      throw new IntegrityError('the node\'s answer failed authentication (tampered in the client slot)', displayKey(id));
    }
    const count = ans.readDoubleLE(41);
    this.lastAnswerCount = count;
    this.learn(count, ans.toString('latin1', 49, 49 + TAG_BYTES));
    if (count < this.ctx.fresh!.learned) return STALE;
    if (ans[0] === 0) return undefined;
    const version = ans.readDoubleLE(1);
    const sealId = ans.readDoubleLE(9);
    const loc = ans.readUInt32LE(17);
    const len = ans.readUInt32LE(21);
    try {
      return this.ctx.cipher.open(id, sealId, ans.toString('latin1', 25, 25 + TAG_BYTES), this.ctx.arena.bytes, loc, len);
    } catch (e) {
      if (!(e instanceof IntegrityError) || version === seen) throw e;
      return version;
    }
  }

  getString(key: KvKey): string | undefined {
    return this.get(key)?.toString('utf8');
  }

  /** Store `value` under `key`; returns its new version. */
  put(key: KvKey, value: KvValue): number {
    const { rec, unused } = this.preparePut(key, value);
    return this.check(rec, this.send(rec, unused, () => this.client.write('apply', rec) as unknown as ClientWriteAnswer)).versions[0]!;
  }

  /** put, pipelined. */
  async putAsync(key: KvKey, value: KvValue): Promise<number> {
    const { rec, unused } = this.preparePut(key, value);
    let ans: ClientWriteAnswer;
    try {
      ans = (await this.deferred(() => this.client.writeAsync('apply', rec))) as unknown as ClientWriteAnswer;
    } catch (e) {
      if (neverSent(e)) unused();
      throw e;
    }
    return this.check(rec, ans).versions[0]!;
  }

  /** Remove `key`. */
  delete(key: KvKey): void {
    const rec = this.record({ op: DELETE, key: keyIdOf(key, this.maxKey), sealId: 0, loc: 0, len: 0, tag: '' });
    this.check(rec, this.send(rec, () => {}, () => this.client.write('apply', rec) as unknown as ClientWriteAnswer));
  }

  /** Seal the value into a fresh arena block (this thread's key) and build the record that references it. */
  private preparePut(key: KvKey, value: KvValue): { rec: LogRecord; unused: () => void } {
    const id = keyIdOf(key, this.maxKey);
    const v = valueBytes(value, this.maxValue);
    const arena = this.ctx.arena;
    const stored = this.ctx.cipher.storedBytes(v.length);
    const loc = arena.alloc(stored); // ArenaFullError: clients cannot reclaim; their nodes do
    const sealId = arena.nextVersion();
    const tag = this.ctx.cipher.seal(id, sealId, v, arena.bytes, loc);
    return { rec: this.record({ op: PUT, key: id, sealId, loc, len: v.length, tag }), unused: () => arena.free(loc, stored) };
  }

  /** Give the client slot back, send a last head announcement and zero this thread's sub-keys. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.client.close();
    } finally {
      this.ctx.fresh!.close();
      this.ctx.cipher.zero();
    }
  }

  private record(item: LogRecord['items'][number]): LogRecord {
    this.ctx.fresh!.poll();
    return {
      fromLog: false,
      bad: null,
      writer: this.writer,
      seq: ++this.seq,
      knownCount: this.ctx.applied.count,
      knownHead: this.ctx.applied.head,
      auth: '',
      cond: 0,
      condKey: '',
      condVersion: 0,
      items: [item],
    };
  }

  private send(rec: LogRecord, unused: () => void, write: () => ClientWriteAnswer): ClientWriteAnswer {
    try {
      return write();
    } catch (e) {
      if (neverSent(e)) unused(); // not logged: nothing references the block
      throw e;
    }
  }

  /** The node's answer must be authentic and name this record (writer, sequence). */
  private check(rec: LogRecord, ans: ClientWriteAnswer): ClientWriteAnswer {
    if (!ans.authentic || ans.writer !== this.writer || ans.seq !== rec.seq || ans.versions.length !== 1) {
      throw new IntegrityError('the node\'s answer to a write failed authentication (tampered in the client slot)', displayKey(rec.items[0]!.key));
    }
    this.learn(ans.count, ans.head);
    this.ctx.fresh!.announce(ans.count, ans.head);
    return ans;
  }

  /** A verified chain position: the newest one is this client's known point for its next record. */
  private learn(count: number, head: string): void {
    if (count > this.ctx.applied.count) this.ctx.applied = { count, head };
  }

  private nonce(): string {
    if (this.nonceAt === this.nonces.length) {
      sodium.randombytes_buf(this.nonces);
      this.nonceAt = 0;
    }
    const n = this.nonces.toString('latin1', this.nonceAt, this.nonceAt + NONCE_BYTES);
    this.nonceAt += NONCE_BYTES;
    return n;
  }
}
