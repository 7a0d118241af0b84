/**
 * The secure KV on a cluster (docs/kv.md "On a cluster"): a store whose
 * log is a JetStream stream, replicated at every site by
 * node-replication/cluster, with the KV's store identity and
 * authenticated chain over the stream's records.
 *
 * - `createKvStream({ servers, stream, key })`, once, and
 *   `createKvSite({ servers, stream, key, store, ... })` in a site
 *   process's main thread: site-setup.ts;
 * - `attachKvSite(data, { key })`, in each replica worker: the KvSite API
 *   (get, put, delete, compareAndSet, batch, scan, size), every call async.
 *
 * A KvSite has at most STREAM_WRITER_WINDOW (8) records in flight; the
 * puts and deletes issued while that many are out are combined into the
 * next (one record, one publish). Every record says up to which of its own
 * sequences its writer had applied, and a writer's record is sealed only
 * once every one of its records that many below has resolved, which the
 * chain check relies on (stream-structure.ts). A write that fails retires
 * the writer id: later records use a new one, so the failed record, if it
 * is stored after all, never leaves a hole the check would count as a drop.
 */
// The cluster's modules, not its index (which re-exports this one).
import type { Consistency } from '../cluster/defaults.js';
import { ResultLostError } from '../cluster/errors.js';
import { attachSite, type ClusterReplica, type ClusterStats } from '../cluster/replica.js';
import { FailStopError } from '../nr/index.js';
import { type Cipher, randomWriterId } from './crypto.js';
import { KvConfigError, KvContentionError, KvTypeError } from './errors.js';
import { CAS_ATTEMPTS, type BatchOp, type CasResult, checkBatchFields, keyIdOf, type KvKey, type KvValue, matches, MAX_BATCH_ITEMS, scanArgs, type ScanOptions, valueBytes } from './issue.js';
import { DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_VALUE_BYTES, refuseNullOptions } from './handle.js';
import type { KvEntry } from './enclave.js';
import { checkKey, type KvSiteReplicaData } from './site-setup.js';
import { checkStreamParams, OP_DELETE, OP_PUT, recordAd, sealRecord, type StreamItem } from './stream-record.js';
import { type KvRecordResult, type KvStreamReads, type KvStreamState, type KvStreamWrites, kvStreamStructureFor, STREAM_WRITER_WINDOW, structureCipher } from './stream-structure.js';

export { createKvStream, createKvSite, type KvStreamOptions, type KvSiteOptions, type KvSiteReplicaData, type KvSiteHandle } from './site-setup.js';
export type { KvStreamParams } from './stream-record.js';

/** Simple ops combined into one record stop at about this many body bytes (a record that large goes alone). */
const COMBINE_BYTES = 64 * 1024;
/** A record's bytes in its message beyond its items: envelope and op headers, nonce, tag, fixed fields, padding. */
const RECORD_OVERHEAD_BYTES = 256;

export interface KvSiteAttachOptions {
  key: Uint8Array;
  /** Default consistency of this handle's reads (default: the site's). */
  consistency?: Consistency;
  maxKeyBytes?: number;
  maxValueBytes?: number;
}
const ATTACH_KEYS = new Set(['key', 'consistency', 'maxKeyBytes', 'maxValueBytes']);

/** Per-call read options. */
export interface KvSiteReadOptions {
  consistency?: Consistency;
}

export interface KvSiteStats extends ClusterStats {
  /** This handle's current writer id and the sequence of its last record. */
  writer: number;
  writerSeq: number;
  recordsWritten: number;
  /** Writer ids retired after a write whose fate was unknown. */
  writersRetired: number;
}

interface Job {
  readonly items: StreamItem[];
  readonly cond: { key: string; version: number } | null;
  readonly bytes: number;
  /** Each simple op's share of the record: its first item and count; a batch or CAS job has one. */
  readonly parts: { at: number; n: number; resolve: (r: KvRecordResult, at: number, n: number) => void; reject: (e: unknown) => void }[];
  readonly combinable: boolean;
}

type KvReplica = ClusterReplica<KvStreamState, KvStreamReads, KvStreamWrites>;

export class KvSite {
  private readonly replica: KvReplica;
  private readonly cipher: Cipher;
  private readonly ad: Uint8Array;
  private readonly maxKey: number;
  private readonly maxValue: number;
  /** Combined records stop here: COMBINE_BYTES, or less on a site whose batches are smaller (its logBytes). */
  private readonly combineBytes: number;
  private writer = randomWriterId();
  private seq = 0;
  private queue: Job[] = [];
  /** Records sent and not yet resolved / a send scheduled for this microtask. */
  private inFlight = 0;
  private scheduled = false;
  /** The current writer id's sequences sent and not yet resolved (a new set when the id is retired). */
  private unresolved = new Set<number>();
  private failed: Error | null = null;
  private detached = false;
  private readonly counters = { recordsWritten: 0, writersRetired: 0 };

  constructor(data: KvSiteReplicaData, options: KvSiteAttachOptions) {
    if (data === null || typeof data !== 'object' || data.kind !== 'nr-kv-site') throw new KvConfigError('attachKvSite needs the data of a KV site\'s replicaData()');
    if (options === null || typeof options !== 'object') throw new KvConfigError('attachKvSite needs { key }');
    for (const k of Object.keys(options)) if (!ATTACH_KEYS.has(k)) throw new KvConfigError(`attachKvSite: unknown option '${k}' (known: ${[...ATTACH_KEYS].join(', ')})`);
    refuseNullOptions('attachKvSite', options);
    const store = checkStreamParams(data.store);
    this.maxKey = limit('maxKeyBytes', options.maxKeyBytes, DEFAULT_MAX_KEY_BYTES, 65535);
    this.maxValue = limit('maxValueBytes', options.maxValueBytes, DEFAULT_MAX_VALUE_BYTES, 1024 * 1024);
    const structure = kvStreamStructureFor({ key: checkKey(options.key), store });
    this.cipher = structureCipher(structure);
    this.ad = recordAd(store.storeId);
    this.combineBytes = Math.max(0, Math.min(COMBINE_BYTES, data.site.maxBatchBytes - RECORD_OVERHEAD_BYTES));
    this.replica = attachSite(data.site, structure, options.consistency === undefined ? {} : { consistency: options.consistency });
  }

  // ---- reads ---------------------------------------------------------------

  private read<K extends keyof KvStreamReads & string>(o: KvSiteReadOptions | undefined, name: K, ...args: Parameters<KvStreamReads[K]> extends [unknown, ...infer A] ? A : never): Promise<ReturnType<KvStreamReads[K]>> {
    if (this.failed) return Promise.reject(this.failed);
    if (o !== undefined && (o === null || typeof o !== 'object' || Object.keys(o).some((k) => k !== 'consistency'))) return Promise.reject(new KvTypeError('read options are { consistency }'));
    const c = o?.consistency ?? this.replica.consistency;
    return (this.replica.readWith as (c: Consistency, n: string, ...a: unknown[]) => Promise<ReturnType<KvStreamReads[K]>>)(c, name, ...args);
  }

  /** The value of `key`, or undefined (linearizable unless the handle or `o` says sequential). */
  async get(key: KvKey, o?: KvSiteReadOptions): Promise<Buffer | undefined> {
    const e = await this.read(o, 'entry', keyIdOf(key, this.maxKey));
    return e === undefined ? undefined : Buffer.from(e.value);
  }

  async getString(key: KvKey, o?: KvSiteReadOptions): Promise<string | undefined> {
    return (await this.get(key, o))?.toString('utf8');
  }

  /** The key's version (0: absent). */
  async version(key: KvKey, o?: KvSiteReadOptions): Promise<number> {
    return (await this.read(o, 'entry', keyIdOf(key, this.maxKey)))?.version ?? 0;
  }

  /** Entries in key byte order, as the local store's scan (one state: the scan is one local read). */
  async scan(options: ScanOptions = {}, o?: KvSiteReadOptions): Promise<KvEntry[]> {
    const a = scanArgs(options, this.maxKey);
    const rows = await this.read(o, 'scan', a.start, a.end, a.limit);
    return rows.map(([k, e]) => ({ key: Buffer.from(k, 'latin1'), value: Buffer.from(e.value), version: e.version }));
  }

  async size(o?: KvSiteReadOptions): Promise<number> {
    return (await this.read(o, 'info')).size;
  }

  // ---- writes --------------------------------------------------------------

  /** Write `value` under `key`; resolves with its version. Bad input rejects (KvTypeError, KvSizeError) before anything is sent. */
  async put(key: KvKey, value: KvValue): Promise<number> {
    const k = keyIdOf(key, this.maxKey);
    const v = valueBytes(value, this.maxValue);
    return this.simple({ op: OP_PUT, key: k, value: v }, 7 + k.length + v.length).then((r) => r[0]!);
  }

  /** Delete `key`; resolves with whether it was present. */
  async delete(key: KvKey): Promise<boolean> {
    const k = keyIdOf(key, this.maxKey);
    return this.simple({ op: OP_DELETE, key: k }, 3 + k.length).then((r) => r[0]! !== 0);
  }

  /** Puts and deletes applied together (one record); resolves with each op's version (a delete's: the one it removed, 0 if absent). */
  async batch(ops: readonly BatchOp[]): Promise<number[]> {
    checkBatchFields(ops);
    if (!Array.isArray(ops) || ops.length === 0 || ops.length > MAX_BATCH_ITEMS) throw new KvTypeError(`a batch is an array of 1 to ${MAX_BATCH_ITEMS} ops`);
    let bytes = 0;
    const items = ops.map((op): StreamItem => {
      if (op === null || typeof op !== 'object' || (op.type !== 'put' && op.type !== 'delete')) throw new KvTypeError("a batch op is { type: 'put', key, value } or { type: 'delete', key }");
      const key = keyIdOf(op.key, this.maxKey);
      if (op.type === 'delete') {
        bytes += 3 + key.length;
        return { op: OP_DELETE, key };
      }
      const value = valueBytes(op.value, this.maxValue);
      bytes += 7 + key.length + value.length;
      return { op: OP_PUT, key, value };
    });
    return this.job(items, null, bytes).then((r) => r.versions);
  }

  /**
   * Write `value` if `key` is as expected: a version number (0: absent), or
   * the current value (undefined: absent). By value, the current entry is
   * read (linearizable) and a compare by its version is logged, again if
   * another writer won in between (KvContentionError after 1000 lost races).
   */
  async compareAndSet(key: KvKey, expected: number | KvValue | undefined, value: KvValue): Promise<CasResult> {
    const k = keyIdOf(key, this.maxKey);
    const v = valueBytes(value, this.maxValue);
    const item: StreamItem = { op: OP_PUT, key: k, value: v };
    if (typeof expected === 'number') {
      if (!Number.isSafeInteger(expected) || expected < 0) throw new KvTypeError('expected version must be a non-negative safe integer');
      const r = await this.job([item], { key: k, version: expected }, 15 + 2 * k.length + v.length);
      return r.ok ? { ok: true, version: r.versions[0]! } : { ok: false, version: r.current };
    }
    const want = expected === undefined ? undefined : valueBytes(expected, this.maxValue);
    for (let i = 0; i < CAS_ATTEMPTS; i++) {
      const cur = await this.read(undefined, 'entry', k);
      const curValue = cur === undefined ? undefined : Buffer.from(cur.value);
      if (!matches(curValue, want)) return { ok: false, version: cur?.version ?? 0, value: curValue };
      const r = await this.job([item], { key: k, version: cur?.version ?? 0 }, 15 + 2 * k.length + v.length);
      if (r.ok) return { ok: true, version: r.versions[0]! };
    }
    throw new KvContentionError(displayKey(k), CAS_ATTEMPTS);
  }

  /** One put or delete, combined with the others issued while a record is in flight. */
  private simple(item: StreamItem, bytes: number): Promise<number[]> {
    return new Promise((resolve, reject) => {
      if (this.failed) throw this.failed;
      const last = this.queue[this.queue.length - 1];
      const part = { at: 0, n: 1, resolve: (r: KvRecordResult, at: number, n: number) => resolve(r.versions.slice(at, at + n)), reject };
      if (last !== undefined && last.combinable && last.bytes + bytes <= this.combineBytes && last.items.length < MAX_BATCH_ITEMS) {
        part.at = last.items.length;
        last.items.push(item);
        (last as { bytes: number }).bytes += bytes;
        last.parts.push(part);
      } else this.queue.push({ items: [item], cond: null, bytes, parts: [part], combinable: true });
      this.pump();
    });
  }

  private job(items: StreamItem[], cond: Job['cond'], bytes: number): Promise<KvRecordResult> {
    return new Promise((resolve, reject) => {
      if (this.failed) throw this.failed;
      this.queue.push({ items, cond, bytes, parts: [{ at: 0, n: items.length, resolve: (r) => resolve(r), reject }], combinable: false });
      this.pump();
    });
  }

  /**
   * Whether the next record may be sealed: fewer than the window in flight, and every record of this writer id
   * a window or more below it resolved (the apply's check counts a hole that old as a drop, stream-structure.ts).
   */
  private maySend(): boolean {
    if (this.inFlight >= STREAM_WRITER_WINDOW) return false;
    let lowest = Infinity;
    for (const s of this.unresolved) lowest = Math.min(lowest, s);
    return this.seq + 1 - lowest < STREAM_WRITER_WINDOW;
  }

  /** Send queued records while the window allows (after this microtask, so the puts of one turn share one). */
  private pump(): void {
    if (this.scheduled || this.queue.length === 0 || !this.maySend()) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      while (this.queue.length > 0 && this.maySend()) void this.send(this.queue.shift()!);
    });
  }

  private async send(job: Job): Promise<void> {
    this.inFlight++;
    const writer = this.writer;
    const seq = ++this.seq;
    const unresolved = this.unresolved;
    unresolved.add(seq);
    let result: KvRecordResult | undefined;
    let error: unknown;
    try {
      if (this.failed) throw this.failed;
      const info = this.replica.readLocal('info');
      const ownAck = this.replica.readLocal('writerAck', writer);
      const sealed = sealRecord(this.cipher, this.ad, { writer, seq, ownAck, knownCount: info.count, knownHead: info.head, cond: job.cond, items: job.items });
      result = await this.replica.write('record', sealed);
      if (result.failed !== null) throw new FailStopError(`the KV stream failed verification: ${result.failed}`);
      if (result.writer !== writer || result.seq !== seq) throw this.stop(new FailStopError(`the result handed to this writer is not its record's (writer ${result.writer} seq ${result.seq}, not ${writer} seq ${seq}): the stream's framing was changed`));
      this.counters.recordsWritten++;
    } catch (e) {
      error = this.afterFailure(e, writer, seq);
    }
    unresolved.delete(seq);
    for (const p of job.parts) {
      if (result !== undefined && error === undefined) p.resolve(result, p.at, p.n);
      else p.reject(error);
    }
    this.inFlight--;
    this.pump();
  }

  /** What a failed write means for this writer: the error its callers get. */
  private afterFailure(e: unknown, writer: number, seq: number): unknown {
    if (e instanceof FailStopError) return this.stop(e);
    if (e instanceof ResultLostError) {
      // The stream says it stored the record and this replica passed that sequence: a snapshot install past it is
      // the only honest way. Then the writer's sequence in the state holds it; if not, the stream lost an acknowledged record.
      let applied = false;
      try {
        applied = this.replica.readLocal('writerApplied', writer, seq);
      } catch (err) {
        return this.stop(err as Error);
      }
      if (!applied) return this.stop(new FailStopError(`the stream acknowledged this writer's record ${seq} but the state does not hold it: an acknowledged record was dropped`));
      return e;
    }
    // Its fate may be unknown (stored later, or never): a new writer id for the records after it.
    if (writer !== this.writer) return e; // retired already
    this.writer = randomWriterId();
    this.seq = 0;
    this.unresolved = new Set();
    this.counters.writersRetired++;
    return e;
  }

  private stop(e: Error): Error {
    this.failed ??= e;
    return this.failed;
  }

  // ---- state ---------------------------------------------------------------

  /** Resolves once this replica holds everything the stream held when sync() was called. */
  sync(): Promise<number> {
    return this.replica.sync();
  }

  /** Equal on replicas that applied the same records: `skipped:count:head:size:failure`. */
  digest(): string {
    return this.replica.digest();
  }

  /** Why this replica's state failed verification, or null. */
  failure(): string | null {
    return this.replica.readLocal('failure');
  }

  stats(): KvSiteStats {
    return { ...this.replica.stats(), writer: this.writer, writerSeq: this.seq, ...this.counters };
  }

  /** Leave; zeroes this thread's sub-keys of the store (its replica's apply used them too). */
  detach(): void {
    if (this.detached) return;
    this.detached = true;
    this.replica.detach();
    this.cipher.zero();
    const e = new KvConfigError('this KV site handle is detached');
    this.failed ??= e;
    for (const j of this.queue.splice(0)) for (const p of j.parts) p.reject(e);
  }
}

function limit(name: string, v: unknown, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new KvConfigError(`${name} must be an integer from 1 to ${max}`);
  return v;
}

function displayKey(id: string): string {
  return Buffer.from(id, 'latin1').toString('utf8');
}

export function attachKvSite(data: KvSiteReplicaData, options: KvSiteAttachOptions): KvSite {
  return new KvSite(data, options);
}
