/**
 * One thread's view of a structure on parallel logs: one NR replica per log,
 * each holding the partition of the state its log's ops touch, and the
 * barrier that orders an op mapped to every log (docs/nr.md, "Parallel logs").
 *
 * - an op mapped to log i is an ordinary NR op on replica i: a read waits
 *   only for log i's completed tail, a write appends only to log i;
 * - an op mapped to 'all' takes the order (order.ts), appends one entry
 *   (the internal write op ALL_OP) to every log, commits, and replays them;
 * - a replica that meets a committed ALL_OP entry in log i first brings
 *   this thread's other partitions up to that op's entries in their logs
 *   (and no further), then applies it to partition i. So no thread ever
 *   shows one partition past a multi-log op and publishes a log's completed
 *   tail past it before it has published every log's.
 */
import { FailStopError, FencedError, UnknownOpError } from '../errors.js';
import { before, distance } from '../log/positions.js';
import type { BoundReads, BoundWrites } from '../replica/bound-ops.js';
import type { Replica, ReplicaStats } from '../replica/replica.js';
import type { OpArgs, OpResult, OpTable, Structure } from '../structure.js';
import type { BatchOp, BatchResults } from '../replica/write-batch.js';
import { batchLog } from './batch-log.js';
import { compileKeyedRead, type TendingView } from './keyed-read.js';
import { keyedAll, keyHash, route, type CnrStructure, type LogMapper } from './mapper.js';
import { ABORTED, type OrderTable } from './order.js';
import { ALL_OP, type AllApply, perLogStructure } from './per-log.js';

const WRITE = 0;
const READ = 1;
/** Routed ops between two looks at the other logs (tend). */
const TEND_EVERY = 256;

type AnyReplica = Replica<unknown, OpTable<unknown>, OpTable<unknown>>;

interface UntypedOps {
  read(name: string, ...args: readonly unknown[]): unknown;
  write(name: string, ...args: readonly unknown[]): unknown;
  readAsync(name: string, ...args: readonly unknown[]): Promise<unknown>;
  writeAsync(name: string, ...args: readonly unknown[]): Promise<unknown>;
  writeBatch(ops: readonly (readonly unknown[])[]): unknown[];
}

/** The issuing thread's record of its own multi-log op, filled by each partition's apply. */
interface MineRecord {
  results: unknown[];
  errors: unknown[];
  threw: boolean[];
  got: boolean[];
}

export interface CnrStats {
  /** This thread's replica slot (the same in every log). */
  slot: number;
  /** Multi-log ops this view issued, and how many of those the order table aborted. */
  multiLogOps: number;
  /** Per log: that log's replica's counters. */
  logs: ReplicaStats[];
}

export class CnrReplica<S, R extends OpTable<S>, W extends OpTable<S>> {
  /** The number of parallel logs. */
  readonly logs: number;
  readonly slot: number;
  /** Read ops, routed by the mapper: `view.reads.get(key)`. */
  readonly reads: BoundReads<R>;
  /** Write ops, routed by the mapper, synchronous: `view.writes.put(key, value)`. */
  readonly writes: BoundWrites<W>;
  private parts: AnyReplica[] = [];
  private readonly structure: Structure<S, R, W>;
  private readonly mapper: LogMapper;
  /** Per log: the last multi-log op this thread's partition of it reached. */
  private readonly reached: number[];
  private readonly mine = new Map<number, MineRecord>();
  private multiLogOps = 0;
  /** Ops routed until the next look at the logs this thread has not touched (see tend). */
  private tendIn = TEND_EVERY;

  /** @internal use attachCnr() */
  constructor(
    cnr: CnrStructure<S, R, W>,
    private readonly order: OrderTable,
    attachLog: (log: number, structure: Structure<S, R, OpTable<S>>) => AnyReplica,
    /** @internal test hook (attach option testHooks.multiLogPhase) */
    private readonly phaseHook?: (phase: 'appended' | 'committed' | 'released', seq: number) => void,
  ) {
    this.structure = cnr.structure;
    this.mapper = cnr.mapper;
    this.logs = order.logs;
    this.reached = new Array<number>(this.logs).fill(0);
    try {
      for (let i = 0; i < this.logs; i++) this.parts.push(attachLog(i, perLogStructure(cnr.structure, i, this.applyAll)));
    } catch (e) {
      for (const p of this.parts) p.detach();
      throw e;
    }
    this.slot = this.parts[0]!.id;
    // A replica of one log that fails stop halts the view's replicas of every log: the view's
    // partitions could no longer be shown consistent, so, as a single-log replica, it serves
    // nothing more (an op on another log throws the same FailStopError). One that lost its slot
    // (reclaimed while this thread was silent, or declared dead) detaches the others: a view
    // holding slot N on some logs only would keep any new node from taking slot N on all.
    for (const p of this.parts) p.onLeave = (e) => { for (const q of this.parts) q.stopFor(e); };
    this.reads = this.bind(READ) as BoundReads<R>;
    this.writes = this.bind(WRITE) as BoundWrites<W>;
  }

  read<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): OpResult<R[K]> {
    if (this.structure.readIds[name] === undefined) throw new UnknownOpError('read', name);
    if (--this.tendIn === 0) this.tend();
    const i = route(this.mapper, name, args, this.logs);
    return (i < 0 ? this.runAll(READ, name, args) : this.untyped(i).read(name, ...args)) as OpResult<R[K]>;
  }

  write<K extends keyof W & string>(name: K, ...args: OpArgs<W[K]>): OpResult<W[K]> {
    if (this.structure.writeIds[name] === undefined) throw new UnknownOpError('write', name);
    if (--this.tendIn === 0) this.tend();
    const i = route(this.mapper, name, args, this.logs);
    return (i < 0 ? this.runAllAfterQueued(WRITE, name, args) : this.untyped(i).write(name, ...args)) as OpResult<W[K]>;
  }

  /**
   * `replica.writeBatch` on the one log every op of the batch maps to: one
   * run of one entry there, applied in order. A batch whose ops map to
   * different logs, or that holds a multi-log op, throws LogMapperError
   * with nothing written (batch per log instead).
   */
  writeBatch(ops: readonly BatchOp<W>[]): BatchResults<W> {
    if (--this.tendIn === 0) this.tend();
    const i = batchLog(this.mapper, this.structure.writeIds, ops, this.logs);
    if (i < 0) return this.parts[0]!.writeBatch([]) as BatchResults<W>;
    return this.untyped(i).writeBatch(ops as readonly (readonly unknown[])[]) as BatchResults<W>;
  }

  /** Writes on one log are flat-combined as in NR; a multi-log op runs at the call, after this thread's queued writes (runAllAsync). */
  writeAsync<K extends keyof W & string>(name: K, ...args: OpArgs<W[K]>): Promise<OpResult<W[K]>> {
    try {
      if (this.structure.writeIds[name] === undefined) throw new UnknownOpError('write', name);
      const i = route(this.mapper, name, args, this.logs);
      if (i >= 0) return this.untyped(i).writeAsync(name, ...args) as Promise<OpResult<W[K]>>;
      return this.runAllAsync(WRITE, name, args) as Promise<OpResult<W[K]>>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  readAsync<K extends keyof R & string>(name: K, ...args: OpArgs<R[K]>): Promise<OpResult<R[K]>> {
    try {
      if (this.structure.readIds[name] === undefined) throw new UnknownOpError('read', name);
      const i = route(this.mapper, name, args, this.logs);
      if (i >= 0) return this.untyped(i).readAsync(name, ...args) as Promise<OpResult<R[K]>>;
      return this.runAllAsync(READ, name, args) as Promise<OpResult<R[K]>>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Replay every log up to its tail. */
  sync(): void {
    for (const p of this.parts) p.sync();
  }

  /** One digest per partition, joined (the structure must define `digest`). */
  digest(): string {
    return this.parts.map((p) => p.digest()).join('|');
  }

  stats(): CnrStats {
    return { slot: this.slot, multiLogOps: this.multiLogOps, logs: this.parts.map((p) => p.stats()) };
  }

  /** @internal for tests: log i's replica. */
  replicaOf(log: number): AnyReplica {
    return this.parts[log]!;
  }

  detach(): void {
    for (const p of this.parts) p.detach();
  }

  /**
   * True once the view can serve no more ops: it was detached, or one of its
   * logs' replicas left (a fail-stop halts them all; see the constructor).
   */
  get isDetached(): boolean {
    return this.parts.some((p) => p.isDetached);
  }

  // ---- multi-log ops -------------------------------------------------------------

  /** Log i's replica with its ops by name (the typed surface is this view's). */
  private untyped(i: number): UntypedOps {
    return this.parts[i] as unknown as UntypedOps;
  }

  private bind(kind: number): object {
    const table: { [name: string]: (...args: unknown[]) => unknown } = {};
    const st = this.structure;
    const names = kind === READ ? st.readNames : st.writeNames;
    const keyed = keyedAll(this.mapper);
    const logs = this.logs;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const view = this;
    for (const name of names) {
      const bound = this.parts.map((p) => (kind === READ ? p.reads : p.writes)[name] as (...args: unknown[]) => unknown);
      const arity = (kind === READ ? st.readFns[st.readIds[name]!]! : st.writeFns[st.writeIds[name]!]!).length - 1;
      // The built-in key-hash mapper's key ops: routed inline with named parameters (no argument
      // array); a one-key read runs the read protocol itself (load log i's CTAIL, catch up, read),
      // as the replica's bound read does, so no call through four distinct bound closures.
      if (keyed !== null && !keyed.has(name) && arity === 1 && kind === READ) {
        table[name] = this.keyedRead(st.readFns[st.readIds[name]!]!, function (a: unknown): unknown {
          if (--view.tendIn === 0) view.tend();
          // eslint-disable-next-line prefer-rest-params
          return bound[keyHash(a) % logs]!(...arguments);
        });
      } else if (keyed !== null && !keyed.has(name) && arity === 1) {
        // Plain functions, to see `arguments`: a call with more goes to its replica with all of
        // them, whose codec refuses them as on one log (an arrow dropped them silently).
        table[name] = function (a: unknown): unknown {
          if (--view.tendIn === 0) view.tend();
          const r = bound[keyHash(a) % logs]!;
          // eslint-disable-next-line prefer-rest-params
          return arguments.length > 1 ? r(...arguments) : r(a);
        };
      } else if (keyed !== null && !keyed.has(name) && arity === 2) {
        table[name] = function (a: unknown, b: unknown): unknown {
          if (--view.tendIn === 0) view.tend();
          const r = bound[keyHash(a) % logs]!;
          // eslint-disable-next-line prefer-rest-params
          return arguments.length > 2 ? r(...arguments) : r(a, b);
        };
      } else {
        table[name] = (...args: unknown[]): unknown => {
          if (--this.tendIn === 0) this.tend();
          const i = route(this.mapper, name, args, logs);
          if (i >= 0) return bound[i]!(...args);
          return kind === WRITE ? this.runAllAfterQueued(kind, name, args) : this.runAll(kind, name, args);
        };
      }
    }
    return Object.freeze(table);
  }

  private keyedRead(fn: (state: S, ...args: unknown[]) => unknown, other: (...args: unknown[]) => unknown): (a: unknown) => unknown {
    return compileKeyedRead(this as unknown as TendingView, this.parts, this.parts.map((p) => p.log.loadCtail), fn as (state: never, a: unknown) => unknown, other);
  }

  /**
   * A thread whose ops all go to some logs never replays the others, and its
   * replicas of those would hold back their heads until writers fence them
   * (a thread in a synchronous loop answers no nudge). So every TEND_EVERY
   * routed ops it replays each log that has filled past a quarter (the
   * crate's CNR has the same duty in its GC callback), up to that log's
   * CTAIL only: entries before it are sealed, so this never waits for a
   * writer stalled on a log this thread does not use.
   */
  private tend(): void {
    this.tendIn = TEND_EVERY;
    for (const p of this.parts) {
      if (p.isDetached || p.isApplying || p.log.used() <= p.log.cells >> 2) continue;
      try {
        p.catchUpToCtail();
      } catch {
        // Opportunistic: a replica that halted or lost its slot keeps the reason and throws it
        // at its own log's next op; a recovery that found no provider is retried there.
      }
    }
  }

  private stallMs(): number {
    return this.parts[0]!.log.fenceAfterMs;
  }

  private readonly beatAll = (): void => {
    for (const p of this.parts) p.beat();
  };

  /**
   * Waiting for the order: the holder may be waiting for space in a log
   * whose head one of our replicas holds, so replay each to its CTAIL
   * (entries before it are sealed, and no multi-log op before it is still
   * pending). Waiting for a pending op's decision (awaitDecided) only
   * beats: the replica meeting it is mid-apply, and tending the others from
   * there could drive that one (the holder's wait is then bounded by
   * fenceAfterMs, as before).
   */
  private readonly tendWhileWaiting = (): void => {
    this.beatAll();
    for (const p of this.parts) p.tendForOtherLog();
  };

  /**
   * Issue order, as on one log: a multi-log write follows this thread's
   * async writes queued on any log (they are committed first, as a sync
   * write commits the queue on one log; a sync read, as on one log, does not
   * wait for them). An async multi-log op runs at its call, after committing
   * them, so that ops queued after it follow it: run in a later microtask,
   * it was overtaken by a younger write whose log's flush an older write
   * had already scheduled (and, with combine 'immediate', it overtook older
   * writes). Its promise settles with the outcome.
   */
  private runAllAfterQueued(kind: number, name: string, args: readonly unknown[]): unknown {
    for (const p of this.parts) p.commitQueued();
    return this.runAll(kind, name, args);
  }

  private runAllAsync(kind: number, name: string, args: readonly unknown[]): Promise<unknown> {
    return Promise.resolve(this.runAllAfterQueued(kind, name, args));
  }

  /** Issue an op on every log: take the order, append everywhere, commit, replay. */
  private runAll(kind: number, name: string, args: readonly unknown[]): unknown {
    const id = kind === READ ? this.structure.readIds[name]! : this.structure.writeIds[name]!;
    // A halted, detached or re-entered view takes no order (it took one, burnt its number, and
    // aborted it), and a write gets its single-log call-site checks (its args travel v8-encoded).
    for (const p of this.parts) p.checkUsable();
    if (kind === WRITE) this.parts[0]!.checkWrite(name, args);
    let seq: number;
    try {
      seq = this.order.acquire(this.slot, this.stallMs(), this.tendWhileWaiting);
    } catch (e) {
      // A corrupt order table halts the view, as a corrupt log word halts a replica.
      if (e instanceof FailStopError) this.parts[0]!.stopFor(e);
      throw e;
    }
    if (seq < 0) throw new FencedError(false);
    this.multiLogOps++;
    const rec: MineRecord = { results: [], errors: [], threw: [], got: new Array<boolean>(this.logs).fill(false) };
    this.mine.set(seq, rec);
    const positions: number[] = [];
    let committed = false;
    try {
      for (let j = 0; j < this.logs; j++) {
        const p = this.parts[j]!.appendUnapplied(ALL_OP, [seq, kind, id, args]);
        // Lost (presumed dead while stalled), or the op was aborted meanwhile: it is aborted below.
        if (p === null || !this.order.setPos(seq, j, p)) break;
        positions.push(p);
      }
      if (positions.length === this.logs) this.phaseHook?.('appended', seq);
      committed = positions.length === this.logs && this.order.commit(seq);
      if (committed) this.phaseHook?.('committed', seq);
    } catch (e) {
      this.mine.delete(seq);
      throw e;
    } finally {
      if (!committed) this.order.abort(seq);
      this.order.release(seq);
    }
    if (!committed) {
      this.mine.delete(seq);
      throw new FencedError(false);
    }
    this.phaseHook?.('released', seq);
    try {
      for (let j = 0; j < this.logs; j++) this.parts[j]!.replayTo((positions[j]! + 1) | 0);
    } finally {
      this.mine.delete(seq);
    }
    // A partition restored from a snapshot past the entry: the op took effect, its result is lost.
    if (!rec.got.every(Boolean)) throw new FencedError(true);
    for (let j = 0; j < this.logs; j++) if (rec.threw[j]) throw rec.errors[j];
    const combine = this.mapper.combine?.[name];
    return combine ? combine(rec.results) : rec.results[0];
  }

  /**
   * The apply of ALL_OP in log `log`'s replica (deterministic: the row's
   * decision is final, and it depends on nothing else shared). Anything that
   * stops the barrier (a partition that cannot catch up, a corrupt position)
   * fails stop: the partitions could no longer be shown consistently.
   */
  private readonly applyAll: AllApply = (log, state, seq, kind, id, args) => {
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq <= 0) throw new FailStopError(`the shared log is corrupt: a multi-log entry in log ${log} names op ${String(seq)}`);
    if (this.order.awaitDecided(seq, this.stallMs(), this.beatAll) === ABORTED) return undefined;
    // The row's positions are data: each is checked against an entry before it is trusted. This
    // log's against the entry being applied (a replayed or forged entry of another op is not it)...
    const here = this.parts[log]!.entryAt;
    if (this.order.pos(seq, log) !== here) {
      throw new FailStopError(`the parallel logs' order table is corrupt: multi-log op ${seq} met at position ${here} of log ${log}, its row says ${this.order.pos(seq, log)}`);
    }
    if (this.reached[log]! < seq) this.reached[log] = seq;
    for (let j = 0; j < this.logs; j++) {
      if (j === log || this.reached[j]! >= seq) continue;
      const r = this.parts[j]!;
      const pos = this.order.pos(seq, j);
      if (r.isApplying) throw new FailStopError(`parallel logs: log ${j}'s replica is mid-apply below multi-log op ${seq} (a cross-log cycle)`);
      // ...and another log's against that log: before its TAIL, and not far from its replica.
      if (!before(pos, r.log.tail()) || (distance(r.ltail, pos) >= r.log.cells && distance(pos, r.ltail) >= r.log.cells)) {
        throw new FailStopError(`the parallel logs' order table is corrupt: multi-log op ${seq} names position ${pos} in log ${j}, whose replica is at ${r.ltail} and TAIL at ${r.log.tail()}`);
      }
      try {
        r.replayTo((pos + 1) | 0);
      } catch (e) {
        if (e instanceof FailStopError) throw e;
        throw new FailStopError(`parallel logs: log ${j} could not reach multi-log op ${seq}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      // Replaying log j through `pos` met the op there (its apply checked the position), unless a
      // state transfer put partition j past it; otherwise `pos` named some other entry.
      if (this.reached[j]! < seq) {
        const restored = r.restoredTo;
        if (restored === null || !before(pos, restored)) {
          throw new FailStopError(`the parallel logs' order table is corrupt: log ${j} replayed through position ${pos} without meeting multi-log op ${seq} there`);
        }
        this.reached[j] = seq;
      }
    }
    const st = this.structure;
    const fn = kind === READ ? st.readFns[id] : kind === WRITE ? st.writeFns[id] : undefined;
    if (fn === undefined || !Array.isArray(args)) throw new FailStopError(`the shared log is corrupt: multi-log op ${seq} names op ${kind}/${id}`);
    let result: unknown;
    let threw = false;
    let error: unknown;
    try {
      result = fn(state as S, ...args);
    } catch (e) {
      if (e instanceof FailStopError) throw e;
      threw = true;
      error = e;
    }
    const rec = this.mine.get(seq);
    if (rec !== undefined) {
      rec.results[log] = result;
      rec.errors[log] = error;
      rec.threw[log] = threw;
      rec.got[log] = true;
    }
    return result;
  };
}

