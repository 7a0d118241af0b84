/**
 * Making and attaching a file system: `createFs` (its shared log, page
 * pool and watchers' doorbell, on any thread) and `attachFs` (a replica, a
 * share of the page pool and an fd table for this thread, acting as a
 * uid/gid).
 */
import { attach, ConfigError, createHandle, type NrHandle, type Replica, type ReplicaOptions } from '../nr/index.js';
import { ChangeHub, DOORBELL_BYTES } from './changes.js';
import { NrFs } from './nrfs.js';
import { createOpenTable } from './opens.js';
import type { WriteHooks } from './writer.js';
import { FsArgumentError } from './paths.js';
import { PageHolder } from './pages/holder.js';
import { ReadGrace } from './pages/read-grace.js';
import { createPool, MAX_OWNERS, type PoolBuffers, poolPagesFor, SharedPages } from './pages/pool.js';
import { ClientOwners, createClientOwners } from './client-owners.js';
import { fsStructure, type FsStructure, PAGE_BYTES } from './state.js';

export interface NrFsOptions {
  /** Replica slots reserved from the start (threads that attach first). Default 1. */
  replicas?: number;
  /** All replica slots. Default max(replicas, 8). */
  maxReplicas?: number;
  /** Log size in bytes (a power of two). Default 16 MiB. */
  logBytes?: number;
  /** How long writers wait for a lagging replica before fencing it. Default 1000 ms. */
  fenceAfterMs?: number;
  /**
   * How long a fenced replica's thread may show no sign of life before it
   * counts as gone: its clients then fail for good (NodeGoneError), and
   * attaches may reclaim its slot. Default 1000 ms.
   */
  deadAfterMs?: number;
  /**
   * Most file data, in bytes (rounded down to 4 KiB pages). Default 1 GiB,
   * at most 12 GiB. The shared page pool is this plus room for pages in
   * flight (see `poolPagesFor`); pages never written cost no memory.
   */
  capacityBytes?: number;
  /** Most inodes (files and directories, the root included). Default 1 048 576. */
  maxInodes?: number;
  /** Applied to the mode of files and directories created. Default 0o022. */
  umask?: number;
  /**
   * Threads that use the file system without a replica (`connectFs`), at
   * most: each gets a client slot on its node and an owner id of the page
   * pool. Default 0. maxReplicas + clients is at most 64 (the pool's owners).
   */
  clients?: number;
}

/** Structured-cloneable: pass it to workers in `workerData`. */
export interface NrFsHandle {
  readonly kind: 'nrfs';
  readonly nr: NrHandle;
  /** The shared page pool: file data of every replica (see pages/pool.ts). */
  readonly pool: PoolBuffers;
  readonly maxPages: number;
  readonly maxInodes: number;
  /** Largest single write: its page refs (8 bytes a page) must fit one log entry (1/4 of the log, at most 1 MiB). */
  readonly maxWriteBytes: number;
  readonly umask: number;
  /** The watchers' doorbell (see changes.ts). */
  readonly changes: SharedArrayBuffer;
  /** The open table: the fds each replica slot's (and client owner's) thread holds open (see opens.ts). */
  readonly opens: SharedArrayBuffer;
  /** Replica slots: client owner ids start here. */
  readonly maxReplicas: number;
  /** The client table (client-owners.ts); null without clients. */
  readonly clientOwners: SharedArrayBuffer | null;
}

const DEFAULT_LOG_BYTES = 16 << 20;
const MAX_ENTRY_BYTES = 1 << 20;
const ENTRY_OVERHEAD = 256;

/**
 * A client's NR slots: room for 64 pipelined ops in flight (preadAsync/pwriteAsync; 16 before
 * them), each large enough for the page refs of a 2 MiB write. The context takes maxReplicas x
 * clients x 64 x 4 KiB of SharedArrayBuffer, touched only as slots are used.
 */
export const CLIENT_SLOTS = 64;
export const CLIENT_SLOT_BYTES = 4096;

const OPTION_KEYS = new Set(['replicas', 'maxReplicas', 'logBytes', 'fenceAfterMs', 'deadAfterMs', 'capacityBytes', 'maxInodes', 'umask', 'clients']);
/** 12 GiB: the pool (capacity plus a quarter) stays within the 2^22 pages a page ref can name. */
const MAX_CAPACITY_BYTES = 12 * 2 ** 30;

function positiveInt(v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw new FsArgumentError('ERR_OUT_OF_RANGE', `${name} must be a positive integer, got ${v}`);
  return v;
}

/** Create a file system: its shared log and page pool. Call once, on any thread. */
export function createFs(options: NrFsOptions = {}): NrFsHandle {
  checkFsOptions('createFs', options, OPTION_KEYS);
  const replicas = positiveInt(options.replicas, 1, 'replicas');
  const maxReplicas = positiveInt(options.maxReplicas, Math.max(replicas, 8), 'maxReplicas');
  const logBytes = positiveInt(options.logBytes, DEFAULT_LOG_BYTES, 'logBytes');
  const capacityBytes = positiveInt(options.capacityBytes, 1 << 30, 'capacityBytes');
  if (capacityBytes > MAX_CAPACITY_BYTES) throw new FsArgumentError('ERR_OUT_OF_RANGE', `capacityBytes must be at most ${MAX_CAPACITY_BYTES}, got ${capacityBytes}`);
  const maxInodes = positiveInt(options.maxInodes, 1 << 20, 'maxInodes');
  const maxWriteBytes = (Math.floor((Math.min(logBytes / 4, MAX_ENTRY_BYTES) - ENTRY_OVERHEAD) / 8) - 1) * PAGE_BYTES;
  const umask = options.umask ?? 0o022;
  if (!Number.isInteger(umask) || umask < 0 || umask > 0o777) throw new FsArgumentError('ERR_OUT_OF_RANGE', `umask must be an integer from 0 to 0o777, got ${String(umask)}`);
  const clients = options.clients ?? 0;
  if (!Number.isInteger(clients) || clients < 0 || maxReplicas + clients > MAX_OWNERS) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `clients must be an integer from 0 to ${MAX_OWNERS} - maxReplicas (${MAX_OWNERS - maxReplicas}), got ${String(clients)}`);
  }
  const maxPages = Math.max(1, Math.floor(capacityBytes / PAGE_BYTES));
  const pool = createPool(poolPagesFor(maxPages));
  const structure = fsStructure({ pool, maxPages, maxInodes });
  const slots = clients > 0 ? { clients, clientSlots: CLIENT_SLOTS, clientSlotBytes: CLIENT_SLOT_BYTES } : {};
  const nr = asFsArgument('createFs', () => createHandle(structure, { replicas, maxReplicas, logBytes, fenceAfterMs: options.fenceAfterMs, deadAfterMs: options.deadAfterMs, ...slots }));
  const changes = new SharedArrayBuffer(DOORBELL_BYTES);
  const opens = createOpenTable(maxReplicas + clients);
  const clientOwners = clients > 0 ? createClientOwners(maxReplicas, clients) : null;
  return { kind: 'nrfs', nr, pool, maxPages, maxInodes, maxWriteBytes, umask, changes, opens, maxReplicas, clientOwners };
}

export interface AttachFsOptions extends ReplicaOptions {
  slot?: number;
  /** @internal Test hooks: stop a data write at a phase (pages taken, filled, logged). */
  pageHooks?: WriteHooks;
  /**
   * The user and group this thread acts as (default 0, root). Files it
   * creates are owned by them; a thread that is not root gets EACCES/EPERM
   * from the mode bits and owners, as a process with that uid would.
   */
  uid?: number;
  gid?: number;
}

/** Attach this thread to a file system: it gets its own replica and fd table. */
export function attachFs(handle: NrFsHandle, options: AttachFsOptions = {}): NrFs {
  if (handle === null || typeof handle !== 'object' || handle.kind !== 'nrfs') {
    throw new FsArgumentError('ERR_INVALID_ARG_TYPE', 'attachFs needs a handle made by createFs()');
  }
  const { uid, gid, pageHooks, ...replicaOptions } = options;
  const who = { uid: ownerId(uid, 'uid'), gid: ownerId(gid, 'gid') };
  let replica: FsReplica | undefined;
  const hub = new ChangeHub(new Int32Array(handle.changes), () => replica?.sync());
  const owners = handle.clientOwners === null ? null : new ClientOwners(handle.clientOwners);
  const holder = new PageHolder(new SharedPages(handle.pool), owners === null ? null : new ReadGrace(owners));
  const current = (): boolean => replica?.holdsLog() ?? true;
  const structure = fsStructure({ pool: handle.pool, holder, current, maxPages: handle.maxPages, maxInodes: handle.maxInodes, observer: hub, ...(owners === null ? {} : { readServed: (o: unknown, n: unknown) => owners.served(o, n) }) });
  replica = asFsArgument('attachFs', () => attach(handle.nr, structure, replicaOptions));
  // Pages an earlier owner of this slot held (it died) become this thread's to free; see PageHolder.bind.
  holder.bind(replica.id, replica, () => replica!.sync());
  const fs = new NrFs(handle, { replica, node: replica, slot: replica.id, holder, pages: holder }, who, hub, pageHooks);
  // Opens left in this slot by an earlier owner that died belong to no fd: drop them (reaping what they kept), then take the slot's region.
  fs.releaseSlot(fs.replica.id);
  // Client owner ids left by clients that died: theirs to sweep too.
  fs.releaseClients();
  return fs;
}

/** The log's option errors, in this module's family (node's ERR_INVALID_ARG_VALUE). */
export function asFsArgument<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfigError) throw new FsArgumentError('ERR_INVALID_ARG_VALUE', `${where}: ${e.message}`);
    throw e;
  }
}

export function ownerId(v: unknown, name: string): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xfffffffe) {
    throw new FsArgumentError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be >= 0 && <= 4294967294. Received ${String(v)}`);
  }
  return v;
}


export type FsReplica = Replica<
  ReturnType<FsStructure['create']>,
  FsStructure['reads'],
  FsStructure['writes']
>;

/** `options` is an object whose keys are all in `known` and none null (null read as "the default" would hide a caller's bug). */
export function checkFsOptions(where: string, options: unknown, known: ReadonlySet<string>): void {
  if (options === null || typeof options !== 'object') throw new FsArgumentError('ERR_INVALID_ARG_TYPE', `${where}: options must be an object, got ${options === null ? 'null' : typeof options}`);
  for (const [key, value] of Object.entries(options)) {
    if (!known.has(key)) throw new FsArgumentError('ERR_INVALID_ARG_VALUE', `${where}: unknown option '${key}' (known: ${[...known].join(', ')})`);
    if (value === null) throw new FsArgumentError('ERR_INVALID_ARG_VALUE', `${where}: option '${key}' is null (leave it out, or undefined, for the default)`);
  }
}
