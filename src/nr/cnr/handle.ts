/**
 * Handles for parallel logs: `createCnrHandle` makes K ordinary NR logs (each
 * with its own tail, seals, reclamation, fencing, torn-append repair and
 * state transfer) and the order table of the ops that map to all of them;
 * `attachCnr` attaches one replica per log in this thread, in the same
 * replica slot of every log; `connectCnr` makes a client of one node on
 * every log (the handle needs `clients > 0`, which each log gets);
 * `declareCnrDead` is declareDead on every log.
 */
import { DEFAULTS, LIMITS } from '../defaults.js';
import { ConfigError, HandleMismatchError } from '../errors.js';
import { attach, connect, createHandle, declareClientDead, declareDead, type AttachOptions, type ConnectOptions, type HandleOptions, type NrHandle } from '../handle.js';
import { CnrClient } from './cnr-client.js';
import { SharedLog } from '../log/shared-log.js';
import { slotsOwnedBy } from '../log/slots.js';
import type { OpTable } from '../structure.js';
import { CnrReplica } from './cnr-replica.js';
import { perLogStructure } from './per-log.js';
import type { CnrStructure } from './mapper.js';
import { createOrderBuffer, OrderTable } from './order.js';

/** The most parallel logs one handle may have (LIMITS.maxLogs), and their default number (DEFAULTS.logs). */
export const MAX_LOGS = LIMITS.maxLogs;
export const DEFAULT_LOGS = DEFAULTS.logs;

export interface CnrHandle {
  readonly kind: 'node-replication/cnr';
  readonly structure: string;
  readonly version: number;
  /** One NR handle per log. */
  readonly logs: readonly NrHandle[];
  /** The order table (order.ts). */
  readonly order: SharedArrayBuffer;
}

export interface CnrHandleOptions extends HandleOptions {
  /** Number of parallel logs, 1 to 16. Default 4. Every other option applies to each log (`logBytes` is per log). */
  logs?: number;
}

export function createCnrHandle<S, R extends OpTable<S>, W extends OpTable<S>>(cnr: CnrStructure<S, R, W>, options: CnrHandleOptions = {}): CnrHandle {
  if (cnr === null || typeof cnr !== 'object' || cnr.kind !== 'cnr-structure') throw new ConfigError('createCnrHandle needs a structure with a log mapper (withLogMapper())');
  if (options === null || typeof options !== 'object') throw new ConfigError('createCnrHandle: options must be an object');
  const { logs = DEFAULT_LOGS, ...perLog } = options;
  if (!Number.isInteger(logs) || logs < 1 || logs > MAX_LOGS) throw new ConfigError(`logs must be an integer from 1 to ${MAX_LOGS}`);
  const shape = perLogStructure(cnr.structure, 0, () => undefined);
  const handles: NrHandle[] = [];
  for (let i = 0; i < logs; i++) handles.push(createHandle(shape, perLog));
  const cells = new SharedLog(handles[0]!.memory, shape.fingerprint).cells;
  return {
    kind: 'node-replication/cnr',
    structure: cnr.structure.name,
    version: cnr.structure.version,
    logs: handles,
    order: createOrderBuffer(logs, 2 * cells),
  };
}

/**
 * The handle's shape, checked before anything is claimed: its logs (1 to 16
 * ordinary handles, each its own memory) and its order table (a
 * SharedArrayBuffer whose geometry names as many logs; OrderTable checks it).
 * A handle that is not one is a HandleMismatchError, as on one log.
 */
function checkCnrHandle(handle: CnrHandle, name: string, version: number): OrderTable {
  if (handle === null || typeof handle !== 'object' || handle.kind !== 'node-replication/cnr' || !Array.isArray(handle.logs)) {
    throw new HandleMismatchError('not a parallel-logs handle (createCnrHandle)');
  }
  if (handle.structure !== name || handle.version !== version) throw new HandleMismatchError(`handle is for ${handle.structure}@${handle.version}, not ${name}@${version}`);
  const logs = handle.logs;
  if (logs.length < 1 || logs.length > MAX_LOGS) throw new HandleMismatchError(`a parallel-logs handle has 1 to ${MAX_LOGS} logs, this one ${logs.length}`);
  const memories = new Set<unknown>();
  for (const h of logs) {
    if (h === null || typeof h !== 'object' || h.kind !== 'node-replication') throw new HandleMismatchError('a log of this parallel-logs handle is not a node-replication handle');
    memories.add(h.memory);
  }
  if (memories.size !== logs.length) throw new HandleMismatchError('the logs of this parallel-logs handle are not distinct (one log memory appears twice)');
  if (!(handle.order instanceof SharedArrayBuffer)) throw new HandleMismatchError('a parallel-logs handle has no order table of the right kind (a SharedArrayBuffer)');
  return new OrderTable(handle.order, logs.length);
}

/** Options are an object (or absent): a null or a number is a ConfigError naming the call, as on one log. */
function checkOptionsObject(where: string, options: unknown): void {
  if (options !== undefined && (options === null || typeof options !== 'object')) throw new ConfigError(`${where}: options must be an object`);
}

/** Become a node on every log: one replica per log, in the same slot of each. */
export function attachCnr<S, R extends OpTable<S>, W extends OpTable<S>>(handle: CnrHandle, cnr: CnrStructure<S, R, W>, options: AttachOptions = {}): CnrReplica<S, R, W> {
  if (cnr === null || typeof cnr !== 'object' || cnr.kind !== 'cnr-structure') throw new ConfigError('attachCnr needs a structure with a log mapper (withLogMapper())');
  const order = checkCnrHandle(handle, cnr.structure.name, cnr.structure.version);
  checkOptionsObject('attachCnr', options);
  let slot = options.slot;
  return new CnrReplica(cnr, order, (log, structure) => {
    const r = attach(handle.logs[log]!, structure, slot === undefined ? options : { ...options, slot });
    slot = r.id;
    return r as never;
  }, options.testHooks?.multiLogPhase);
}

/**
 * From a thread without replicas: become a client of node `node` (default:
 * the node serving log 0 with the fewest clients) on every log. Ops mapped
 * to every log are refused (LogMapperError): issue them on a node.
 */
export function connectCnr<S, R extends OpTable<S>, W extends OpTable<S>>(handle: CnrHandle, cnr: CnrStructure<S, R, W>, options: ConnectOptions = {}): CnrClient<S, R, W> {
  if (cnr === null || typeof cnr !== 'object' || cnr.kind !== 'cnr-structure') throw new ConfigError('connectCnr needs a structure with a log mapper (withLogMapper())');
  checkCnrHandle(handle, cnr.structure.name, cnr.structure.version);
  checkOptionsObject('connectCnr', options);
  const shape = perLogStructure(cnr.structure, 0, () => undefined);
  let node = options.node;
  return new CnrClient(cnr, handle.logs.length, (log) => {
    const c = connect(handle.logs[log]!, shape, node === undefined ? options : { ...options, node });
    node = c.node;
    return c as never;
  });
}

/** For a node's manager after worker.terminate(): declareDead on every log, and abort the node's multi-log op in progress. */
export function declareCnrDead(handle: CnrHandle, node: number): void {
  const order = checkCnrHandle(handle, handle?.structure, handle?.version); // (before any log is touched)
  for (const h of handle.logs) declareDead(h, node);
  order.releaseIfHeldBy(node);
}

/**
 * For a worker's manager that knows only the thread (`worker.threadId`, read
 * before it exits): declareCnrDead for every replica slot that thread held
 * on any log, and declareClientDead on every log for its client slots.
 * Returns the replica slots released.
 */
export function declareCnrThreadDead(handle: CnrHandle, threadId: number): number[] {
  checkCnrHandle(handle, handle?.structure, handle?.version);
  // As on one log (declareThreadDead): the client slots it held on every log come back too; the id is checked there first.
  for (const h of handle.logs) declareClientDead(h, threadId);
  const slots = new Set<number>();
  for (const h of handle.logs) for (const s of slotsOwnedBy(new SharedLog(h.memory, h.fingerprint), threadId)) slots.add(s);
  for (const s of slots) declareCnrDead(handle, s);
  return [...slots].sort((a, b) => a - b);
}
