/**
 * The scheduler's handle: `createScheduler()` (any thread, once) allocates
 * the NR log and the doorbells, checks every option, and returns a
 * structured-cloneable handle that threads pass to `openScheduler()`.
 */
import { createHandle, type NrHandle } from '../nr/index.js';
import { createBells, MAX_SUBMITTERS, MAX_WAKE_SLOTS } from './bells.js';
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
  /** Largest packed payload or result. Default (and at most) min(256 KiB, logBytes / 16), and with client runners their slot's room (clientSlotBytes - 1 KiB). */
  maxPayloadBytes?: number;
  /** Client runners per node: runner threads that hold no replica and send their ops through a node (`connectScheduler`). Default 0. */
  clients?: number;
  /** Bytes of each client request slot, a multiple of 16 from 16 KiB to 64 KiB: one op or answer of a client runner (its claims are cut to fit). Default 64 KiB. */
  clientSlotBytes?: number;
}
const SCHEDULER_OPTIONS = ['kinds', 'policy', 'spillAfterMs', 'threads', 'maxThreads', 'logBytes', 'fenceAfterMs', 'maxPayloadBytes', 'clients', 'clientSlotBytes'] as const;

/** Requests a client runner may have in flight (a claim, its read, finishes, renewals, a tick). */
const CLIENT_RUNNER_SLOTS = 8;
/** Bytes of a client slot kept beside one packed payload: the slot header, an answer's fixed parts, a completion's. */
const CLIENT_SLOT_RESERVE = 1024;
const MIN_CLIENT_SLOT_BYTES = 16 * 1024;
const DEFAULT_CLIENT_SLOT_BYTES = 64 * 1024;

/** Structured-cloneable: pass it to workers in `workerData`. */
export interface SchedulerHandle {
  readonly kind: 'nr-sched';
  readonly nr: NrHandle;
  readonly bells: SharedArrayBuffer;
  readonly kinds: readonly string[];
  readonly policy: Policy;
  readonly spillAfterMs: number;
  readonly maxPayloadBytes: number;
  /** Client runner slots per node (0: none); a client runner's wake slot follows from its node and slot (bells.ts). */
  readonly clients: number;
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
  const clients = o.clients === undefined ? 0 : integerIn(o.clients, 0, MAX_WAKE_SLOTS - MAX_SUBMITTERS, 'clients');
  const clientSlotBytes = o.clientSlotBytes === undefined ? DEFAULT_CLIENT_SLOT_BYTES : integerIn(o.clientSlotBytes, MIN_CLIENT_SLOT_BYTES, DEFAULT_CLIENT_SLOT_BYTES, 'clientSlotBytes');
  if (clientSlotBytes % 16 !== 0) throw new BadArgumentError(`clientSlotBytes must be a multiple of 16, got ${clientSlotBytes}`);
  const maxReplicas = typeof threads === 'number' ? Math.min(64, Math.max(threads, o.maxThreads ?? 16)) : threads;
  // Every client runner has a wake slot of its own after the 64 replica slots' (bells.ts).
  if (clients > 0 && typeof maxReplicas === 'number' && maxReplicas * clients > MAX_WAKE_SLOTS - MAX_SUBMITTERS) {
    throw new BadArgumentError(`clients × maxThreads must be at most ${MAX_WAKE_SLOTS - MAX_SUBMITTERS}, got ${clients} × ${maxReplicas}`);
  }
  const logCap = Math.min(256 * 1024, Math.floor((typeof logBytes === 'number' ? logBytes : 0) / 16));
  // A client runner's claim answer and finish carry at least one payload or result: it must fit a slot.
  const payloadCap = clients > 0 ? Math.min(logCap, clientSlotBytes - CLIENT_SLOT_RESERVE) : logCap;
  const maxPayloadBytes = o.maxPayloadBytes === undefined ? payloadCap : integerIn(o.maxPayloadBytes, 64, Math.max(64, payloadCap), 'maxPayloadBytes');
  const structure = schedStructure(o.kinds, { policy, spillAfterMs });
  let nr: NrHandle;
  try {
    nr = createHandle(structure, {
      replicas: threads,
      maxReplicas,
      logBytes,
      fenceAfterMs: o.fenceAfterMs,
      ...(clients > 0 ? { clients, clientSlots: CLIENT_RUNNER_SLOTS, clientSlotBytes } : {}),
    });
  } catch (e) {
    throw new BadArgumentError(`createScheduler: ${describeValue(e)}`, { cause: e });
  }
  const wakeSlots = clients * (typeof maxReplicas === 'number' ? maxReplicas : 0);
  return { kind: 'nr-sched', nr, bells: createBells(wakeSlots), kinds: [...o.kinds], policy, spillAfterMs, maxPayloadBytes, clients };
}
