/** Clients of this thread that have not closed: a worker thread that exits gives their slots back. */
import { isMainThread } from 'node:worker_threads';

export const openClients = new Set<{ abandon(): void }>();
let exitHookInstalled = false;

/** Once per worker thread: at exit, abandon every client still open (the node answers what they sent, then frees their slots). */
export function installExitHook(): void {
  if (exitHookInstalled || isMainThread) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of [...openClients]) c.abandon();
  });
}
