/**
 * What a runner (runner.ts) needs from the view it runs over: a replica's
 * (`Scheduler`, scheduler.ts) or a client's (`SchedClient`, client.ts).
 * Both send the same ops with the same codecs; they differ in how the
 * runner reads its own worker's room (at once from a replica, as an answer
 * from the node), how big one op and one claim answer may be (a log entry,
 * or a client's request slot), and in how they fail for good.
 */
import type { BoundWrites, Client } from '../nr/index.js';
import type { SchedulerHandle } from './handle.js';
import type { Effects } from './state.js';
import type { SchedStructure } from './structure.js';

type Writes = SchedStructure['writes'];
/** The scheduler structure's NR client (a replica's writeAsync has the same signature). */
export type SchedNrClient = Client<ReturnType<SchedStructure['create']>, SchedStructure['reads'], Writes>;

/** The ops a runner sends: a replica and a client both have them. */
export interface SchedOps {
  writeAsync: SchedNrClient['writeAsync'];
  readonly writes: BoundWrites<Writes>;
}

export interface RunnerHost {
  readonly handle: SchedulerHandle;
  /** @internal */ readonly bells: Int32Array;
  /** @internal The runner's wake slot (bells.ts): its replica slot, or a client runner's own slot after those. */
  readonly wakeSlot: number;
  /** Largest packed payload or result (the handle's). */
  readonly maxPayloadBytes: number;
  /** @internal Most bytes one finish or renew op is cut to. */
  readonly opBudget: number;
  /** @internal Bound on a claim answer's bytes (Infinity over a replica, which reads its apply's result). */
  readonly claimBytes: number;
  /** @internal */ readonly ops: SchedOps;
  /** @internal */ readonly isClosed: boolean;
  /** @internal The op failed with `e` because this view can never send an op again (its replica left the log, its node is gone). */
  failedForGood(e: unknown): boolean;
  /** @internal Capacity if active, -1 draining, -2 gone or unknown: at once from a replica, as the node's answer for a client. */
  roomOf(worker: number): number | Promise<number>;
  /** @internal Ring the doorbells an applied op asks for; never throws. */
  effects(eff: Effects<unknown>): void;
  /** @internal Tick the replicated clock if something is due (one tick in flight). */
  maybeTick(): void;
}
