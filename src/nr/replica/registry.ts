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
  /**
   * Replay up to the CTAIL seen now, if not busy and still holding its log:
   * a replica of another log in this thread waits (for log space, or for
   * the parallel logs' order), and this one may be what holds back a
   * thread that waits for that waiter.
   */
  tendForOtherLog(): void;
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

/**
 * Replicas of every other log in this thread. A thread waiting on log X
 * answers no nudge (it is not in its event loop), so if its replica of log
 * Y holds Y's head while Y's writer waits for it, and that writer's own
 * replica of X is what this thread waits for, only replaying Y from inside
 * the wait breaks the cycle; otherwise it lasts fenceAfterMs and ends in a
 * fence. (Parallel logs are such logs; so are two structures' handles.)
 */
export function othersInThread(instance: number): LocalReplica[] {
  const out: LocalReplica[] = [];
  for (const [log, set] of byLog) {
    if (log === instance) continue;
    for (const r of set) if (!r.isDetached) out.push(r);
  }
  return out;
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
