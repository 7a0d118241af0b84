/**
 * Worker pools (piscina, or any pool that reuses threads): make each pool
 * thread a node of a log, or a client of one, from inside its task
 * function. The first call in a thread attaches (or connects); later calls
 * in the same thread return the same replica (or client).
 *
 * It works under every piscina `atomics` mode. Under the default 'sync', an
 * idle pool thread blocks in Atomics.wait between tasks, so its event loop
 * cannot answer nudges: writers that need log space wait for it at most
 * `fenceAfterMs`, then fence it. Its next task notices before its first op
 * and recovers (resuming, or by state transfer from a live replica), so
 * reads stay linearizable. Under 'async' or 'disabled' idle threads answer
 * nudges and are not fenced at all.
 */
import type { Client } from './client.js';
import { attach, type AttachOptions, connect, type ConnectOptions, type NrHandle } from './handle.js';
import type { Replica } from './replica.js';
import type { OpTable, Structure } from './structure.js';

const replicas = new Map<string, unknown>();
const clients = new Map<string, unknown>();

/** Identifies a log across structured clones of its handle (the log's instance id). */
function logKey(handle: NrHandle): string {
  return `${handle.fingerprint}:${new Int32Array(handle.memory.buffer, 0, 16)[6]}`;
}

/** This thread's replica of the handle's structure, attached on first use. */
export function poolReplica<S, R extends OpTable<S>, W extends OpTable<S>>(
  handle: NrHandle,
  structure: Structure<S, R, W>,
  options?: AttachOptions,
): Replica<S, R, W> {
  const key = logKey(handle);
  let r = replicas.get(key) as Replica<S, R, W> | undefined;
  if (r === undefined || r.isDetached) {
    r = attach(handle, structure, options);
    replicas.set(key, r);
  }
  return r;
}

/** This thread's client of a node of the handle, connected on first use. */
export function poolClient<S, R extends OpTable<S>, W extends OpTable<S>>(
  handle: NrHandle,
  structure: Structure<S, R, W>,
  options?: ConnectOptions,
): Client<S, R, W> {
  const key = logKey(handle);
  let c = clients.get(key) as Client<S, R, W> | undefined;
  if (c === undefined) {
    c = connect(handle, structure, options);
    clients.set(key, c);
  }
  return c;
}
