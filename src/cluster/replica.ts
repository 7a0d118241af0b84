/**
 * A replica worker's view of a clustered structure: `attachSite()` attaches
 * an NR replica of the site's local log and talks to the bridge over its
 * MessagePort.
 *
 * - write: ops queued in one microtask become one batch (one message); the
 *   caller gets what this replica's apply returned when it reached that
 *   message (site-structure.ts hands the results over).
 * - linearizable read: one read-index request per window (reads queued
 *   while one is in flight share the next); when the bridge answers, the
 *   local log holds the stream's tail as of after the reads began: replay
 *   to it, read locally (read-windows.ts).
 * - sequential read: the local replica as it is (monotonic; lag in stats()).
 */
import { randomInt } from 'node:crypto';
import { attach, OpWriter, type OpArgs, type OpResult, type OpTable, type Replica, type ReplicaStats, type Structure } from '../nr/index.js';
import { type Consistency } from './defaults.js';
import { CLUSTER_LIMITS } from './defaults.js';
import { ClusterConfigError, ClusterUnavailableError, clusterErrorFrom, ResultLostError, SiteClosedError } from './errors.js';
import { encodeEnvelope, messageId } from './envelope.js';
import { Positions } from './positions.js';
import type { SiteReplicaData } from './site.js';
import { listen, type OpOutcome, POSITION_READ, type SiteState, type SiteStructure, siteStructure, unlisten, userWriteOps, type UserWriteOp } from './site-structure.js';
import { ReadWindows } from './read-windows.js';
import type { FromBridge, ToBridge } from './wire.js';
import { checkKnown } from './stream.js';

interface PendingOp {
  readonly opId: number;
  readonly args: readonly unknown[];
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}
interface Batch {
  readonly ops: PendingOp[];
  readonly timer: NodeJS.Timeout;
}
export interface ClusterStats extends ReplicaStats {
  /** Stream sequence this replica has applied. */
  position: number;
  /** Highest stream sequence the site's bridge knows exists. */
  streamKnown: number;
  /** streamKnown - position: how far a sequential read may be behind (as far as the site knows). */
  lag: number;
  bridgeConnected: boolean;
  /** Stream sequence of the last snapshot this site installed (joining, or after falling behind the stream's retention); 0: none. */
  snapshotInstalledAt: number;
  /** Snapshots this site's bridge stored in the snapshot stream. */
  snapshotsStored: number;
  batchesPublished: number;
  opsPublished: number;
  readWindows: number;
  linearizableReads: number;
  sequentialReads: number;
}

export interface AttachSiteOptions {
  /** Default consistency of this handle's reads (default: the site's). */
  consistency?: Consistency;
}

type SiteReplica = Replica<SiteState<unknown>, SiteStructure['reads'], SiteStructure['writes']>;

export class ClusterReplica<S, R extends OpTable<S>, W extends OpTable<S>> {
  /** The NR replica of the local log (of the wrapped structure). */
  private readonly nr: SiteReplica;
  private readonly codecs: UserWriteOp['codec'][];
  private readonly writeIds: Map<string, number>;
  private readonly readNames: Set<string>;
  private readonly origin = randomInt(1, 0xffffffff);
  private readonly site: number;
  private readonly fingerprint: number;
  private readonly positions: Positions;
  private readonly writer = new OpWriter(4096);
  private batchNo = 0;
  private queue: PendingOp[] = [];
  private flushScheduled = false;
  private readonly batches = new Map<number, Batch>();
  private readonly reads: ReadWindows;
  private closed: Error | null = null;
  readonly consistency: Consistency;
  private readonly counters = { batchesPublished: 0, opsPublished: 0, readWindows: 0, linearizableReads: 0, sequentialReads: 0 };

  constructor(
    private readonly data: SiteReplicaData,
    structure: Structure<S, R, W>,
    options: AttachSiteOptions = {},
  ) {
    checkKnown('attachSite', options, ['consistency']);
    if (data === null || typeof data !== 'object' || data.kind !== 'nr-cluster-replica') throw new ClusterConfigError('attachSite needs the data of site.replicaData()');
    if (structure.fingerprint !== data.fingerprint) throw new ClusterConfigError(`this site replicates another structure (fingerprint ${data.fingerprint >>> 0}, not ${structure.fingerprint >>> 0})`);
    const c = options.consistency ?? data.consistency;
    if (c !== 'linearizable' && c !== 'sequential') throw new ClusterConfigError(`consistency must be 'linearizable' or 'sequential'`);
    this.consistency = c;
    this.site = data.site;
    this.fingerprint = structure.fingerprint;
    this.positions = new Positions(data.positions);
    const u = structure as unknown as Structure<unknown, OpTable<unknown>, OpTable<unknown>>;
    this.codecs = userWriteOps(u).map((op) => op.codec);
    this.writeIds = new Map(u.writeNames.map((n, i) => [n, i]));
    this.readNames = new Set(u.readNames);
    this.nr = attach(data.handle, siteStructure(structure)) as unknown as SiteReplica;
    this.reads = new ReadWindows({
      readTimeoutMs: data.readTimeoutMs,
      post: (m) => data.port.postMessage(m),
      closedWith: () => this.closed,
      catchUp: (seq) => {
        this.nr.sync();
        if (this.position() < seq) throw new ClusterUnavailableError(`the local log does not hold stream sequence ${seq} yet`, false);
      },
      holdThread: () => this.holdThread(),
      counters: this.counters,
    });
    listen(this.site, this.origin, this.deliver);
    data.port.on('message', (m: FromBridge) => {
      this.onBridge(m);
      this.holdThread();
    });
    data.port.unref();
  }

  /** The port keeps the thread alive only while a write or a read index is in flight (an idle replica lets its worker exit). */
  private holdThread(): void {
    if (this.closed === null && (this.batches.size > 0 || this.reads.out)) this.data.port.ref();
    else this.data.port.unref();
  }

  // ---- writes ---------------------------------------------------------------

  /** Publish a write op (combined with the others queued in this microtask); resolves with this replica's result. */
  write<K extends keyof W & string>(name: K, ...args: OpArgs<W[K]>): Promise<OpResult<W[K]>> {
    return new Promise((resolve, reject) => {
      if (this.closed) throw this.closed;
      const opId = this.writeIds.get(name);
      if (opId === undefined) throw new ClusterConfigError(`unknown write op '${name}'`);
      this.queue.push({ opId, args, resolve: resolve as (v: unknown) => void, reject });
      if (this.queue.length >= CLUSTER_LIMITS.maxOpsPerBatch) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const ops = this.queue;
    if (ops.length === 0) return;
    this.queue = [];
    this.send(ops);
  };

  /**
   * Encode `ops` as one batch and post it to the bridge. A batch larger
   * than a message and a local log entry hold is sent as two halves (ops
   * issued together have no order between them); one op too large alone
   * fails with ClusterConfigError; an op whose codec throws fails alone.
   */
  private send(ops: PendingOp[]): void {
    const batch = ++this.batchNo;
    const head = { site: this.site, origin: this.origin, batch };
    let msg: Uint8Array;
    try {
      msg = encodeEnvelope(this.writer, this.fingerprint, head, ops, this.codecs);
    } catch (e) {
      this.splitFailedBatch(ops, head, e);
      return;
    }
    if (msg.length > this.data.maxBatchBytes) {
      if (ops.length > 1) {
        const half = ops.length >> 1;
        this.send(ops.slice(0, half));
        this.send(ops.slice(half));
      } else {
        ops[0]!.reject(new ClusterConfigError(`the write encodes to a ${msg.length}-byte batch; a batch holds at most ${this.data.maxBatchBytes} (a stream message, and an entry of the site's local log: raise logBytes)`));
      }
      return;
    }
    const timer = setTimeout(() => this.failBatch(batch, new ClusterUnavailableError(`no answer from the site's bridge within ${this.data.writeTimeoutMs} ms`, 'unknown')), this.data.writeTimeoutMs + 1_000);
    timer.unref();
    this.batches.set(batch, { ops, timer });
    this.counters.batchesPublished++;
    this.counters.opsPublished += ops.length;
    const m: ToBridge = { t: 'w', b: batch, id: messageId(head), msg };
    this.data.port.postMessage(m, [msg.buffer as ArrayBuffer]);
    this.holdThread();
  }

  /** A batch whose encoding threw: an op whose codec throws fails alone (its caller gets the codec's error); the others are sent without it. */
  private splitFailedBatch(ops: PendingOp[], head: { site: number; origin: number; batch: number }, e: unknown): void {
    const good: PendingOp[] = [];
    for (const op of ops) {
      try {
        encodeEnvelope(this.writer, this.fingerprint, head, [op], this.codecs);
        good.push(op);
      } catch (err) {
        op.reject(err);
      }
    }
    if (good.length === ops.length) {
      for (const op of good) op.reject(e);
      return;
    }
    if (good.length > 0) this.send(good);
  }

  /** From apply (site-structure.ts): this replica reached one of its own batches. */
  private readonly deliver = (batch: number, _seq: number, outcomes: OpOutcome[]): void => {
    const b = this.batches.get(batch);
    if (!b) return; // already failed (timed out): its caller was told 'unknown'
    this.batches.delete(batch);
    clearTimeout(b.timer);
    b.ops.forEach((op, i) => {
      const o = outcomes[i]!;
      if (o.ok) op.resolve(o.value);
      else op.reject(o.error);
    });
  };

  private failBatch(batch: number, e: Error): void {
    const b = this.batches.get(batch);
    if (!b) return;
    this.batches.delete(batch);
    clearTimeout(b.timer);
    for (const op of b.ops) op.reject(e);
    this.holdThread();
  }

  // ---- reads -----------------------------------------------------------------

  /** A read with this handle's consistency. */
  read<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): Promise<OpResult<R[K]>> {
    return this.readWith(this.consistency, name, ...args);
  }

  /** A read with the consistency given for this call. */
  readWith<K extends keyof R & string>(consistency: Consistency, name: K, ...args: OpArgs<R[K]>): Promise<OpResult<R[K]>> {
    if (consistency === 'sequential') {
      try {
        return Promise.resolve(this.readLocal(name, ...args));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    if (consistency !== 'linearizable') return Promise.reject(new ClusterConfigError(`consistency must be 'linearizable' or 'sequential'`));
    if (!this.readNames.has(name)) return Promise.reject(new ClusterConfigError(`unknown read op '${name}'`));
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.reads.add({ at: performance.now(), run: () => this.localRead(name, args), resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** A sequential read: the local replica as it stands (never blocks on the network). */
  readLocal<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): OpResult<R[K]> {
    if (!this.readNames.has(name)) throw new ClusterConfigError(`unknown read op '${name}'`);
    if (this.closed) throw this.closed;
    this.counters.sequentialReads++;
    return this.localRead(name, args) as OpResult<R[K]>;
  }

  private localRead(name: string, args: readonly unknown[]): unknown {
    return (this.nr.read as (n: string, ...a: unknown[]) => unknown)(name, ...args);
  }

  /** Resolves once this replica holds everything the stream held when sync() was called (a linearizable barrier). */
  sync(): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.closed) throw this.closed;
      this.reads.add({ at: performance.now(), run: () => this.position(), resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private onBridge(m: FromBridge): void {
    if (m.t === 'i') {
      this.reads.answered(m.n, 'seq' in m ? m.seq : null, 'err' in m ? clusterErrorFrom(m.err) : null);
      return;
    }
    if ('err' in m) {
      this.failBatch(m.b, clusterErrorFrom(m.err));
      return;
    }
    // Stored at m.seq and appended locally: replaying gets this replica to it, and apply delivers.
    try {
      this.nr.sync();
    } catch (e) {
      this.failBatch(m.b, e as Error);
      return;
    }
    if (this.batches.has(m.b) && this.position() >= m.seq) this.failBatch(m.b, new ResultLostError(m.seq));
  }

  // ---- state -----------------------------------------------------------------

  /** The stream sequence this replica has applied. */
  position(): number {
    return this.localRead(POSITION_READ, []) as number;
  }

  /** `skipped:digest` of the local state: equal on replicas whose states are equal (the position is `position()`). */
  digest(): string {
    return this.nr.digest();
  }

  stats(): ClusterStats {
    const position = this.position();
    const streamKnown = Math.max(this.positions.known(), position);
    return { ...this.nr.stats(), position, streamKnown, lag: streamKnown - position, bridgeConnected: this.positions.connected(),
      snapshotInstalledAt: this.positions.snapshotInstalledAt(), snapshotsStored: this.positions.snapshotsStored(), ...this.counters };
  }

  /** Leave: pending writes and reads fail with SiteClosedError (writes already sent: `committed: 'unknown'`). */
  detach(): void {
    if (this.closed) return;
    this.closed = new SiteClosedError('this replica is detached');
    unlisten(this.site, this.origin);
    for (const b of [...this.batches.keys()]) this.failBatch(b, new SiteClosedError('detached with the write in flight', 'unknown'));
    for (const op of this.queue.splice(0)) op.reject(new SiteClosedError('detached before the write was sent', false));
    this.reads.closeAll(this.closed);
    this.data.port.close();
    this.nr.detach();
  }
}

export function attachSite<S, R extends OpTable<S>, W extends OpTable<S>>(data: SiteReplicaData, structure: Structure<S, R, W>, options?: AttachSiteOptions): ClusterReplica<S, R, W> {
  return new ClusterReplica(data, structure, options);
}
