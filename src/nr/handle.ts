/**
 * Handles: how a log is made on one thread and attached to on another.
 *
 * `createHandle()` allocates the log's SharedArrayBuffer and returns a plain,
 * structured-cloneable object; pass it to workers through `workerData` or
 * `postMessage`. Each worker calls `attach(handle, structure)` and becomes a
 * node with its own replica.
 */
import { ConfigError, CapacityError, HandleMismatchError } from './errors.js';
import { createLogMemory, type LogOptions, SharedLog } from './log.js';
import type { SharedMemory } from './shared-memory.js';
import { Replica, type ReplicaOptions } from './replica.js';
import type { OpTable, Structure } from './structure.js';

export interface NrHandle {
  readonly kind: 'node-replication';
  readonly structure: string;
  readonly version: number;
  readonly fingerprint: number;
  /** The log: a shared WebAssembly.Memory (its `buffer` is a SharedArrayBuffer). */
  readonly memory: SharedMemory;
}

export type HandleOptions = LogOptions;

export function createHandle<S, R extends OpTable<S>, W extends OpTable<S>>(
  structure: Structure<S, R, W>,
  options: HandleOptions = {},
): NrHandle {
  if (!structure || typeof structure.fingerprint !== 'number') {
    throw new ConfigError('createHandle needs a structure made by defineStructure()');
  }
  return {
    kind: 'node-replication',
    structure: structure.name,
    version: structure.version,
    fingerprint: structure.fingerprint,
    memory: createLogMemory(structure.fingerprint, options),
  };
}

export interface AttachOptions extends ReplicaOptions {
  /** Claim this replica slot instead of the lowest free one. */
  slot?: number;
}

/** Become a node: claim a replica slot and build the local replica. */
export function attach<S, R extends OpTable<S>, W extends OpTable<S>>(
  handle: NrHandle,
  structure: Structure<S, R, W>,
  options: AttachOptions = {},
): Replica<S, R, W> {
  if (handle === null || typeof handle !== 'object' || handle.kind !== 'node-replication') {
    throw new HandleMismatchError('not a node-replication handle');
  }
  if (handle.structure !== structure.name || handle.version !== structure.version) {
    throw new HandleMismatchError(
      `handle is for ${handle.structure}@${handle.version}, not ${structure.name}@${structure.version}`,
    );
  }
  const log = new SharedLog(handle.memory, structure.fingerprint);
  if (options.slot !== undefined && (!Number.isInteger(options.slot) || options.slot < 0 || options.slot >= log.maxReplicas)) {
    throw new ConfigError(`slot must be an integer from 0 to ${log.maxReplicas - 1}`);
  }
  const slot = log.claimSlot(options.slot);
  if (slot < 0) {
    throw new CapacityError(
      options.slot === undefined
        ? `all ${log.maxReplicas} replica slots of this log are taken`
        : `replica slot ${options.slot} is taken`,
    );
  }
  return new Replica(log, structure, slot, options);
}
