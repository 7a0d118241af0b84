/**
 * The scheduler's handle: `createScheduler()` (any thread, once) allocates
 * the NR log and the doorbells, checks every option, and returns a
 * structured-cloneable handle that threads pass to `openScheduler()`.
 */
import { createHandle, type NrHandle } from '../nr/index.js';
import { createBells } from './bells.js';
import { BadArgumentError, describeValue } from './errors.js';
import { DEFAULT_SPILL_AFTER_MS, type Policy } from './state.js';
import { schedStructure } from './structure.js';
import { finiteAtLeast, integerIn, options as checkOptions } from './validate.js';

export interface SchedulerOptions {
  /** Every task kind handlers may be registered for; submit rejects any other. */
  kinds: readonly string[];
  /** Placement: 'mws' (Min-Worker-Set, default) or 'fifo' (by priority only). */
  policy?: Policy;
  /** MWS: a queued task older than this may start on any worker. Default 50 ms. */
  spillAfterMs?: number;
  /** Threads that will open the scheduler (replica slots held from the start). Default 2. */
  threads?: number;
  /** All replica slots, for threads that open later (at most 64). Default max(threads, 16). */
  maxThreads?: number;
  /** Log size in bytes (power of two). Default 4 MiB. */
  logBytes?: number;
  /** Writers wait this long for a lagging replica before fencing it. Default 1000 ms. */
  fenceAfterMs?: number;
  /** Largest packed payload or result. Default (and at most) min(256 KiB, logBytes / 16). */
  maxPayloadBytes?: number;
}
const SCHEDULER_OPTIONS = ['kinds', 'policy', 'spillAfterMs', 'threads', 'maxThreads', 'logBytes', 'fenceAfterMs', 'maxPayloadBytes'] as const;

/** Structured-cloneable: pass it to workers in `workerData`. */
export interface SchedulerHandle {
  readonly kind: 'nr-sched';
  readonly nr: NrHandle;
  readonly bells: SharedArrayBuffer;
  readonly kinds: readonly string[];
  readonly policy: Policy;
  readonly spillAfterMs: number;
  readonly maxPayloadBytes: number;
}

export function createScheduler(options: SchedulerOptions): SchedulerHandle {
  const o = checkOptions(options, SCHEDULER_OPTIONS, 'createScheduler');
  if (!Array.isArray(o.kinds) || o.kinds.length === 0 || o.kinds.some((k) => typeof k !== 'string' || k.length === 0 || !k.isWellFormed())) {
    throw new BadArgumentError('kinds must be a non-empty array of non-empty, well-formed strings');
  }
  // A kind travels in the log as its index in this list: a repeated name would make two indexes mean one kind.
  const kinds: readonly string[] = o.kinds;
  const repeated = kinds.find((k, i) => kinds.indexOf(k) !== i);
  if (repeated !== undefined) throw new BadArgumentError(`kinds must be distinct: ${JSON.stringify(repeated)} is listed twice`);
  const policy = o.policy ?? 'mws';
  if (policy !== 'mws' && policy !== 'fifo') throw new BadArgumentError(`unknown policy ${String(policy)}`);
  const spillAfterMs = o.spillAfterMs === undefined ? DEFAULT_SPILL_AFTER_MS : finiteAtLeast(o.spillAfterMs, 0, 'spillAfterMs');
  const threads = o.threads ?? 2;
  const logBytes = o.logBytes ?? 4 * 1024 * 1024;
  const payloadCap = Math.min(256 * 1024, Math.floor((typeof logBytes === 'number' ? logBytes : 0) / 16));
  const maxPayloadBytes = o.maxPayloadBytes === undefined ? payloadCap : integerIn(o.maxPayloadBytes, 64, Math.max(64, payloadCap), 'maxPayloadBytes');
  const structure = schedStructure(o.kinds, { policy, spillAfterMs });
  let nr: NrHandle;
  try {
    nr = createHandle(structure, {
      replicas: threads,
      maxReplicas: typeof threads === 'number' ? Math.min(64, Math.max(threads, o.maxThreads ?? 16)) : threads,
      logBytes,
      fenceAfterMs: o.fenceAfterMs,
    });
  } catch (e) {
    throw new BadArgumentError(`createScheduler: ${describeValue(e)}`, { cause: e });
  }
  return { kind: 'nr-sched', nr, bells: createBells(), kinds: [...o.kinds], policy, spillAfterMs, maxPayloadBytes };
}
