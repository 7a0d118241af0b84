/**
 * Handles: how a log is made on one thread and attached to on another.
 *
 * `createHandle()` allocates the log's SharedArrayBuffer and returns a plain,
 * structured-cloneable object; pass it to workers through `workerData` or
 * `postMessage`. Each worker calls `attach(handle, structure)` and becomes a
 * node with its own replica.
 */
import { Client, CLIENT_OPTION_KEYS, type ClientOptions } from './clients/client.js';
import { ClientState, type ClientSlotOptions, contextGeometry, createContextBuffer, NodeState, SharedContext } from './clients/context.js';
import { ClientHub } from './clients/hub.js';
import { threadId } from 'node:worker_threads';
import { ConfigError, CapacityError, HandleMismatchError } from './errors.js';
import { DEFAULTS, HEARTBEAT_MS, LIMITS } from './defaults.js';
import { checkKnownOptions, checkPositiveMs } from './options.js';
import { createLogMemory, LOG_OPTION_KEYS, type LogOptions } from './log/create.js';
import { SharedLog } from './log/shared-log.js';
import { claimSlot, declareSlotDead, mayBecomeReclaimable, slotsOwnedBy } from './log/slots.js';
import { SlotState } from './log/slot-state.js';
import { breakTransferLockOf, createTransferBuffer } from './log/transfer.js';
import type { SharedMemory } from './shared-memory.js';
import { Replica, REPLICA_OPTION_KEYS, type ReplicaOptions } from './replica/replica.js';
import { isLocalNode } from './replica/registry.js';
import type { OpTable, Structure } from './structure.js';

export interface NrHandle {
  readonly kind: 'node-replication';
  readonly structure: string;
  readonly version: number;
  readonly fingerprint: number;
  /** The log: a shared WebAssembly.Memory (its `buffer` is a SharedArrayBuffer). */
  readonly memory: SharedMemory;
  /** The nodes' client slot rings (see context.ts); null when created with no client slots. */
  readonly context: SharedArrayBuffer | null;
  /** Growable buffer through which live replicas hand snapshots to fenced or joining ones. */
  readonly transfer: SharedArrayBuffer;
}

export interface HandleOptions extends LogOptions, ClientSlotOptions {
  /** Largest snapshot a state transfer can carry (reserved, not allocated). Default 1 GiB. */
  transferMaxBytes?: number;
}
const HANDLE_OPTION_KEYS = [...LOG_OPTION_KEYS, 'clients', 'clientSlots', 'clientSlotBytes', 'transferMaxBytes'];

export function createHandle<S, R extends OpTable<S>, W extends OpTable<S>>(
  structure: Structure<S, R, W>,
  options: HandleOptions = {},
): NrHandle {
  checkStructure('createHandle', structure);
  checkKnownOptions('createHandle', options, HANDLE_OPTION_KEYS);
  // The client options are checked whether or not they ask for clients: `clients: -1` or a bad
  // `clientSlotBytes` beside `clients: 0` is a mistake to report, not a request for no clients.
  contextGeometry(1, options);
  const transferMaxBytes = options.transferMaxBytes ?? DEFAULTS.transferMaxBytes;
  if (!Number.isInteger(transferMaxBytes) || transferMaxBytes < 0 || transferMaxBytes > LIMITS.maxTransferBytes) {
    throw new ConfigError(`transferMaxBytes must be an integer from 0 to ${LIMITS.maxTransferBytes}, got ${String(transferMaxBytes)}`);
  }
  const memory = createLogMemory(structure.fingerprint, options);
  return {
    kind: 'node-replication',
    structure: structure.name,
    version: structure.version,
    fingerprint: structure.fingerprint,
    memory,
    context: options.clients === undefined || options.clients === 0 ? null : createContextBuffer(new SharedLog(memory, structure.fingerprint).maxReplicas, options),
    transfer: createTransferBuffer(transferMaxBytes),
  };
}

export interface AttachOptions extends ReplicaOptions {
  /** Claim this replica slot instead of the lowest free one. */
  slot?: number;
}

/** The handle's shape, before any of its buffers is read (a manager's declare calls have no structure to compare). */
function checkHandleShape(handle: NrHandle): void {
  if (handle === null || typeof handle !== 'object' || handle.kind !== 'node-replication') {
    throw new HandleMismatchError('not a node-replication handle');
  }
  if (!(handle.transfer instanceof SharedArrayBuffer) || (handle.context !== null && !(handle.context instanceof SharedArrayBuffer))) {
    throw new HandleMismatchError('handle has no transfer buffer or client context of the right kind (a SharedArrayBuffer)');
  }
}

/**
 * A thread id as the declare calls take it: a client slot keeps 29 bits of
 * it, so a larger one would name (alias) another thread's slots.
 */
function checkThreadId(threadId: number): void {
  if (!Number.isInteger(threadId) || threadId < 0 || threadId > LIMITS.maxThreadId) {
    throw new ConfigError(`threadId must be an integer from 0 to ${LIMITS.maxThreadId} (worker.threadId), got ${String(threadId)}`);
  }
}

function checkStructure(where: string, structure: unknown): void {
  if (structure === null || typeof structure !== 'object' || typeof (structure as { fingerprint?: unknown }).fingerprint !== 'number') {
    throw new ConfigError(`${where} needs a structure made by defineStructure()`);
  }
}

function checkHandle<S, R extends OpTable<S>, W extends OpTable<S>>(handle: NrHandle, structure: Structure<S, R, W>): void {
  checkHandleShape(handle);
  checkStructure('attach or connect', structure);
  if (handle.structure !== structure.name || handle.version !== structure.version) {
    throw new HandleMismatchError(
      `handle is for ${handle.structure}@${handle.version}, not ${structure.name}@${structure.version}`,
    );
  }
}

/** Become a node: claim a replica slot and build the local replica. */
export function attach<S, R extends OpTable<S>, W extends OpTable<S>>(
  handle: NrHandle,
  structure: Structure<S, R, W>,
  options: AttachOptions = {},
): Replica<S, R, W> {
  checkHandle(handle, structure);
  checkKnownOptions('attach', options, [...REPLICA_OPTION_KEYS, 'slot']);
  // Every value is checked before a slot is claimed: a refused attach leaves nothing behind.
  if (options.combine !== undefined && options.combine !== 'microtask' && options.combine !== 'immediate') {
    throw new ConfigError(`attach: combine must be 'microtask' or 'immediate', got ${String(options.combine)}`);
  }
  checkPositiveMs('attach', 'transferTimeoutMs', options.transferTimeoutMs);
  if (options.testHooks !== undefined && (options.testHooks === null || typeof options.testHooks !== 'object')) {
    throw new ConfigError('attach: testHooks must be an object');
  }
  const log = new SharedLog(handle.memory, structure.fingerprint);
  if (options.slot !== undefined && (!Number.isInteger(options.slot) || options.slot < 0 || options.slot >= log.maxReplicas)) {
    throw new ConfigError(`slot must be an integer from 0 to ${log.maxReplicas - 1}`);
  }
  const context = handle.context ? new SharedContext(handle.context) : null;
  const claim = claimWaiting(log, options.slot);
  if (claim === null) {
    throw new CapacityError(
      options.slot === undefined
        ? `all ${log.maxReplicas} replica slots of this log are taken`
        : `replica slot ${options.slot} is taken`,
    );
  }
  const hubFor = context !== null && context.clients > 0 ? (slot: number) => new ClientHub(context, slot) : null;
  return new Replica(log, structure, claim.slot, claim.word, options, hubFor, handle.transfer, claim.needsTransfer);
}

/**
 * Claim a slot; when none is free but one's owner looks dead (fenced, or
 * its heartbeat already late), wait for it to stay silent for deadAfterMs
 * and reclaim it (bounded): an undeclared kill never leaks a slot.
 */
/** A word nobody writes: a bounded sleep for claimWaiting. */
const SLEEP_CELL = new Int32Array(new SharedArrayBuffer(4));

function claimWaiting(log: SharedLog, want: number | undefined): ReturnType<typeof claimSlot> {
  const deadline = performance.now() + log.deadAfterMs + 4 * HEARTBEAT_MS;
  for (;;) {
    const claim = claimSlot(log, threadId, want);
    if (claim !== null || performance.now() >= deadline || !mayBecomeReclaimable(log, want)) return claim;
    Atomics.wait(SLEEP_CELL, 0, 0, HEARTBEAT_MS);
  }
}

export interface ConnectOptions extends ClientOptions {
  /** The node (replica slot) to be served by. Default: the serving node with the fewest clients. */
  node?: number;
}

/**
 * Become a client of a node: for threads that hold no replica. The handle
 * must have been created with `clients > 0`.
 */
export function connect<S, R extends OpTable<S>, W extends OpTable<S>>(
  handle: NrHandle,
  structure: Structure<S, R, W>,
  options: ConnectOptions = {},
): Client<S, R, W> {
  checkHandle(handle, structure);
  checkKnownOptions('connect', options, [...CLIENT_OPTION_KEYS, 'node']);
  checkPositiveMs('connect', 'timeoutMs', options.timeoutMs); // before a client slot is claimed
  // Validates the log and the fingerprint; the client watches its node's slot through it.
  const log = new SharedLog(handle.memory, structure.fingerprint);
  if (!handle.context) throw new CapacityError('this handle was created without client slots (createHandle option `clients`)');
  const ctx = new SharedContext(handle.context);
  let node = options.node;
  if (node !== undefined) {
    if (!Number.isInteger(node) || node < 0 || node >= ctx.nodes) throw new ConfigError(`node must be an integer from 0 to ${ctx.nodes - 1}`);
  } else {
    let best = Infinity;
    for (let n = 0; n < ctx.nodes; n++) {
      // Serving, and its replica holds its slot (not fenced and silent, never-attached or dead).
      if (ctx.nodeState(n) !== NodeState.Serving || !servable(log, n)) continue;
      const load = ctx.activeClients(n);
      if (load < best) {
        best = load;
        node = n;
      }
    }
    if (node === undefined) throw new CapacityError('no node is serving clients yet');
  }
  const owner = threadId & OWNER_MASK;
  const slot = ctx.claimClient(node, owner);
  if (slot < 0) throw new CapacityError(`all ${ctx.clients} client slots of node ${node} are taken`);
  const instance = log.instance;
  const target = node;
  return new Client(ctx, structure, node, slot, (owner << 2) | ClientState.Active, options, {
    log,
    epoch: ctx.nodeEpoch(node),
    sameThread: () => isLocalNode(instance, target),
  });
}

/** A node worth connecting to: its replica holds its slot (a fenced one is recovering, or dead). */
function servable(log: SharedLog, node: number): boolean {
  const s = log.slotState(node);
  return s === SlotState.Active || s === SlotState.Recovering;
}

/** Thread ids as stored in a client slot's STATE word (above its two state bits). */
const OWNER_MASK = LIMITS.maxThreadId;

/**
 * For whoever manages a client's worker, after `worker.terminate()` (which
 * runs no exit hook): give back every client slot that thread `threadId`
 * (`worker.threadId`) held, on every node. Each node answers what the dead
 * client had already sent (those writes may take effect, as for any op whose
 * caller died), then frees the slot for a new client. Returns the number of
 * slots given back. A client thread that exits normally does this itself.
 */
export function declareClientDead(handle: NrHandle, threadId: number): number {
  checkHandleShape(handle);
  checkThreadId(threadId);
  if (!handle.context) return 0;
  return new SharedContext(handle.context).abandonClientsOf(threadId & OWNER_MASK);
}

/**
 * Requests client thread `threadId` sent that some node may still take into
 * its log (0 once every node that could has answered them, or is gone or
 * replaced). Structures that hand out shared memory to a client's ops (a
 * page pool) wait for 0, after `declareClientDead`, before reclaiming what
 * the dead client took: from then on no op of it can appear in the log.
 */
export function clientRequestsPending(handle: NrHandle, threadId: number): number {
  checkHandleShape(handle);
  checkThreadId(threadId);
  if (!handle.context) return 0;
  return new SharedContext(handle.context).pendingOf(threadId & OWNER_MASK);
}

/**
 * For whoever manages a node's worker (e.g. on the Worker's 'exit' event):
 * the node died without detaching (`worker.terminate()` runs no exit hook).
 * Its log slot stops holding back reclamation, and its clients get
 * NodeGoneError instead of waiting.
 */
export function declareDead(handle: NrHandle, node: number): void {
  checkHandleShape(handle);
  const log = new SharedLog(handle.memory, handle.fingerprint);
  if (!Number.isInteger(node) || node < 0 || node >= log.maxReplicas) throw new ConfigError(`node must be an integer from 0 to ${log.maxReplicas - 1}`);
  declareSlotDead(log, node);
  breakTransferLockOf(log, node);
  if (handle.context) new SharedContext(handle.context).setNodeState(node, NodeState.Gone);
}

/**
 * For whoever manages a worker, after `worker.terminate()`, when it does not
 * know what the thread was (a node, a joiner mid-transfer, a client): give
 * back every replica slot and client slot that thread `threadId`
 * (`worker.threadId`, read before it exits) held, and break a state-transfer
 * lock it held. Returns what was released.
 */
export function declareThreadDead(handle: NrHandle, threadId: number): { replicas: number[]; clients: number } {
  checkHandleShape(handle);
  checkThreadId(threadId);
  const log = new SharedLog(handle.memory, handle.fingerprint);
  const replicas = slotsOwnedBy(log, threadId);
  for (const r of replicas) declareDead(handle, r);
  return { replicas, clients: declareClientDead(handle, threadId) };
}
