/**
 * Every default option and limit of the runtime, in one place (a leaf
 * module: every layer may import it, it imports nothing).
 */
export const DEFAULTS = Object.freeze({
  /** Log data ring size in bytes. */
  logBytes: 2 * 1024 * 1024,
  /** Replica slots held from creation for the first workers. */
  replicas: 1,
  /** Extra slots for late joiners: maxReplicas defaults to max(replicas, this). */
  maxReplicas: 8,
  /** How long a writer that needs log space waits for a lagging replica before fencing it. */
  fenceAfterMs: 1000,
  /**
   * How long a slot's owner may show no sign of life (no heartbeat) before
   * other threads treat it as dead: its transfer lock is broken, and its slot
   * may be reclaimed by a joiner that finds no free one.
   */
  deadAfterMs: 1000,
  /** Largest snapshot a state transfer can carry (reserved, not allocated). */
  transferMaxBytes: 1024 * 1024 * 1024,
  /** Bound on waiting for a snapshot when a replica must recover or join. */
  transferTimeoutMs: 30_000,
  /** When queued async writes are combined. */
  combine: 'microtask' as 'microtask' | 'immediate',
  /** Client slots per node. */
  clients: 0,
  /** Requests one client may have in flight. */
  clientSlots: 64,
  /** Bytes per client request slot, header included. */
  clientSlotBytes: 256,
  /** Bound on every client op, sync or async. */
  clientTimeoutMs: 30_000,
  /** Parallel logs of a createCnrHandle handle. */
  logs: 4,
});

export const LIMITS = Object.freeze({
  minLogBytes: 4 * 1024,
  maxLogBytes: 1024 * 1024 * 1024,
  maxReplicas: 64,
  /** Parallel logs one createCnrHandle handle may have. */
  maxLogs: 16,
  maxClients: 256,
  maxClientSlots: 1024,
  minClientSlotBytes: 64,
  maxClientSlotBytes: 65536,
  /** Most client ops one batch takes, so that serving clients never starves the node's own work. */
  maxClientOpsPerBatch: 4096,
  /** Serving rounds a node runs per event-loop turn before yielding. */
  servingRoundsPerTurn: 16,
  /** Largest thread id a client slot records (29 bits beside its state bits); declare calls refuse larger ones rather than alias them. */
  maxThreadId: 0x1fffffff,
  /** Largest `transferMaxBytes` (a SharedArrayBuffer's maxByteLength). */
  maxTransferBytes: 2 ** 32,
});

/** A combiner's staging buffer for one batch's encoded ops, at its start. */
export const STAGING_BYTES = 4096;
/** A staging buffer one batch grew past this shrinks back to STAGING_BYTES when the next batch starts. */
export const STAGING_SHRINK_ABOVE = 1024 * 1024;
/** A combiner keeps a settled batch's array as its next queue unless the batch held more items than this. */
export const SPARE_BATCH_MAX = 1024;

/**
 * Longest a node sleeps on its doorbell before it looks at its clients
 * anyway (ms). A ring seen already set skips the notify, so a client killed
 * between setting the bell and notifying would otherwise leave the node
 * asleep under a rung bell, deaf to every later ring.
 */
export const DOORBELL_RECHECK_MS = 50;

/** How often each thread's replicas publish a heartbeat (ms); well under deadAfterMs. */
export const HEARTBEAT_MS = 100;
