/**
 * The replicas attached in this thread: so that they can help each other
 * (a replica blocked waiting cannot answer a sibling in the same thread),
 * so that the thread's exit hook can release them, and so that one timer
 * per thread publishes their heartbeats.
 */
import { isMainThread } from 'node:worker_threads';
import { HEARTBEAT_MS } from '../defaults.js';

/** What the registry needs of a replica. */
export interface LocalReplica {
  readonly id: number;
  readonly isDetached: boolean;
  /** Publish this replica's heartbeat. */
  beat(): void;
  /** Replay up to the current tail, if not busy (a sibling waits for log space). */
  catchUp(): void;
  /** The thread is exiting: release the slot without running more ops. */
  abandon(): void;
}

const byLog = new Map<number, Set<LocalReplica>>();
let timer: NodeJS.Timeout | null = null;
let exitHookInstalled = false;

export function register(instance: number, replica: LocalReplica): void {
  let set = byLog.get(instance);
  if (!set) byLog.set(instance, (set = new Set()));
  set.add(replica);
  installExitHook();
  if (timer === null) {
    timer = setInterval(beatAll, HEARTBEAT_MS);
    timer.unref();
  }
}

export function unregister(instance: number, replica: LocalReplica): void {
  const set = byLog.get(instance);
  set?.delete(replica);
  if (set?.size === 0) byLog.delete(instance);
  if (byLog.size === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

/** The other replicas of log `instance` in this thread. */
export function siblings(instance: number, of: LocalReplica): LocalReplica[] {
  const set = byLog.get(instance);
  if (set === undefined) return [];
  return [...set].filter((r) => r !== of && !r.isDetached);
}

/** Whether node `slot` of log `instance` lives in this thread. */
export function isLocalNode(instance: number, slot: number): boolean {
  for (const r of byLog.get(instance) ?? []) if (r.id === slot && !r.isDetached) return true;
  return false;
}

function beatAll(): void {
  for (const set of byLog.values()) for (const r of set) r.beat();
}

/** Replicas whose worker exits normally (or by throwing) leave the log and wake their clients. */
function installExitHook(): void {
  if (exitHookInstalled || isMainThread) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const set of byLog.values()) for (const r of set) r.abandon();
  });
}
